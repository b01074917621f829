/**
 * Issue 16: the rule pack asks the offline decider only which checks are allowed (OfflineDecider.allowedSync), prunes
 * what no identity Allow (and, with a boundary, no boundary Allow) can apply to, and shares decisions between agents
 * whose statements that can apply to a check are the same. None of it may change a decision: allowedSync must answer
 * exactly what decideSync (verify's path) answers, for every agent, in any order, with one decider for all of them.
 */
import { AgentModel, AgentPolicy } from '../../lib/verify/model/agents';
import { StackModel } from '../../lib/verify/model/assembly';
import { ResourceModel } from '../../lib/verify/model/production-resources';
import { TemplateResolver } from '../../lib/verify/model/template-values';
import { Check, allResourceChecks } from '../../lib/verify/analysis/checks';
import { OfflineDecider, knownPolicyNames, refName } from '../../lib/verify/deciders/offline-decider';
import { decide } from '../support/simulate';
import { ACCOUNT } from '../support/template-resolver';

const REGION = 'us-east-1';
const BUCKET = 'arn:aws:s3:::prod-bucket';
const RELABEL = { key: 'environment', value: 'dev' };

const env = { stackName: 'Prod', account: ACCOUNT, region: REGION, partition: 'aws' };
const stack: StackModel = {
  displayName: 'Prod',
  env,
  accountKnown: true,
  template: { Resources: {} },
  tags: {},
  resolver: new TemplateResolver(env, { Resources: {} }),
  templateFile: 'Prod.template.json',
};

const bucket: ResourceModel = {
  id: 'Prod/Bucket',
  type: 'AWS::S3::Bucket',
  arn: BUCKET,
  stack: 'Prod',
  tags: { environment: 'production' },
  bucketAbac: false,
  production: true,
};

type Statement = Record<string, unknown>;

function policy(name: string, ...statements: Statement[]): AgentPolicy {
  return { name, source: 'inline', document: { Version: '2012-10-17', Statement: statements } };
}

function agent(name: string, identity: AgentPolicy[], boundary?: AgentPolicy): AgentModel {
  return {
    name,
    detectedBy: 'named',
    roleArn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
    roleName: name,
    logicalId: name,
    stack,
    tags: {},
    trustedServices: [],
    identityPolicies: identity,
    boundary,
    unresolved: [],
  };
}

