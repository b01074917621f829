import { evaluate, explain, EvaluationRequest } from '../../lib/evaluator';

const ACCOUNT = '123456789012';
const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`;
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/agent`;

const policy = (...Statement: object[]) => ({ Version: '2012-10-17', Statement });
const allow = (Action: string | string[] = '*', Resource: string | string[] = '*', extra: object = {}) => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...extra,
});
const deny = (Action: string | string[] = '*', Resource: string | string[] = '*', extra: object = {}) => ({
  Effect: 'Deny',
  Action,
  Resource,
  ...extra,
});

function request(overrides: Partial<EvaluationRequest>): EvaluationRequest {
  return { principal: PRINCIPAL, action: 'dynamodb:DeleteTable', resource: TABLE, context: {}, identityPolicies: [], ...overrides };
}

describe('how policy sets combine (same account)', () => {
  test('an identity Allow allows', () => {
    // GIVEN an identity policy allowing the action WHEN evaluated THEN allowed
    expect(evaluate(request({ identityPolicies: [policy(allow('dynamodb:DeleteTable', TABLE))] }))).toBe('Allowed');
  });

  test('without any identity Allow the request is implicitly denied', () => {
    expect(evaluate(request({ identityPolicies: [policy(allow('s3:GetObject'))] }))).toBe('ImplicitlyDenied');
    expect(evaluate(request({ identityPolicies: [] }))).toBe('ImplicitlyDenied');
  });

  test('an explicit Deny in the identity policies wins over any Allow', () => {
    const decision = evaluate(request({ identityPolicies: [policy(allow()), policy(deny('dynamodb:Delete*'))] }));
    expect(decision).toBe('ExplicitlyDenied');
  });

  test('a permissions boundary that does not allow the action denies it implicitly', () => {
    // GIVEN an administrator identity policy and a boundary allowing only reads
    const r = request({ identityPolicies: [policy(allow())], permissionsBoundaries: [policy(allow('dynamodb:Get*'))] });
    // THEN the delete is implicitly denied, and the explanation names the boundary
    expect(evaluate(r)).toBe('ImplicitlyDenied');
    expect(explain(r).missingAllowIn).toBe('permissionsBoundary');
  });

  test('a Deny in the permissions boundary is an explicit deny', () => {
    const r = request({ identityPolicies: [policy(allow())], permissionsBoundaries: [policy(allow(), deny('dynamodb:DeleteTable'))] });
    expect(evaluate(r)).toBe('ExplicitlyDenied');
  });

  test('a boundary Allow alone grants nothing', () => {
    const r = request({ identityPolicies: [], permissionsBoundaries: [policy(allow())] });
    expect(explain(r)).toMatchObject({ decision: 'ImplicitlyDenied', missingAllowIn: 'identity' });
  });

  test('every SCP level must allow, and the first level without an Allow is named', () => {
    const scps = [[policy(allow())], [policy(allow('s3:*'))]];
    const r = request({ identityPolicies: [policy(allow())], serviceControlPolicies: scps });
    expect(explain(r)).toMatchObject({ decision: 'ImplicitlyDenied', missingAllowIn: 'serviceControlPolicy', missingAllowLevel: 1 });
  });

  test('an SCP Deny at any level denies explicitly', () => {
    const scps = [[policy(allow())], [policy(allow(), deny('dynamodb:DeleteTable', TABLE))]];
    expect(evaluate(request({ identityPolicies: [policy(allow())], serviceControlPolicies: scps }))).toBe('ExplicitlyDenied');
  });

  test('SCP levels that all allow let the identity policy decide', () => {
    const scps = [[policy(allow())], [policy(allow('dynamodb:*'))]];
    expect(evaluate(request({ identityPolicies: [policy(allow())], serviceControlPolicies: scps }))).toBe('Allowed');
  });

  test('an empty boundary list and an empty SCP list mean "none"', () => {
    expect(evaluate(request({ identityPolicies: [policy(allow())], permissionsBoundaries: [], serviceControlPolicies: [] }))).toBe('Allowed');
  });

  test('several boundary documents form one set: any of them may allow', () => {
    const r = request({ identityPolicies: [policy(allow())], permissionsBoundaries: [policy(allow('s3:*')), policy(allow('dynamodb:*'))] });
    expect(evaluate(r)).toBe('Allowed');
  });

  test('an SCP level with no policies allows nothing', () => {
    expect(evaluate(request({ identityPolicies: [policy(allow())], serviceControlPolicies: [[]] }))).toBe('ImplicitlyDenied');
  });

  test('explain lists every matching Deny and Allow with its position and Sid', () => {
    const r = request({
      identityPolicies: [policy(allow(), { ...deny('dynamodb:DeleteTable'), Sid: 'NoDelete' })],
      permissionsBoundaries: [policy(allow())],
    });
    const e = explain(r);
    expect(e.decision).toBe('ExplicitlyDenied');
    expect(e.explicitDenies).toEqual([{ policySet: 'identity', level: 0, policyIndex: 0, statementIndex: 1, sid: 'NoDelete', effect: 'Deny' }]);
    expect(e.allows.map((a) => a.policySet)).toEqual(['identity', 'permissionsBoundary']);
  });

  test('a single Statement object (not a list) is accepted', () => {
    expect(evaluate(request({ identityPolicies: [{ Version: '2012-10-17', Statement: allow() }] }))).toBe('Allowed');
  });

  test('policy documents may be JSON strings', () => {
    expect(evaluate(request({ identityPolicies: [JSON.stringify(policy(allow()))] }))).toBe('Allowed');
  });
});

describe('bad requests fail loudly', () => {
  test('fails when the action has no service prefix', () => {
    expect(() => evaluate(request({ action: 'DeleteTable', identityPolicies: [policy(allow())] }))).toThrow(/service:Action/);
  });

  test('fails when the action contains a wildcard', () => {
    expect(() => evaluate(request({ action: 'dynamodb:Delete*', identityPolicies: [policy(allow())] }))).toThrow(/without wildcards/);
  });

  test('fails when the resource is neither an ARN nor "*"', () => {
    expect(() => evaluate(request({ resource: 'orders', identityPolicies: [policy(allow())] }))).toThrow(/ARN/);
  });

  test('fails when a context value is not a string', () => {
    expect(() => evaluate(request({ context: { 'aws:x': { a: 1 } as unknown as string }, identityPolicies: [policy(allow())] }))).toThrow(
      /not a string/,
    );
  });

  test('fails when identityPolicies is not an array', () => {
    expect(() => evaluate(request({ identityPolicies: policy(allow()) as unknown as unknown[] }))).toThrow(/array/);
  });
});
