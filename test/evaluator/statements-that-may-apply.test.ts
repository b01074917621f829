/**
 * statementsThatMayApply: the pruning the rule pack relies on (issue 16). A statement marked false must never apply
 * to the request, whatever the context: evaluating without it decides and explains exactly as with it.
 */
import { evaluate, evaluateFailClosed, explain, statementsThatMayApply } from '../../lib/evaluator';

const BUCKET = 'arn:aws:s3:::prod-bucket';
const ROLE = 'arn:aws:sts::123456789012:assumed-role/agent/session';

function policyOf(...statements: Array<Record<string, unknown>>) {
  return { Version: '2012-10-17', Statement: statements };
}

const STATEMENTS: Array<Record<string, unknown>> = [
  { Effect: 'Allow', Action: 's3:GetObject', Resource: `${BUCKET}/*` },
  { Effect: 'Allow', NotAction: 's3:*', Resource: '*' },
  { Effect: 'Allow', Action: 's3:*', NotResource: BUCKET },
  { Effect: 'Deny', Action: 's3:Delete*', Resource: BUCKET, Condition: { StringEquals: { 'aws:ResourceTag/environment': 'production' } } },
  { Effect: 'Allow', Action: 's3:PutBucketPolicy', Resource: 'arn:aws:s3:::${aws:PrincipalTag/team}-*' },
  { Effect: 'Allow', Action: 'dynamodb:*', Resource: '*' },
  { Effect: 'Allow', Action: 'ec2:*', Resource: 'arn:aws:ec2:*:*:ins*e/*' },
];

const REQUESTS: Array<[string, string]> = [
  ['s3:DeleteBucket', BUCKET],
  ['s3:GetObject', `${BUCKET}/key`],
  ['s3:PutBucketPolicy', BUCKET],
  ['s3:DeleteObject', `${BUCKET}/key`],
  ['iam:PassRole', 'arn:aws:iam::123456789012:role/other'],
  ['ec2:TerminateInstances', 'arn:aws:ec2:us-east-1:123456789012:instance/i-1'],
];

const CONTEXTS: Array<Record<string, string>> = [{}, { 'aws:ResourceTag/environment': 'production', 'aws:PrincipalTag/team': 'prod' }];

describe('statementsThatMayApply', () => {
  test('fails when a statement it prunes applies in some context: alone, it never allows, denies or explains', () => {
    let pruned = 0;
    for (const [action, resource] of REQUESTS) {
      const [flags] = statementsThatMayApply([policyOf(...STATEMENTS)], action, resource);
      flags.forEach((may, i) => {
        if (may) return;
        pruned++;
        for (const context of CONTEXTS) {
          const request = { principal: ROLE, action, resource, context, identityPolicies: [policyOf(STATEMENTS[i])] };
          expect(evaluate(request)).toBe('ImplicitlyDenied');
          expect(evaluateFailClosed(request)).toEqual({ decision: 'ImplicitlyDenied', doubts: [] });
          expect(explain(request).allows.length + explain(request).explicitDenies.length).toBe(0);
        }
      });
    }
    // and it does prune: other services' actions, listed NotActions, excluded NotResources, other ARNs
    expect(pruned).toBeGreaterThan(10);
  });

  test('fails when NotAction or NotResource is read as Action or Resource', () => {
    const [[getObject, notS3, notBucket]] = statementsThatMayApply([policyOf(...STATEMENTS.slice(0, 3))], 'iam:PassRole', 'arn:aws:iam::1:role/r');
    expect([getObject, notS3, notBucket]).toEqual([false, true, false]);
    const [flags] = statementsThatMayApply([policyOf(...STATEMENTS.slice(0, 3))], 's3:DeleteObject', `${BUCKET}/key`);
    expect(flags).toEqual([false, false, true]);
  });

  test('leaves open what depends on the context or on a doubtful reading: variables and wildcards inside a resource type', () => {
    const [flags] = statementsThatMayApply([policyOf(STATEMENTS[4], STATEMENTS[6])], 's3:PutBucketPolicy', BUCKET);
    expect(flags).toEqual([true, false]);
    const [ec2] = statementsThatMayApply([policyOf(STATEMENTS[6])], 'ec2:TerminateInstances', 'arn:aws:ec2:us-east-1:123456789012:volume/v-1');
    expect(ec2).toEqual([true]);
  });

  test('the same decision with the pruned statements left out, for every request and context', () => {
    for (const [action, resource] of REQUESTS) {
      const [flags] = statementsThatMayApply([policyOf(...STATEMENTS)], action, resource);
      const kept = STATEMENTS.filter((_, i) => flags[i]);
      for (const context of CONTEXTS) {
        const full = { principal: ROLE, action, resource, context, identityPolicies: [policyOf(...STATEMENTS)] };
        const pruned = { ...full, identityPolicies: [policyOf(...kept)] };
        expect(evaluate(pruned)).toBe(evaluate(full));
        expect(evaluateFailClosed(pruned)).toEqual(evaluateFailClosed(full));
      }
    }
  });
});