const S3_ALL: Statement = { Effect: 'Allow', Action: 's3:*', Resource: '*' };
const S3_READ_ONLY_BOUNDARY = policy('boundary', { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' });

/** What allowedSync answers, as decideSync reports it: `Allowed by <statement>` or not allowed. */
function viaAllowedSync(decider: OfflineDecider, a: AgentModel, checks: readonly Check[]): Array<string | undefined> {
  const names = knownPolicyNames(a);
  return decider.allowedSync(a, checks).map((ref) => (ref ? refName(ref, names) : undefined));
}

/** verify's own path: a fresh decider, every check evaluated, nothing shared. */
function viaDecideSync(a: AgentModel, checks: readonly Check[]): Array<string | undefined> {
  const { decisions, allowedBy } = new OfflineDecider(RELABEL).decideSync(a, checks);
  return decisions.map((d, i) => (d === 'Allowed' ? allowedBy![i] : undefined));
}

const checks = allResourceChecks(bucket);
const action = (name: string) => checks.find((c) => c.action === name)!;

describe('OfflineDecider.allowedSync (the rule pack) decides as decideSync (verify)', () => {
  test('fails when a boundary is ignored: the same identity statement is decided apart with and without a boundary', () => {
    // GIVEN one decider for the run, and two agents whose identity policies are the same statement (s3:* on "*")
    const decider = new OfflineDecider(RELABEL, true);
    const free = agent('free', [policy('p', S3_ALL)]);
    const bounded = agent('bounded', [policy('p', S3_ALL)], S3_READ_ONLY_BOUNDARY);
    // WHEN the agent without a boundary is decided first (its decisions are shared by statement content)
    const freeAnswers = viaAllowedSync(decider, free, checks);
    const boundedAnswers = viaAllowedSync(decider, bounded, checks);
    // THEN the bounded agent gets none of them: its boundary allows no harmful action
    expect(freeAnswers[checks.indexOf(action('s3:DeleteBucket'))]).toBe('p#statement 1');
    expect(boundedAnswers.filter((a) => a !== undefined)).toEqual([]);
    // and both equal verify's full path
    expect(freeAnswers).toEqual(viaDecideSync(free, checks));
    expect(boundedAnswers).toEqual(viaDecideSync(bounded, checks));
  });

  test('fails when NotAction is read as Action: NotAction allows what it does not list, and prunes what it lists', () => {
    const decider = new OfflineDecider(RELABEL, true);
    const notIam = agent('not-iam', [policy('p', { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' })]);
    const notS3 = agent('not-s3', [policy('p', { Effect: 'Allow', NotAction: 's3:*', Resource: '*' })]);
    const notIamAnswers = viaAllowedSync(decider, notIam, checks);
    const notS3Answers = viaAllowedSync(decider, notS3, checks);
    expect(notIamAnswers[checks.indexOf(action('s3:DeleteBucket'))]).toBe('p#statement 1');
    expect(notS3Answers.filter((a) => a !== undefined)).toEqual([]);
    expect(notIamAnswers).toEqual(viaDecideSync(notIam, checks));
    expect(notS3Answers).toEqual(viaDecideSync(notS3, checks));
  });

  test('fails when a boundary NotAction is pruned: it allows every action it does not list', () => {
    const decider = new OfflineDecider(RELABEL, true);
    const a = agent('a', [policy('p', S3_ALL)], policy('boundary', { Effect: 'Allow', NotAction: 's3:DeleteBucket', Resource: '*' }));
    const answers = viaAllowedSync(decider, a, checks);
    expect(answers[checks.indexOf(action('s3:DeleteBucket'))]).toBeUndefined();
    expect(answers[checks.indexOf(action('s3:PutBucketPolicy'))]).toBe('p#statement 1');
    expect(answers).toEqual(viaDecideSync(a, checks));
  });

  test('fails when NotResource is read as Resource: the bucket is excluded, its objects are not', () => {
    const decider = new OfflineDecider(RELABEL, true);
    const a = agent('a', [policy('p', { Effect: 'Allow', Action: 's3:*', NotResource: BUCKET })]);
    const answers = viaAllowedSync(decider, a, checks);
    expect(answers[checks.indexOf(action('s3:DeleteBucket'))]).toBeUndefined();
    expect(answers[checks.indexOf(action('s3:DeleteObject'))]).toBe('p#statement 1');
    expect(answers).toEqual(viaDecideSync(a, checks));
  });

  test('fails when a shared decision names the wrong statement: agents whose statements sit at other places get their own', () => {
    const decider = new OfflineDecider(RELABEL, true);
    const first = agent('first', [policy('p', S3_ALL)]);
    const second = agent('second', [policy('p', { Sid: 'Tables', Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: '*' }, S3_ALL)]);
    const denied = agent('denied', [policy('p', S3_ALL, { Effect: 'Deny', Action: 's3:Delete*', Resource: BUCKET })]);
    for (const a of [first, second, denied]) expect(viaAllowedSync(decider, a, checks)).toEqual(viaDecideSync(a, checks));
    expect(viaAllowedSync(decider, second, checks)[checks.indexOf(action('s3:DeleteBucket'))]).toBe('p#statement 2');
    expect(viaAllowedSync(decider, denied, checks)[checks.indexOf(action('s3:DeleteBucket'))]).toBeUndefined();
  });

  test('the evaluator decides these fixtures as the IAM policy simulator does (the pruned path rests on it)', async () => {
    const cases: Array<{ identity: AgentPolicy; boundary?: AgentPolicy; action: string; expected: string }> = [
      { identity: policy('p', S3_ALL), boundary: S3_READ_ONLY_BOUNDARY, action: 's3:DeleteBucket', expected: 'ImplicitlyDenied' },
      { identity: policy('p', { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }), action: 's3:DeleteBucket', expected: 'Allowed' },
      { identity: policy('p', { Effect: 'Allow', NotAction: 's3:*', Resource: '*' }), action: 's3:DeleteBucket', expected: 'ImplicitlyDenied' },
      {
        identity: policy('p', S3_ALL),
        boundary: policy('b', { Effect: 'Allow', NotAction: 's3:DeleteBucket', Resource: '*' }),
        action: 's3:PutBucketPolicy',
        expected: 'Allowed',
      },
    ];
    for (const c of cases) {
      const a = agent('sim', [c.identity], c.boundary);
      const ours = viaDecideSync(a, [action(c.action)])[0] !== undefined ? 'Allowed' : 'not allowed';
      const simulated = await decide(
        {
          identityPolicies: [{ name: c.identity.name, policy: c.identity.document as any }],
          permissionsBoundary: c.boundary ? { name: c.boundary.name, policy: c.boundary.document as any } : undefined,
          trustPolicy: {},
        },
        { action: c.action, resource: BUCKET, tags: bucket.tags },
      );
      expect(simulated).toBe(c.expected);
      expect(ours).toBe(c.expected === 'Allowed' ? 'Allowed' : 'not allowed');
    }
  });
});
