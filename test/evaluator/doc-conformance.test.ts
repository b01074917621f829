/**
 * Documentation conformance (issue 17): one test per rule of the IAM User Guide that the evaluator
 * implements, each naming its page (https://docs.aws.amazon.com/IAM/latest/UserGuide/<page>.html).
 * The AWS documentation is the judge here, not another implementation.
 */
import { evaluate, evaluateFailClosed, EvaluationRequest } from '../../lib/evaluator';

const ACCOUNT = '123456789012';
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/agent`;
const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/prod-orders`;
const ALLOW_ALL = { Effect: 'Allow', Action: '*', Resource: '*' };

function request(statements: object[], context: Record<string, string | string[]> = {}, extra: Partial<EvaluationRequest> = {}): EvaluationRequest {
  return {
    principal: PRINCIPAL,
    action: 'dynamodb:DeleteTable',
    resource: TABLE,
    context,
    identityPolicies: [{ Version: '2012-10-17', Statement: statements }],
    ...extra,
  };
}

const decide = (statements: object[], context: Record<string, string | string[]> = {}) => evaluate(request(statements, context));
const when = (condition: object, context: Record<string, string | string[]> = {}) => decide([{ ...ALLOW_ALL, Condition: condition }], context);

describe('reference_policies_evaluation-logic (policy evaluation logic)', () => {
  test('a request nothing allows is implicitly denied', () => {
    // GIVEN no statement about the action / WHEN it is requested / THEN it is implicitly denied
    expect(decide([{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }])).toBe('ImplicitlyDenied');
  });

  test('an explicit deny overrides any allow', () => {
    // GIVEN Allow * and a Deny on the action / WHEN it is requested / THEN it is explicitly denied
    expect(decide([ALLOW_ALL, { Effect: 'Deny', Action: 'dynamodb:DeleteTable', Resource: '*' }])).toBe('ExplicitlyDenied');
  });

  test('a permissions boundary limits, it does not grant', () => {
    // GIVEN an identity policy allowing the action and a boundary that does not / WHEN requested / THEN denied
    const r = request([ALLOW_ALL], {}, { permissionsBoundaries: [{ Version: '2012-10-17', Statement: [{ ...ALLOW_ALL, Action: 's3:*' }] }] });
    expect(evaluate(r)).toBe('ImplicitlyDenied');
  });
});

