/**
 * Cases the differential test found, fixed and pinned. The first group were evaluator bugs (the
 * simulator is asked again here, so each expectation stays backed by the oracle). The second group
 * were iam-simulate quirks where the evaluator follows AWS's documented behaviour; the generator no
 * longer produces them, and these tests pin the evaluator's answer (see docs/evaluator.md).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { evaluate, EvaluationRequest } from '../../lib/evaluator';

const ACCOUNT = '123456789012';
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/agent-ops`;

async function simulate(r: EvaluationRequest): Promise<string> {
  const result: any = await runSimulation(
    {
      request: { principal: r.principal, action: r.action, resource: { resource: r.resource, accountId: ACCOUNT }, contextVariables: r.context },
      identityPolicies: r.identityPolicies.map((policy, i) => ({ name: `p${i}`, policy: policy as any })),
      permissionBoundaryPolicies: r.permissionsBoundaries?.map((policy, i) => ({ name: `b${i}`, policy: policy as any })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  expect(result.result.ignoredContextKeys).toEqual([]);
  return result.overallResult;
}

describe('evaluator bugs found by the differential test', () => {
  test('seed 585: ArnNotLike holds when the account differs, even if a variable in the resource segment has no value', async () => {
    // GIVEN an Allow whose ArnNotLikeIfExists pattern names this account and a role from a tag the request lacks
    const request: EvaluationRequest = {
      principal: PRINCIPAL,
      action: 'lambda:DeleteFunction',
      resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:bob-orders`,
      // WHEN the caller is from another account and carries no aws:PrincipalTag/team
      context: { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:role/agent-ops' },
      identityPolicies: [
        {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'lambda:DeleteFunction',
              Resource: '*',
              Condition: { ArnNotLikeIfExists: { 'aws:PrincipalArn': [`arn:aws:iam::${ACCOUNT}:role/\${aws:PrincipalTag/team}`] } },
            },
          ],
        },
      ],
    };
    // THEN the ARN certainly differs (the account settles it), so the condition holds
    expect(evaluate(request)).toBe('Allowed');
    expect(await simulate(request)).toBe('Allowed');
  });

  test('a NotResource Deny applies when the region differs, even if a variable in the resource segment has no value', async () => {
    // GIVEN a Deny on everything except the caller's own functions in eu-west-1
    const request: EvaluationRequest = {
      principal: PRINCIPAL,
      action: 'lambda:DeleteFunction',
      resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:bob-orders`,
      context: {},
      identityPolicies: [
        {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: '*', Resource: '*' },
            { Effect: 'Deny', Action: '*', NotResource: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:\${aws:username}-*` },
          ],
        },
      ],
    };
    // WHEN a us-east-1 function is deleted without aws:username in the context
    // THEN the function is certainly outside the exception, so the Deny applies
    expect(evaluate(request)).toBe('ExplicitlyDenied');
    expect(await simulate(request)).toBe('ExplicitlyDenied');
  });
});

describe('simulator quirks where the evaluator follows AWS', () => {
  test('seeds 325, 418: a policy variable at the start of a queue name is substituted', () => {
    // iam-simulate splits a "resource type" prefix off at the first ':' or '/', even inside ${...}.
    const request: EvaluationRequest = {
      principal: PRINCIPAL,
      action: 'sqs:SendMessage',
      resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:bob-orders`,
      context: { 'aws:PrincipalTag/owner': 'bob' },
      identityPolicies: [
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:\${aws:PrincipalTag/owner}-orders` }],
        },
      ],
    };
    expect(evaluate(request)).toBe('Allowed');
    expect(evaluate({ ...request, context: { 'aws:PrincipalTag/owner': 'alice' } })).toBe('ImplicitlyDenied');
  });

  test('seed 724: NotIpAddress with a bare IPv4 address holds for an IPv6 caller', () => {
    // A bare address is the block addr/32; an IPv6 address is outside it.
    const request: EvaluationRequest = {
      principal: PRINCIPAL,
      action: 'iam:PassRole',
      resource: `arn:aws:iam::${ACCOUNT}:role/ops-audit`,
      context: { 'aws:SourceIp': '2001:db9::7' },
      identityPolicies: [
        {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: '*', Resource: '*' },
            { Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '203.0.113.5'] } } },
          ],
        },
      ],
    };
    expect(evaluate(request)).toBe('ExplicitlyDenied');
  });

  test('seed 1245: 0.0.0.0/0 contains every IPv4 address', () => {
    const request: EvaluationRequest = {
      principal: PRINCIPAL,
      action: 'iam:PassRole',
      resource: `arn:aws:iam::${ACCOUNT}:role/ops-audit`,
      context: { 'aws:SourceIp': '203.0.113.5' },
      identityPolicies: [
        {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: '*', Resource: '*' },
            { Effect: 'Deny', Action: '*', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } } },
          ],
        },
      ],
    };
    expect(evaluate(request)).toBe('ExplicitlyDenied');
  });
});

describe('simulator readings the IAM User Guide contradicts (issue 17: the docs are the judge)', () => {
  const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/prod-orders`;
  const one = (statements: object[], context: Record<string, string> = {}): EvaluationRequest => ({
    principal: PRINCIPAL,
    action: 'dynamodb:DeleteTable',
    resource: TABLE,
    context,
    identityPolicies: [{ Version: '2012-10-17', Statement: statements }],
  });

  test('StringNotEquals against a variable with no value matches (reference_policies_variables, "Policy variables with no value")', async () => {
    // GIVEN an Allow unless the owner tag equals a principal tag the caller lacks
    const request = one(
      [
        {
          Effect: 'Allow',
          Action: 'dynamodb:DeleteTable',
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:ResourceTag/owner': '${aws:PrincipalTag/protected-owner}' } },
        },
      ],
      { 'aws:ResourceTag/owner': 'orders' },
    );
    // WHEN both decide / THEN the evaluator follows the page; the simulator's differing answer is pinned as its mistake
    expect(evaluate(request)).toBe('Allowed');
    expect(await simulate(request)).toBe('ImplicitlyDenied');
  });

  test('a NotResource entry with a variable with no value excludes nothing (same page)', async () => {
    const request = one([
      { Effect: 'Allow', Action: 'dynamodb:DeleteTable', NotResource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/\${aws:PrincipalTag/team}-*` },
    ]);
    expect(evaluate(request)).toBe('Allowed');
    expect(await simulate(request)).toBe('ImplicitlyDenied');
  });
});
