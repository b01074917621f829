/**
 * The organization guard proven with @cloud-copilot/iam-simulate (an independent IAM simulator,
 * test-only) at the SCP and RCP levels: an agent principal of a member account with
 * AdministratorAccess and no guard on its role, and agents of other accounts reaching production
 * resources through resource policies.
 */
import { ACTION_CLASS_MEMBERS, ActionClassName } from '../../lib/shared/action-classes.generated';
import { RenderedOrganizationPolicies, renderOrganizationPolicies } from '../../lib/organization/private/render';
import { OUTAGE_CATALOG } from '../guard/outage-catalog';
import { ACCOUNT, OTHER_ACCOUNT, PolicyDocument, evaluateUnder, simulate, simulateOnSample } from './org-fixtures';
import { REGION } from '../support/template-resolver';

// The classes of every way to hurt production that is not a plain read (creation and tagging are tested on their own below).
const HARMFUL: readonly ActionClassName[] = ['destructive', 'data-destructive', 'disruptive', 'network-isolation', 'traffic', 'reconfigure',
  'code-execution', 'guardrail-blinding'];
const PER_CLASS = 15;

/** An even spread of a class's members (deterministic). */
function sampleOf(members: readonly string[], count: number): string[] {
  const step = Math.max(1, Math.floor(members.length / count));
  return members.filter((_, i) => i % step === 0).slice(0, count);
}

/** Steps damaging production from a resource the agent owns, whose second authorization in the same call is on production. */
const SAME_CALL_DEFENCE: Record<string, { action: string; resource: string }> = {
  'ec2-modify-instance-attribute-groups': { action: 'ec2:ModifyInstanceAttribute', resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0prod` },
  'sagemaker-create-processing-job': { action: 'iam:PassRole', resource: `arn:aws:iam::${ACCOUNT}:role/sagemaker-privileged` },
  'cloudformation-create-stack': { action: 'lambda:InvokeFunction', resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:prod-provider` },
};