describe('reference_policies_elements_condition_operators (condition operators)', () => {
  test('a positive operator on a key absent from the request is false', () => {
    // GIVEN StringEquals on a tag the request lacks / THEN the Allow does not apply
    expect(when({ StringEquals: { 'aws:ResourceTag/env': 'dev' } })).toBe('ImplicitlyDenied');
  });

  test('a negated operator on a key absent from the request is true', () => {
    // "If the policy condition requires that the key is not matched ... and the right key is not present, the condition is true."
    expect(when({ StringNotEquals: { 'aws:ResourceTag/env': 'prod' } })).toBe('Allowed');
  });

  test('...IfExists holds when the key is absent', () => {
    expect(when({ StringEqualsIfExists: { 'aws:ResourceTag/env': 'dev' } })).toBe('Allowed');
  });

  test('Null true holds exactly when the key is absent', () => {
    expect(when({ Null: { 'aws:ResourceTag/env': 'true' } })).toBe('Allowed');
    expect(when({ Null: { 'aws:ResourceTag/env': 'true' } }, { 'aws:ResourceTag/env': 'prod' })).toBe('ImplicitlyDenied');
  });

  test('StringLike honours * and ?, StringEquals does not', () => {
    expect(when({ StringLike: { 'aws:ResourceTag/env': 'pr?d*' } }, { 'aws:ResourceTag/env': 'production' })).toBe('Allowed');
    expect(when({ StringEquals: { 'aws:ResourceTag/env': 'pr*' } }, { 'aws:ResourceTag/env': 'prod' })).toBe('ImplicitlyDenied');
  });

  test('NumericLessThan compares numbers', () => {
    expect(when({ NumericLessThan: { 's3:max-keys': '10' } }, { 's3:max-keys': '9' })).toBe('Allowed');
    expect(when({ NumericLessThan: { 's3:max-keys': '10' } }, { 's3:max-keys': '10' })).toBe('ImplicitlyDenied');
  });

  test('DateLessThan compares ISO 8601 dates and epoch seconds', () => {
    expect(when({ DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }, { 'aws:CurrentTime': '2029-12-31T23:59:59Z' })).toBe('Allowed');
    expect(when({ DateLessThan: { 'aws:EpochTime': '1000' } }, { 'aws:EpochTime': '999' })).toBe('Allowed');
  });

  test('IpAddress matches CIDR blocks', () => {
    expect(when({ IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.9' })).toBe('Allowed');
    expect(when({ NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.9' })).toBe('ImplicitlyDenied');
  });

  test('ArnLike matches segment by segment with wildcards', () => {
    const arn = `arn:aws:iam::${ACCOUNT}:role/agent-ops`;
    expect(when({ ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/agent-*` } }, { 'aws:PrincipalArn': arn })).toBe('Allowed');
    expect(when({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:role/agent-*' } }, { 'aws:PrincipalArn': arn })).toBe('ImplicitlyDenied');
  });

  test('Bool compares true and false', () => {
    expect(when({ Bool: { 'aws:SecureTransport': 'false' } }, { 'aws:SecureTransport': 'false' })).toBe('Allowed');
  });
});

describe('reference_policies_condition-logic-multiple-context-keys-or-values (multiple keys or values)', () => {
  test('values of one key are ORed for a positive operator', () => {
    expect(when({ StringEquals: { 'aws:ResourceTag/env': ['dev', 'test'] } }, { 'aws:ResourceTag/env': 'test' })).toBe('Allowed');
  });

  test('values of one key are ANDed (none may match) for a negated operator', () => {
    expect(when({ StringNotEquals: { 'aws:ResourceTag/env': ['dev', 'prod'] } }, { 'aws:ResourceTag/env': 'prod' })).toBe('ImplicitlyDenied');
  });

  test('keys and operators are ANDed', () => {
    const condition = { StringEquals: { 'aws:ResourceTag/env': 'dev' }, Bool: { 'aws:SecureTransport': 'true' } };
    expect(when(condition, { 'aws:ResourceTag/env': 'dev', 'aws:SecureTransport': 'false' })).toBe('ImplicitlyDenied');
  });
});

describe('reference_policies_condition-single-vs-multi-valued-context-keys (set operators)', () => {
  test('ForAllValues is true for an absent key, ForAnyValue false', () => {
    expect(when({ 'ForAllValues:StringEquals': { 'aws:TagKeys': 'env' } })).toBe('Allowed');
    expect(when({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'env' } })).toBe('ImplicitlyDenied');
  });

  test('an empty string is an empty data set: ForAllValues true, ForAnyValue false', () => {
    // GIVEN aws:TagKeys present but empty / THEN ForAllValues holds vacuously and ForAnyValue finds nothing
    expect(when({ 'ForAllValues:StringEquals': { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': '' })).toBe('Allowed');
    expect(when({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': '' })).toBe('ImplicitlyDenied');
    expect(when({ 'ForAllValues:StringEquals': { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': [] })).toBe('Allowed');
    expect(when({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': [] })).toBe('ImplicitlyDenied');
  });

  test('ForAllValues requires every request value to match, ForAnyValue one', () => {
    const tags = { 'aws:TagKeys': ['env', 'owner'] };
    expect(when({ 'ForAllValues:StringEquals': { 'aws:TagKeys': 'env' } }, tags)).toBe('ImplicitlyDenied');
    expect(when({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'env' } }, tags)).toBe('Allowed');
  });
});

describe('reference_policies_variables (policy variables)', () => {
  test('a variable is replaced by the value of its key in the request', () => {
    const c = { StringEquals: { 'aws:ResourceTag/owner': '${aws:PrincipalTag/team}' } };
    expect(when(c, { 'aws:ResourceTag/owner': 'ops', 'aws:PrincipalTag/team': 'ops' })).toBe('Allowed');
  });

  test('"Policy variables with no value": a positive operator with it does not match', () => {
    expect(when({ StringEquals: { 'aws:ResourceTag/owner': '${aws:PrincipalTag/team}' } }, { 'aws:ResourceTag/owner': 'ops' })).toBe(
      'ImplicitlyDenied',
    );
  });

  test.each(['StringNotEquals', 'StringNotLike', 'StringNotEqualsIgnoreCase'])(
    '"Policy variables with no value": the inverted operator %s matches',
    (operator) => {
      // GIVEN the issue-17 Allow and a role without the protected-owner tag / THEN the Allow holds
      expect(when({ [operator]: { 'aws:ResourceTag/owner': '${aws:PrincipalTag/protected-owner}' } }, { 'aws:ResourceTag/owner': 'x' })).toBe(
        'Allowed',
      );
    },
  );

  test.each(['ArnNotEquals', 'ArnNotLike'])('"Policy variables with no value": the inverted operator %s matches', (operator) => {
    const c = { [operator]: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/\${aws:PrincipalTag/team}` } };
    expect(when(c, { 'aws:PrincipalArn': PRINCIPAL })).toBe('Allowed');
  });

  test('"Policy variables with no value": a Resource entry with it matches no resource', () => {
    expect(decide([{ ...ALLOW_ALL, Resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/\${aws:PrincipalTag/team}-*` }])).toBe('ImplicitlyDenied');
  });

  test('"Policy variables with no value": a NotResource entry with it excludes nothing', () => {
    // GIVEN the issue-17 Allow with NotResource table/${aws:PrincipalTag/team}-* and no team tag / THEN every table is allowed
    const st = {
      Effect: 'Allow',
      Action: 'dynamodb:DeleteTable',
      NotResource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/\${aws:PrincipalTag/team}-*`,
    };
    expect(decide([st])).toBe('Allowed');
    // and with the tag set, the tables it names are excluded
    expect(decide([st], { 'aws:PrincipalTag/team': 'prod' })).toBe('ImplicitlyDenied');
  });

  test('"Where you can use policy variables": a variable before the fifth colon names no resource, so a Deny with it protects nothing', () => {
    // GIVEN the issue-17 Deny on arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/*
    const deny = { Effect: 'Deny', Action: 'dynamodb:DeleteTable', Resource: 'arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/*' };
    // WHEN the principal's account is in the context / THEN the Deny is still not credited
    expect(decide([ALLOW_ALL, deny], { 'aws:PrincipalAccount': ACCOUNT })).toBe('Allowed');
  });

  test('"Specifying default values": the default stands in for an absent key', () => {
    const c = { StringEquals: { 'aws:ResourceTag/owner': "${aws:PrincipalTag/team, 'ops'}" } };
    expect(when(c, { 'aws:ResourceTag/owner': 'ops' })).toBe('Allowed');
  });

  test('"Special characters": ${*} is a literal *', () => {
    expect(when({ StringLike: { 'aws:ResourceTag/env': 'a${*}' } }, { 'aws:ResourceTag/env': 'a*' })).toBe('Allowed');
    expect(when({ StringLike: { 'aws:ResourceTag/env': 'a${*}' } }, { 'aws:ResourceTag/env': 'ab' })).toBe('ImplicitlyDenied');
  });

  test('a policy without Version 2012-10-17 treats ${...} as literal text', () => {
    // GIVEN a 2008-10-17 policy naming table/${x}-orders / WHEN that literal table is requested / THEN it is allowed
    const literal = TABLE.replace('prod', '${x}');
    const old = request([]);
    expect(
      evaluate({ ...old, resource: literal, identityPolicies: [{ Version: '2008-10-17', Statement: [{ ...ALLOW_ALL, Resource: literal }] }] }),
    ).toBe('Allowed');
  });
});

describe('reference_policies_elements_resource and _notresource', () => {
  test('a * that ends a segment can expand beyond the colon boundaries', () => {
    // "If the * wildcard is the last character of a resource ARN segment, it can expand to match beyond the colon boundaries."
    expect(decide([{ ...ALLOW_ALL, Resource: 'arn:aws:dynamodb:*:table/prod-orders' }])).toBe('Allowed');
  });

  test('a * inside a segment does not cross a colon', () => {
    expect(decide([{ ...ALLOW_ALL, Resource: 'arn:aws:dynamodb:us-*-1:table/prod-orders' }])).toBe('ImplicitlyDenied');
  });

  test('resource ARNs match case-sensitively ("the IAM user name is case sensitive")', () => {
    expect(decide([{ ...ALLOW_ALL, Resource: TABLE.replace('prod-orders', 'Prod-Orders') }])).toBe('ImplicitlyDenied');
  });

  test('NotResource applies to every resource not listed', () => {
    expect(decide([{ Effect: 'Allow', Action: '*', NotResource: TABLE.replace('prod', 'dev') }])).toBe('Allowed');
    expect(decide([{ Effect: 'Allow', Action: '*', NotResource: TABLE }])).toBe('ImplicitlyDenied');
  });
});

describe('doubt fails closed (no page defines these)', () => {
  const deny = (resource: string) => [ALLOW_ALL, { Effect: 'Deny', Action: 'dynamodb:DeleteTable', Resource: resource }];
  const allow = (resource: string) => [{ Effect: 'Allow', Action: 'dynamodb:DeleteTable', Resource: resource }];

  test.each([
    ['Deny', 'a wildcard inside the resource type', deny(`arn:aws:dynamodb:us-east-1:${ACCOUNT}:*/prod-orders`), 'resource type'],
    ['Allow', 'upper case in the region', allow(`arn:aws:dynamodb:US-EAST-1:${ACCOUNT}:table/*`), 'upper case'],
    ['Allow', 'a variable before the fifth colon', allow('arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/*'), 'fifth colon'],
  ])("fails when an %s whose only Resource has %s is read in the guard's favour", (_effect, _name, statements, named) => {
    // GIVEN a statement resting on a construct no page defines
    // WHEN decided fail-closed
    const result = evaluateFailClosed(request(statements, { 'aws:PrincipalAccount': ACCOUNT }));
    // THEN the Deny is not credited / the Allow is taken to apply, and the construct is named
    expect(result.decision).toBe('Allowed');
    expect(result.doubts.join('\n')).toContain(named);
  });

  test.each([
    ['upper case in the region', deny(`arn:aws:dynamodb:US-EAST-1:${ACCOUNT}:table/*`)],
    ['a variable before the fifth colon', deny('arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/*')],
  ])('fails when a Deny whose only Resource has %s is credited', (_name, statements) => {
    // GIVEN the documented (or case-sensitive) reading already denies the Deny its match
    // WHEN decided both ways / THEN neither credits the Deny
    expect(evaluate(request(statements, { 'aws:PrincipalAccount': ACCOUNT }))).toBe('Allowed');
    expect(evaluateFailClosed(request(statements, { 'aws:PrincipalAccount': ACCOUNT })).decision).toBe('Allowed');
  });

  test('fails when a short ARN under NotResource is trusted to exclude', () => {
    // GIVEN an Allow on everything except a short ARN / WHEN decided fail-closed / THEN the Allow applies, named
    const result = evaluateFailClosed(request([{ Effect: 'Allow', Action: '*', NotResource: 'arn:aws:dynamodb:us-east-1' }]));
    expect(result.decision).toBe('Allowed');
    expect(result.doubts.join('\n')).toContain('short ARN under NotResource');
  });

  test('fails when a date operator on a non-date value is trusted', () => {
    // GIVEN a Deny with DateNotEquals on a value that is no date / THEN fail-closed it does not apply, and plain evaluate agrees
    const statements = [
      ALLOW_ALL,
      { Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateNotEquals: { 'aws:ResourceTag/expiry': '2030-01-01' } } },
    ];
    const result = evaluateFailClosed(request(statements, { 'aws:ResourceTag/expiry': 'never' }));
    expect(result.decision).toBe('Allowed');
    expect(evaluate(request(statements, { 'aws:ResourceTag/expiry': 'never' }))).toBe('Allowed');
  });

  test('fails when an Allow with a date operator on a non-date value is read as never holding', () => {
    // GIVEN an Allow with DateNotEquals on a value that is no date / THEN fail-closed it applies, and the operator is named
    const statements = [{ ...ALLOW_ALL, Condition: { DateNotEquals: { 'aws:ResourceTag/expiry': '2030-01-01' } } }];
    const result = evaluateFailClosed(request(statements, { 'aws:ResourceTag/expiry': 'never' }));
    expect(result.decision).toBe('Allowed');
    expect(result.doubts.join('\n')).toContain('DateNotEquals');
  });

  test('fails when an Allow with an empty condition-value list is read as never holding', () => {
    // GIVEN an empty value list (valid policy: IAM Access Analyzer accepts it) / THEN fail-closed the Allow applies, named
    const statements = [{ ...ALLOW_ALL, Condition: { StringEquals: { 'aws:ResourceTag/env': [] } } }];
    expect(evaluate(request(statements, { 'aws:ResourceTag/env': 'prod' }))).toBe('ImplicitlyDenied');
    const result = evaluateFailClosed(request(statements, { 'aws:ResourceTag/env': 'prod' }));
    expect(result.decision).toBe('Allowed');
    expect(result.doubts.join('\n')).toContain('lists no values');
  });

  test('a certain match settles the statement: no doubt is reported and the Deny stands', () => {
    // GIVEN a Deny listing the exact table beside a doubtful entry / THEN the doubtful entry does not matter
    const result = evaluateFailClosed(
      request([ALLOW_ALL, { Effect: 'Deny', Action: '*', Resource: [TABLE, `arn:aws:dynamodb:US-EAST-1:${ACCOUNT}:x`] }]),
    );
    expect(result).toEqual({ decision: 'ExplicitlyDenied', doubts: [] });
  });
});
