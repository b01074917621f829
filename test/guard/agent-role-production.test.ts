import { DESTRUCTIVE_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { ESCALATION_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { wildcardRegex } from '../../lib/shared/iam-data';
import { NEVER_ALLOWED_SERVICES, OWNED_RESOURCE_CHANGES } from '../../lib/guard/private/outage-statements';
import { CODE_EXECUTION_ACTIONS } from '../../lib/shared/action-classes.generated';
import { SynthesizedAgent, synthAgent, withAdministratorAccess } from '../support/fixtures';
import { sampleArn } from '../support/request-context';
import { decide, decideOnSample } from '../support/simulate';

// Actions the escalation and tampering denies refuse everywhere, whatever the tag.
// The read-only boundary never allows identity, credential, organization or audit writes, whatever the tag.
const ALWAYS_DENIED = [
  ...ESCALATION_CATALOG.iamWrites,
  ...ESCALATION_CATALOG.controlPlaneWrites,
  ...NEVER_ALLOWED_SERVICES,
  ...OWNED_RESOURCE_CHANGES,
  // running code on a disposable resource is denied too: it may hold a stronger identity than the agent
  ...CODE_EXECUTION_ACTIONS,
].map((p) => wildcardRegex(p));
const alwaysDenied = (action: string) => ALWAYS_DENIED.some((r) => r.test(action));

describe('AgentRole with AdministratorAccess added later', () => {
  let admin: SynthesizedAgent;
  beforeAll(() => {
    // GIVEN an agent role that someone later gave AdministratorAccess
    admin = synthAgent(withAdministratorAccess);
  });

  test('every action of the destructive catalog is denied on a production-tagged resource', async () => {
    // WHEN each catalog action is evaluated on a resource tagged environment=production,
    // with the request context AWS really builds for that action
    const allowed: string[] = [];
    for (const [action] of DESTRUCTIVE_CATALOG) {
      const decision = await decideOnSample(admin.policies, { action, tags: { environment: 'production' } });
      if (decision !== 'ExplicitlyDenied') allowed.push(`${action}: ${decision}`);
    }
    // THEN none is allowed
    expect(allowed).toEqual([]);
  });

  test('every action of the destructive catalog is denied on an untagged resource', async () => {
    const allowed: string[] = [];
    for (const [action] of DESTRUCTIVE_CATALOG) {
      const decision = await decideOnSample(admin.policies, { action, tags: {} });
      if (decision !== 'ExplicitlyDenied') allowed.push(`${action}: ${decision}`);
    }
    expect(allowed).toEqual([]);
  });

  test('S3 bucket destruction stays denied on a production bucket with bucket ABAC on', async () => {
    const s3 = DESTRUCTIVE_CATALOG.filter((e) => e[3] === 's3-abac').map((e) => e[0]);
    expect(s3.length).toBeGreaterThan(10);
    for (const action of s3) {
      await expect(
        decide(admin.policies, { action, resource: sampleArn(action), tags: { environment: 'production' }, bucketAbac: true }),
      ).resolves.toBe('ExplicitlyDenied');
    }
  });

  test('catalog actions whose context carries the tag still work on a resource tagged dev (case-insensitively)', async () => {
    // GIVEN catalog actions whose every resource type populates aws:ResourceTag
    const tagAware = DESTRUCTIVE_CATALOG.filter((e) => e[3] === 'yes' && !alwaysDenied(e[0])).map((e) => e[0]);
    expect(tagAware.length).toBeGreaterThan(1000);
    const wronglyDenied: string[] = [];
    for (const [i, action] of tagAware.entries()) {
      // WHEN evaluated on a resource tagged as disposable
      const decision = await decideOnSample(admin.policies, { action, tags: { environment: i % 2 ? 'dev' : 'Sandbox' } });
      if (decision !== 'Allowed') wronglyDenied.push(`${action}: ${decision}`);
    }
    // THEN the granted administrator access still works there
    expect(wronglyDenied).toEqual([]);
  });

  test('S3 bucket deletion works on a dev bucket only when bucket ABAC puts the tag in the context', async () => {
    const dev = { action: 's3:DeleteBucket', resource: 'arn:aws:s3:::scratch-bucket', tags: { environment: 'dev' } };
    await expect(decide(admin.policies, { ...dev, bucketAbac: true })).resolves.toBe('Allowed');
    // without ABAC the tag is not in the request context: unknown means protected
    await expect(decide(admin.policies, { ...dev, bucketAbac: false })).resolves.toBe('ExplicitlyDenied');
  });

  test('the production tag cannot be removed or changed on a protected resource', async () => {
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders';
    for (const tags of [{ environment: 'production' }, {}] as Record<string, string>[]) {
      await expect(
        decide(admin.policies, { action: 'dynamodb:UntagResource', resource: table, tags, context: { 'aws:TagKeys': ['environment'] } }),
      ).resolves.toBe('ExplicitlyDenied');
      await expect(
        decide(admin.policies, {
          action: 'dynamodb:TagResource',
          resource: table,
          tags,
          context: { 'aws:TagKeys': ['environment'], 'aws:RequestTag/environment': 'dev' },
        }),
      ).resolves.toBe('ExplicitlyDenied');
      await expect(
        decide(admin.policies, { action: 'ec2:CreateTags', resource: 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc', tags }),
      ).resolves.toBe('ExplicitlyDenied');
      await expect(decide(admin.policies, { action: 's3:PutBucketTagging', resource: 'arn:aws:s3:::prod-data', tags })).resolves.toBe(
        'ExplicitlyDenied',
      );
    }
  });

  test.each([
    ['edits its own role', 'iam:PutRolePolicy', 'arn:aws:iam::123456789012:role/agent'],
    ['attaches a managed policy', 'iam:AttachRolePolicy', 'arn:aws:iam::123456789012:role/agent'],
    ['creates a policy version', 'iam:CreatePolicyVersion', 'arn:aws:iam::123456789012:policy/agent-policy'],
    ['sets a policy version as default', 'iam:SetDefaultPolicyVersion', 'arn:aws:iam::123456789012:policy/agent-policy'],
    ['removes its permissions boundary', 'iam:DeleteRolePermissionsBoundary', 'arn:aws:iam::123456789012:role/agent'],
    ['replaces its permissions boundary', 'iam:PutRolePermissionsBoundary', 'arn:aws:iam::123456789012:role/agent'],
    ['rewrites its trust policy', 'iam:UpdateAssumeRolePolicy', 'arn:aws:iam::123456789012:role/agent'],
    ['creates a user', 'iam:CreateUser', 'arn:aws:iam::123456789012:user/backdoor'],
    ['creates a role', 'iam:CreateRole', 'arn:aws:iam::123456789012:role/stronger'],
    ['creates access keys', 'iam:CreateAccessKey', 'arn:aws:iam::123456789012:user/admin'],
    ['assumes a CDK deploy role', 'sts:AssumeRole', 'arn:aws:iam::123456789012:role/cdk-hnb659fds-deploy-role-123456789012-us-east-1'],
    ['assumes another role', 'sts:AssumeRole', 'arn:aws:iam::123456789012:role/admin'],
    ['passes a stronger role to a service', 'iam:PassRole', 'arn:aws:iam::123456789012:role/admin'],
    ['passes the CDK execution role', 'iam:PassRole', 'arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1'],
    ['gets federation credentials', 'sts:GetFederationToken', 'arn:aws:sts::123456789012:federated-user/agent'],
    ['approves a Step Functions task', 'states:SendTaskSuccess', '*'],
    ['stops the audit trail', 'cloudtrail:StopLogging', 'arn:aws:cloudtrail:us-east-1:123456789012:trail/audit'],
    ['deletes the audit trail', 'cloudtrail:DeleteTrail', 'arn:aws:cloudtrail:us-east-1:123456789012:trail/audit'],
    ['leaves the organization', 'organizations:LeaveOrganization', '*'],
    ['unsubscribes the guardrail alerts', 'sns:Unsubscribe', 'arn:aws:sns:us-east-1:123456789012:breaker-alerts'],
    ['filters away the guardrail alerts', 'sns:SetSubscriptionAttributes', 'arn:aws:sns:us-east-1:123456789012:breaker-alerts'],
  ])('fails when the agent %s (%s)', async (_what, action, resource) => {
    await expect(decide(admin.policies, { action, resource, tags: { environment: 'dev' } })).resolves.toBe('ExplicitlyDenied');
  });

  test.each([
    ['deletes a production stack', 'cloudformation:DeleteStack', 'arn:aws:cloudformation:us-east-1:123456789012:stack/prod/1'],
    ['updates a production stack', 'cloudformation:UpdateStack', 'arn:aws:cloudformation:us-east-1:123456789012:stack/prod/1'],
    ['executes a change set on a production stack', 'cloudformation:ExecuteChangeSet', 'arn:aws:cloudformation:us-east-1:123456789012:stack/prod/1'],
    ['disables the circuit breaker rule', 'events:DisableRule', 'arn:aws:events:us-east-1:123456789012:rule/breaker'],
    ['runs commands on a production instance', 'ssm:SendCommand', 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc'],
    ['replaces the code of a production function', 'lambda:UpdateFunctionCode', 'arn:aws:lambda:us-east-1:123456789012:function:payments'],
    ['schedules deletion of a production key', 'kms:ScheduleKeyDeletion', 'arn:aws:kms:us-east-1:123456789012:key/1234'],
    ['disables a production key', 'kms:DisableKey', 'arn:aws:kms:us-east-1:123456789012:key/1234'],
    ['overwrites the bucket lifecycle', 's3:PutLifecycleConfiguration', 'arn:aws:s3:::prod-data'],
    ['overwrites the bucket policy', 's3:PutBucketPolicy', 'arn:aws:s3:::prod-data'],
    ['changes production DNS records', 'route53:ChangeResourceRecordSets', 'arn:aws:route53:::hostedzone/Z123'],
    ['switches off deletion protection', 'rds:ModifyDBInstance', 'arn:aws:rds:us-east-1:123456789012:db:orders'],
    ['scales a service to zero', 'ecs:UpdateService', 'arn:aws:ecs:us-east-1:123456789012:service/prod/api'],
    [
      'scales a group to zero',
      'autoscaling:UpdateAutoScalingGroup',
      'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:uuid:autoScalingGroupName/web',
    ],
    // found by the security review: verbs in capitals, batch deletes, deregistration, and indirect paths
    ['deletes an API (spelled in capitals)', 'apigateway:DELETE', 'arn:aws:apigateway:us-east-1::/restapis/a1b2c3'],
    ['batch-deletes images', 'ecr:BatchDeleteImage', 'arn:aws:ecr:us-east-1:123456789012:repository/api'],
    ['batch-deletes cluster snapshots', 'redshift:BatchDeleteClusterSnapshots', 'arn:aws:redshift:us-east-1:123456789012:snapshot:warehouse/nightly'],
    ['deregisters an image', 'ec2:DeregisterImage', 'arn:aws:ec2:us-east-1::image/ami-0abc'],
    ['releases an elastic IP', 'ec2:ReleaseAddress', 'arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-0abc'],
    ['replaces a root volume', 'ec2:CreateReplaceRootVolumeTask', 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc'],
    ['expires all images by lifecycle', 'ecr:PutLifecyclePolicy', 'arn:aws:ecr:us-east-1:123456789012:repository/api'],
    ['expires items by TTL', 'dynamodb:UpdateTimeToLive', 'arn:aws:dynamodb:us-east-1:123456789012:table/orders'],
    ['shortens recovery point retention', 'backup:UpdateRecoveryPointLifecycle', 'arn:aws:backup:us-east-1:123456789012:recovery-point:rp-1'],
    ['shortens message retention', 'sqs:SetQueueAttributes', 'arn:aws:sqs:us-east-1:123456789012:jobs'],
    ['runs a build under the project role', 'codebuild:StartBuild', 'arn:aws:codebuild:us-east-1:123456789012:project/release'],
    ['runs shell scripts on instances by association', 'ssm:CreateAssociation', 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc'],
    ['makes itself cluster admin', 'eks:CreateAccessEntry', 'arn:aws:eks:us-east-1:123456789012:cluster/prod'],
    [
      'rewrites a state machine that holds a stronger role',
      'states:UpdateStateMachine',
      'arn:aws:states:us-east-1:123456789012:stateMachine:payments',
    ],
  ])('fails when the agent %s (%s) on a production resource', async (_what, action, resource) => {
    for (const tags of [{ environment: 'production' }, {}] as Record<string, string>[]) {
      await expect(decide(admin.policies, { action, resource, tags })).resolves.toBe('ExplicitlyDenied');
    }
  });

  test('fails when the agent touches a resource tagged as a guardrail component', async () => {
    await expect(
      decide(admin.policies, {
        action: 'states:StopExecution',
        resource: 'arn:aws:states:us-east-1:123456789012:execution:approval-gate:run-1',
        tags: { 'guardrails:component': 'approval-gate', 'environment': 'dev' },
      }),
    ).resolves.toBe('ExplicitlyDenied');
  });

  test('the boundary alone still denies escalation and core destruction when the guard policies are detached', async () => {
    // GIVEN a human detached every guard policy but AdministratorAccess from the role
    const onlyAdmin = { ...admin.policies, identityPolicies: admin.policies.identityPolicies.filter((p) => p.name.includes('AdministratorAccess')) };
    expect(onlyAdmin.identityPolicies).toHaveLength(1);
    // THEN the permissions boundary (an allow-list) still refuses: it allows none of these on production
    for (const [action, resource] of [
      ['rds:DeleteDBInstance', 'arn:aws:rds:us-east-1:123456789012:db:orders'],
      ['dynamodb:DeleteTable', 'arn:aws:dynamodb:us-east-1:123456789012:table/orders'],
      ['s3:DeleteBucket', 'arn:aws:s3:::prod-data'],
      ['kms:ScheduleKeyDeletion', 'arn:aws:kms:us-east-1:123456789012:key/1234'],
      ['ec2:TerminateInstances', 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc'],
      ['route53:DeleteHostedZone', 'arn:aws:route53:::hostedzone/Z123'],
      ['iam:AttachRolePolicy', 'arn:aws:iam::123456789012:role/agent'],
      ['sts:AssumeRole', 'arn:aws:iam::123456789012:role/admin'],
    ]) {
      await expect(decide(onlyAdmin, { action, resource, tags: {} })).resolves.not.toBe('Allowed');
      await expect(decide(onlyAdmin, { action, resource, tags: { environment: 'production' } })).resolves.not.toBe('Allowed');
    }
    // AND ordinary work is still allowed through the boundary
    await expect(
      decide(onlyAdmin, { action: 'dynamodb:GetItem', resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders', tags: {} }),
    ).resolves.toBe('Allowed');
  });
});
