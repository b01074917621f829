import { evaluate, parsePolicy, PolicyParseError } from '../../lib/evaluator';

const ok = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' };
const doc = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });

/** The PolicyParseError thrown for a document (fails the test if none is thrown). */
function errorFor(document: unknown): PolicyParseError {
  try {
    parsePolicy(document);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyParseError);
    return e as PolicyParseError;
  }
  throw new Error('expected a PolicyParseError');
}

describe('parsePolicy', () => {
  test('returns the statements with their elements', () => {
    // GIVEN a policy with a Deny using NotResource and a condition
    const parsed = parsePolicy(
      doc(ok, {
        Sid: 'NoProd',
        Effect: 'Deny',
        NotAction: ['s3:Get*'],
        NotResource: 'arn:aws:s3:::dev-*',
        Condition: { 'ForAnyValue:StringLikeIfExists': { 'aws:TagKeys': ['env', 'team*'] } },
      }),
    );
    // THEN the parsed form says what each element means
    expect(parsed.version).toBe('2012-10-17');
    expect(parsed.statements[1]).toEqual({
      index: 1,
      sid: 'NoProd',
      effect: 'Deny',
      actions: { negated: true, patterns: ['s3:Get*'] },
      resources: { negated: true, patterns: ['arn:aws:s3:::dev-*'] },
      conditions: [
        {
          operatorText: 'ForAnyValue:StringLikeIfExists',
          operator: 'StringLike',
          setOperator: 'ForAnyValue',
          ifExists: true,
          key: 'aws:TagKeys',
          values: ['env', 'team*'],
        },
      ],
    });
  });

  test('a parsed policy is immutable and can be evaluated in place of its document', () => {
    const parsed = parsePolicy(doc(ok));
    expect(Object.isFrozen(parsed.statements[0].actions.patterns)).toBe(true);
    const decision = evaluate({
      principal: 'arn:aws:iam::123456789012:role/a',
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::b/k',
      context: {},
      identityPolicies: [parsed],
    });
    expect(decision).toBe('Allowed');
  });

  test('numbers and booleans in condition values become strings', () => {
    const parsed = parsePolicy(
      doc({ ...ok, Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': 3600 }, Bool: { 'aws:SecureTransport': true } } }),
    );
    expect(parsed.statements[0].conditions.map((c) => c.values)).toEqual([['3600'], ['true']]);
  });

  test('a policy without Version uses the 2008-10-17 grammar', () => {
    expect(parsePolicy({ Statement: [ok] }).version).toBe('2008-10-17');
  });
});

describe('parsePolicy fails with a clear message', () => {
  test.each<[string, unknown, RegExp]>([
    ['the document is not an object', 42, /must be a JSON object.*received 42/],
    ['the document is an array', [ok], /must be a JSON object/],
    ['the JSON string does not parse', '{"Statement": [', /not valid JSON/],
    ['the policy has an unknown element', { Version: '2012-10-17', Statement: [ok], Statment: [] }, /^Statment: unknown policy element "Statment"/],
    [
      'Version is not a known grammar',
      { Version: '2012-10-18', Statement: [ok] },
      /Version must be "2012-10-17" or "2008-10-17" \(received "2012-10-18"\)/,
    ],
    ['there is no Statement', { Version: '2012-10-17' }, /has no Statement/],
    ['a statement is not an object', doc('allow everything'), /Statement\[0\]: a statement must be a JSON object/],
    [
      'Effect is lower-case',
      doc({ ...ok, Effect: 'allow' }),
      /Statement\[0\]\.Effect: Effect must be exactly "Allow" or "Deny" \(received "allow"\)/,
    ],
    ['Effect is missing', doc({ Action: '*', Resource: '*' }), /Effect must be exactly/],
    ['Action and NotAction are both present', doc({ ...ok, NotAction: 's3:*' }), /Action or NotAction, not both/],
    ['neither Resource nor NotResource is present', doc({ Effect: 'Allow', Action: '*' }), /neither Resource nor NotResource/],
    ['a statement names a Principal', doc({ ...ok, Principal: '*' }), /Statement\[0\]\.Principal: Principal is not allowed in identity policies/],
    ['a statement has an unknown element', doc({ ...ok, Actions: ['s3:*'] }), /Statement\[0\]\.Actions: unknown statement element "Actions"/],
    [
      'an action has no service prefix',
      doc({ ...ok, Action: 'GetObject' }),
      /Statement\[0\]\.Action: an action must be "\*" or "service:Action".*received "GetObject"/,
    ],
    [
      'an action has a wildcard in the service prefix',
      doc({ ...ok, Action: ['s3:GetObject', '*:Delete*'] }),
      /Statement\[0\]\.Action\[1\]: the service prefix of an action cannot contain wildcards/,
    ],
    ['Action lists nothing', doc({ ...ok, Action: [] }), /Action lists nothing/],
    [
      'an action is not a string',
      doc({ ...ok, Action: ['s3:GetObject', 7] }),
      /Statement\[0\]\.Action\[1\]: Action values must be strings \(received 7\)/,
    ],
    [
      'a resource is neither * nor an ARN',
      doc({ ...ok, Resource: 'my-bucket' }),
      /Statement\[0\]\.Resource: a resource must be "\*" or an ARN.*received "my-bucket"/,
    ],
    ['Condition is not an object', doc({ ...ok, Condition: ['StringEquals'] }), /Condition must be an object of operators/],
    [
      'the condition operator is unknown',
      doc({ ...ok, Condition: { StringEqual: { 'aws:username': 'a' } } }),
      /Statement\[0\]\.Condition\.StringEqual: unknown condition operator "StringEqual"/,
    ],
    [
      'the set operator is unknown',
      doc({ ...ok, Condition: { 'ForEachValue:StringEquals': { 'aws:TagKeys': 'a' } } }),
      /unknown set operator "ForEachValue"/,
    ],
    ['Null has IfExists', doc({ ...ok, Condition: { NullIfExists: { 'aws:username': 'true' } } }), /Null cannot take IfExists/],
    ['Null has a value other than true/false', doc({ ...ok, Condition: { Null: { 'aws:username': 'yes' } } }), /Null takes "true".*received "yes"/],
    [
      'a numeric operator has a non-number',
      doc({ ...ok, Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': 'one hour' } } }),
      /Condition\.NumericLessThan\.aws:MultiFactorAuthAge: NumericLessThan needs numbers \(received "one hour"\)/,
    ],
    ['a date operator has a non-date', doc({ ...ok, Condition: { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } } }), /DateLessThan needs dates/],
    [
      'an IP operator has a non-address',
      doc({ ...ok, Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '10.0.0.300/32'] } } }),
      /aws:SourceIp\[1\]: IpAddress needs IP addresses or CIDR blocks/,
    ],
    [
      'an ARN operator has a value that is not an ARN',
      doc({ ...ok, Condition: { ArnNotLike: { 'aws:PrincipalArn': 'agent-*' } } }),
      /ArnNotLike needs ARNs.*received "agent-\*"/,
    ],
    ['Bool has a non-boolean', doc({ ...ok, Condition: { Bool: { 'aws:SecureTransport': 'yes' } } }), /Bool needs "true" or "false"/],
    ['an operator block is empty', doc({ ...ok, Condition: { StringEquals: {} } }), /has no condition keys/],
    [
      'a condition value is an object',
      doc({ ...ok, Condition: { StringEquals: { 'aws:username': { a: 1 } } } }),
      /condition values must be strings, numbers or booleans/,
    ],
  ])('fails when %s', (_name, document, message) => {
    expect(errorFor(document).message).toMatch(message);
  });

  test('the error carries the path of the offending element', () => {
    expect(errorFor(doc(ok, { ...ok, Resource: 'bucket' })).path).toBe('Statement[1].Resource');
  });

  test('evaluate fails on a policy that does not parse rather than skipping it', () => {
    // A skipped Deny would silently allow: the evaluator throws instead.
    const request = {
      principal: 'arn:aws:iam::123456789012:role/a',
      action: 's3:DeleteBucket',
      resource: 'arn:aws:s3:::prod',
      context: {},
      identityPolicies: [doc({ Effect: 'Allow', Action: '*', Resource: '*' }), doc({ Effect: 'deny', Action: '*', Resource: '*' })],
    };
    expect(() => evaluate(request)).toThrow(PolicyParseError);
  });
});