describe('organization guard, by simulation: an agent of a member account with AdministratorAccess and no guard on its role', () => {
  let rendered: RenderedOrganizationPolicies;
  let policies: { scps: PolicyDocument[]; rcps: PolicyDocument[] };
  beforeAll(() => {
    // GIVEN the default organization guard, attached at the root beside FullAWSAccess and RCPFullAWSAccess
    rendered = renderOrganizationPolicies();
    policies = { scps: rendered.serviceControlPolicies.map((p) => p.document), rcps: rendered.resourceControlPolicies.map((p) => p.document) };
  });

  /** The simulator cannot tell some resource types apart (API Gateway's ARN forms): the library's evaluator decides those. */
  async function decide(request: Parameters<typeof simulate>[1]): Promise<string> {
    try {
      return await simulate(policies, request);
    } catch (e) {
      if (!/no\.resource\.types|multiple\.resource\.types/.test((e as Error).message)) throw e;
      return evaluateUnder([...policies.scps, ...policies.rcps], request);
    }
  }

  test.each(HARMFUL.map((c) => [c]))('a sample of the %s class is denied on production (tagged or untagged) and left to people', async (cls) => {
    const sample = sampleOf(ACTION_CLASS_MEMBERS[cls], PER_CLASS);
    expect(sample.length).toBeGreaterThanOrEqual(Math.min(PER_CLASS, ACTION_CLASS_MEMBERS[cls].length));
    const wrong: string[] = [];
    for (const action of sample) {
      // WHEN the agent runs the action on production, tagged or untagged; and a person runs it on production
      for (const tags of [{ environment: 'production' }, {}] as Record<string, string>[]) {
        const decision = await simulateOnSample(policies, { action, tags, agent: true });
        if (decision !== 'ExplicitlyDenied') wrong.push(`agent ${action} on ${JSON.stringify(tags)}: ${decision}`);
      }
      const person = await simulateOnSample(policies, { action, tags: { environment: 'production' }, agent: false });
      if (person !== 'Allowed') wrong.push(`person ${action}: ${person}`);
    }
    // THEN the agent is explicitly denied every time, and the person never
    expect(wrong).toEqual([]);
  });

  test('each step of the adversarial outage catalog is denied on production', async () => {
    expect(OUTAGE_CATALOG.length).toBeGreaterThanOrEqual(150);
    const allowed: string[] = [];
    for (const step of OUTAGE_CATALOG) {
      const resource = step.resourceType === '*' ? '*' : step.resourceArn(ACCOUNT, REGION);
      const contexts: Record<string, string>[] = step.ownedResource
        ? [{ environment: 'production' }, {}, { environment: 'dev' }]
        : [{ environment: 'production' }, {}];
      for (const tags of contexts) {
        const fromOwned = step.ownedResource && tags.environment === 'dev' && SAME_CALL_DEFENCE[step.id];
        const request = fromOwned
          ? { ...SAME_CALL_DEFENCE[step.id], tags: { environment: 'production' }, agent: true }
          : { action: step.action, resource, tags, agent: true };
        const decision = await decide(request);
        if (decision === 'Allowed') allowed.push(`${step.id} (${request.action} on ${JSON.stringify(tags)})`);
      }
    }
    expect(allowed).toEqual([]);
  });

  test('hard cases: tag-blind deletes, relabelling, DNS shadowing, aliases, keys, roles, task tokens, the guard\'s own policies', async () => {
    const denied = async (request: Parameters<typeof simulate>[1]) => expect(await decide(request)).toBe('ExplicitlyDenied');
    // an S3 bucket without ABAC carries no tag: protected even when tagged dev
    await denied({ action: 's3:DeleteBucket', resource: 'arn:aws:s3:::scratch', tags: { environment: 'dev' }, agent: true });
    // relabelling production as disposable
    const production = { environment: 'production' };
    const dev = { environment: 'dev' };
    await denied({
      action: 'dynamodb:TagResource', resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`, tags: production, agent: true,
      context: { 'aws:TagKeys': ['environment'], 'aws:RequestTag/environment': 'dev' },
    });
    // DNS shadowing and alias moves from owned resources
    await denied({ action: 'route53:CreateHostedZone', resource: '*', agent: true, context: { 'route53:VPCs': ['vpc-0prod'] } });
    await denied({ action: 'cloudfront:AssociateAlias', resource: `arn:aws:cloudfront::${ACCOUNT}:distribution/EDEV`, tags: dev, agent: true });
    const routeTable = `arn:aws:ec2:${REGION}:${ACCOUNT}:route-table/rtb-dev`;
    await denied({ action: 'ec2:ReplaceRouteTableAssociation', resource: routeTable, tags: dev, agent: true });
    // keys, data, retention
    await denied({ action: 'kms:ScheduleKeyDeletion', resource: `arn:aws:kms:${REGION}:${ACCOUNT}:key/k1`, tags: production, agent: true });
    await denied({ action: 'logs:PutRetentionPolicy', resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:orders`, tags: {}, agent: true });
    // escalation: stronger roles, CDK's deploy roles, new identities, task tokens
    await denied({ action: 'iam:PassRole', resource: `arn:aws:iam::${ACCOUNT}:role/admin`, agent: true });
    await denied({ action: 'sts:AssumeRole', resource: `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-deploy-role-${ACCOUNT}-${REGION}`, agent: true });
    await denied({ action: 'iam:CreateUser', resource: `arn:aws:iam::${ACCOUNT}:user/backdoor`, agent: true });
    await denied({ action: 'states:SendTaskSuccess', resource: '*', agent: true });
    // the organization guard's own policies (and any guardrail component)
    const guardPolicy = 'arn:aws:organizations::111111111111:policy/o-abc/service_control_policy/p-1';
    await denied({ action: 'organizations:DetachPolicy', resource: guardPolicy, agent: true });
    await denied({
      action: 'events:DisableRule', resource: `arn:aws:events:${REGION}:${ACCOUNT}:rule/breaker`,
      tags: { 'guardrails:component': 'circuit-breaker', environment: 'dev' }, agent: true,
    });
  });

  test('a disposable request tag lets an agent create, never open an existing production parent', async () => {
    const request = (action: string, resource: string, value: string | undefined, tags: Record<string, string> = {}) => decide({
      action, resource, tags, agent: true, context: value ? { 'aws:RequestTag/environment': value, 'aws:TagKeys': ['environment'] } : {},
    });
    for (const [action, resource] of [
      ['dynamodb:CreateTable', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/scratch`],
      ['sqs:CreateQueue', `arn:aws:sqs:${REGION}:${ACCOUNT}:scratch`],
      ['lambda:CreateFunction', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:scratch`],
    ]) {
      expect(await request(action, resource, 'dev')).toBe('Allowed');
      expect(await request(action, resource, 'production')).toBe('ExplicitlyDenied');
      expect(await request(action, resource, undefined)).toBe('ExplicitlyDenied');
    }
    const taskDefinition = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/prod:3`;
    expect(await request('ecs:RunTask', taskDefinition, 'dev', { environment: 'production' })).toBe('ExplicitlyDenied');
  });

  test('reads of production and anything on disposable resources still work for agents', async () => {
    const reads = ['ec2:DescribeInstances', 'dynamodb:GetItem', 'dynamodb:Query', 's3:GetObject', 'logs:GetLogEvents',
      'cloudformation:DescribeStacks'];
    for (const action of reads) {
      expect(await simulateOnSample(policies, { action, tags: { environment: 'production' }, agent: true })).toBe('Allowed');
    }
    for (const action of ['ec2:StopInstances', 'dynamodb:DeleteTable', 'rds:RebootDBInstance', 'lambda:PublishVersion']) {
      expect(await simulateOnSample(policies, { action, tags: { environment: 'dev' }, agent: true })).toBe('Allowed');
    }
  });

  test('fails when an agent can run code as the identity of a disposable resource (a dev function, task or stack role)', async () => {
    // A disposable resource can hold a stronger identity than the agent: the SCPs deny running code there, as the role guard does.
    for (const action of ['lambda:UpdateFunctionCode', 'lambda:InvokeFunction', 'ssm:SendCommand', 'cloudformation:UpdateStack', 'ecs:RunTask']) {
      expect(await simulateOnSample(policies, { action, tags: { environment: 'dev' }, agent: true })).toBe('ExplicitlyDenied');
    }
    // AND a principal that is not an agent is untouched
    expect(await simulateOnSample(policies, { action: 'lambda:UpdateFunctionCode', tags: { environment: 'dev' }, agent: false })).toBe('Allowed');
  });
});

describe('organization guard, by simulation: RCPs protect production resources from agents of any account', () => {
  let policies: { scps: PolicyDocument[]; rcps: PolicyDocument[] };
  beforeAll(() => {
    const rendered = renderOrganizationPolicies();
    policies = { scps: rendered.serviceControlPolicies.map((p) => p.document), rcps: rendered.resourceControlPolicies.map((p) => p.document) };
  });

  /** A resource policy granting everything of the service to the external caller (as a careless bucket policy would). */
  const grantingTo = (service: string, agent: boolean) => ({
    Version: '2012-10-17',
    Statement: [{
      Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OTHER_ACCOUNT}:role/${agent ? 'agent' : 'deployer'}` },
      Action: `${service}:*`, Resource: '*',
    }],
  });

  const CROSS_ACCOUNT: ReadonlyArray<[string, string]> = [
    ['s3:DeleteObject', 'arn:aws:s3:::orders-invoices-prod/2024/invoice.pdf'],
    ['s3:PutObject', 'arn:aws:s3:::orders-invoices-prod/2024/invoice.pdf'],
    ['s3:PutBucketPolicy', 'arn:aws:s3:::orders-invoices-prod'],
    ['s3:PutLifecycleConfiguration', 'arn:aws:s3:::orders-invoices-prod'],
    ['sqs:PurgeQueue', `arn:aws:sqs:${REGION}:${ACCOUNT}:orders`],
    ['sqs:SetQueueAttributes', `arn:aws:sqs:${REGION}:${ACCOUNT}:orders`],
    ['kms:ScheduleKeyDeletion', `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`],
    ['kms:DisableKey', `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`],
    ['secretsmanager:PutSecretValue', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prod/db-AbCdEf`],
    ['secretsmanager:GetSecretValue', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prod/db-AbCdEf`],
    ['dynamodb:DeleteTable', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`],
    ['dynamodb:PutItem', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`],
    ['logs:DeleteLogGroup', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:orders`],
    ['ecr:DeleteRepository', `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/orders`],
    ['sts:AssumeRole', `arn:aws:iam::${ACCOUNT}:role/orders-admin`],
  ];

  test.each(CROSS_ACCOUNT)('an agent of another account is denied %s on production; a person of that account is not', async (action, resource) => {
    const service = action.split(':')[0];
    // WHEN a principal outside the organization, with AdministratorAccess and granted by the resource's policy, calls it
    const outside = { action, resource, tags: {}, principalAccount: OTHER_ACCOUNT };
    const agent = await simulate(policies, { ...outside, agent: true, resourcePolicy: grantingTo(service, true) });
    const person = await simulate(policies, { ...outside, agent: false, resourcePolicy: grantingTo(service, false) });
    // THEN the RCPs deny the agent, and let the person through
    expect(agent).toBe('ExplicitlyDenied');
    expect(person).toBe('Allowed');
  });

  test('an agent of another account can still read production objects and items it was granted', async () => {
    for (const [action, resource] of [
      ['s3:GetObject', 'arn:aws:s3:::orders-invoices-prod/2024/invoice.pdf'],
      ['dynamodb:GetItem', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`],
    ]) {
      const service = action.split(':')[0];
      const request = { action, resource, tags: {}, agent: true, principalAccount: OTHER_ACCOUNT, resourcePolicy: grantingTo(service, true) };
      expect(await simulate(policies, request)).toBe('Allowed');
    }
  });

  test('services RCPs cannot reach (EC2, RDS, Lambda) are left to the SCPs and the role guard: no RCP stops an outside agent there', async () => {
    const request = { action: 'lambda:UpdateFunctionCode', resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:orders`, tags: {}, agent: true,
      principalAccount: OTHER_ACCOUNT, resourcePolicy: grantingTo('lambda', true) };
    expect(await simulate(policies, request)).toBe('Allowed');
    // while the same agent inside the organization is held by the SCPs
    expect(await simulate(policies, { ...request, principalAccount: ACCOUNT, resourcePolicy: undefined })).toBe('ExplicitlyDenied');
  });
});
