/**
 * The CircuitBreaker and AuditTrail as synthesized: what the breaker's handler may do in IAM, what
 * the agent cannot do to the guardrails or to its own quarantine, and what a quarantine denies,
 * all proven by evaluating the synthesized policies with the IAM simulator.
 */
import * as fs from 'fs';
import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole } from '../../lib/guard/agent-role';
import { AuditLockMode, AuditTrail } from '../../lib/audit-trail/audit-trail';
import { CircuitBreaker } from '../../lib/circuit-breaker/circuit-breaker';
import { serviceActions, serviceKeys } from '../../lib/shared/iam-data';
import { QUARANTINE_POLICY_NAME, quarantineDocument, revocationDocument } from '../../lib/circuit-breaker/runtime/breaker-quarantine';
import { EffectivePolicies, effectivePolicies, logicalIdOf } from '../support/effective-policies';
import { synthAgent } from '../support/fixtures';
import { sampleArn } from '../support/request-context';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION, TemplateResolver } from '../support/template-resolver';
import { cloudTrailEvent, config, createTable, startServers, watched } from './breaker-fixtures';
import { BreakerFixture, synthBreaker } from './breaker-synth';

const AGENT_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/agent255f68e9`;
const AGENT_TAGS = { 'guardrails:agent': 'ops-assistant' };

let fx: BreakerFixture;
beforeAll(() => {
  // GIVEN an agent with AdministratorAccess, an AuditTrail and a CircuitBreaker watching the agent
  fx = synthBreaker({}, (_stack, agent) => {
    agent.allow({ actions: ['dynamodb:GetItem'], resources: [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`] });
  });
});

describe('the breaker handler role', () => {
  test('may put (and read back) an inline policy on the watched agent role, and nothing else in IAM', async () => {
    const agentRole = fx.resolver.resolve({ 'Fn::GetAtt': [fx.stack.getLogicalId(fx.agent.node.defaultChild as iam.CfnRole), 'Arn'] });
    expect(agentRole).toBe(AGENT_ROLE_ARN);
    await expect(decide(fx.handlerPolicies, { action: 'iam:PutRolePolicy', resource: agentRole, tags: AGENT_TAGS })).resolves.toBe('Allowed');
    // a tripped agent's next calls check that the quarantine is still on its role
    await expect(decide(fx.handlerPolicies, { action: 'iam:GetRolePolicy', resource: agentRole, tags: AGENT_TAGS })).resolves.toBe('Allowed');
    // a reset is human only: the handler cannot delete the quarantine
    await expect(decide(fx.handlerPolicies, { action: 'iam:DeleteRolePolicy', resource: agentRole, tags: AGENT_TAGS })).resolves.toBe(
      'ImplicitlyDenied',
    );
    for (const [action, resource, tags] of [
      ['iam:PutRolePolicy', `arn:aws:iam::${ACCOUNT}:role/admin`, {}],
      ['iam:PutRolePolicy', `arn:aws:iam::${ACCOUNT}:role/other-agent`, { 'guardrails:agent': 'other-agent' }],
      ['iam:GetRolePolicy', `arn:aws:iam::${ACCOUNT}:role/admin`, {}],
      ['iam:AttachRolePolicy', agentRole, AGENT_TAGS],
      ['iam:UpdateAssumeRolePolicy', agentRole, AGENT_TAGS],
      ['iam:DeleteRolePermissionsBoundary', agentRole, AGENT_TAGS],
      ['iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/new`, {}],
      ['iam:PassRole', agentRole, AGENT_TAGS],
      ['sts:AssumeRole', agentRole, AGENT_TAGS],
    ] as const) {
      await expect(decide(fx.handlerPolicies, { action, resource, tags })).resolves.toBe('ImplicitlyDenied');
    }
  });

  test('may put the quarantine only while the role still carries its agent tag', async () => {
    await expect(decide(fx.handlerPolicies, { action: 'iam:PutRolePolicy', resource: AGENT_ROLE_ARN, tags: {} })).resolves.toBe('ImplicitlyDenied');
  });

  test('writes the breaker table and publishes alerts, and cannot delete the table or its ledger', async () => {
    const table = fx.arnOf('AWS::DynamoDB::Table', 'BreakerState');
    const topic = fx.arnOf('AWS::SNS::Topic', 'BreakerAlerts');
    for (const action of ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:GetItem']) {
      await expect(decide(fx.handlerPolicies, { action, resource: table })).resolves.toBe('Allowed');
    }
    await expect(decide(fx.handlerPolicies, { action: 'sns:Publish', resource: topic })).resolves.toBe('Allowed');
    for (const action of ['dynamodb:DeleteItem', 'dynamodb:DeleteTable', 'dynamodb:UpdateTable', 'dynamodb:UpdateTimeToLive']) {
      await expect(decide(fx.handlerPolicies, { action, resource: table })).resolves.toBe('ImplicitlyDenied');
    }
  });

  test('in monitor-only mode holds no IAM permission at all', async () => {
    const monitor = synthBreaker({ monitorOnly: true });
    await expect(decide(monitor.handlerPolicies, { action: 'iam:PutRolePolicy', resource: AGENT_ROLE_ARN, tags: AGENT_TAGS })).resolves.toBe(
      'ImplicitlyDenied',
    );
    await expect(
      decide(monitor.handlerPolicies, { action: 'sns:Publish', resource: monitor.arnOf('AWS::SNS::Topic', 'BreakerAlerts') }),
    ).resolves.toBe('Allowed');
  });
});

describe('grantOperate', () => {
  test('lets a human operator role trip and reset, and refuses an agent role', async () => {
    let operatorId = '';
    const synthesized = synthAgent((stack, agent) => {
      const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
      const breaker = new CircuitBreaker(stack, 'Breaker', { agents: [{ agent }] });
      breaker.grantOperate(operator);
      expect(() => breaker.grantOperate(agent)).toThrow(/an agent must never trip or reset a breaker/);
      operatorId = stack.getLogicalId(operator.node.defaultChild as iam.CfnRole);
    });
    const operator = effectivePolicies(synthesized.template, operatorId);
    const resolver = new TemplateResolver(synthesized.template);
    const table = resolver.resolve({ 'Fn::GetAtt': [logicalIdOf(synthesized.template, 'AWS::DynamoDB::Table', 'BreakerState'), 'Arn'] });
    await expect(decide(operator, { action: 'iam:PutRolePolicy', resource: AGENT_ROLE_ARN, tags: AGENT_TAGS })).resolves.toBe('Allowed');
    await expect(decide(operator, { action: 'dynamodb:UpdateItem', resource: table })).resolves.toBe('Allowed');
    await expect(decide(operator, { action: 'iam:PutRolePolicy', resource: `arn:aws:iam::${ACCOUNT}:role/admin` })).resolves.toBe('ImplicitlyDenied');
    await expect(decide(operator, { action: 'dynamodb:DeleteItem', resource: table })).resolves.toBe('ImplicitlyDenied');
  });
});

describe('the agent, even with AdministratorAccess', () => {
  test('cannot remove or rewrite its own quarantine', async () => {
    for (const action of ['iam:DeleteRolePolicy', 'iam:PutRolePolicy', 'iam:DeleteRole', 'iam:TagRole', 'iam:UntagRole']) {
      await expect(decide(fx.policies, { action, resource: AGENT_ROLE_ARN, tags: AGENT_TAGS })).resolves.toBe('ExplicitlyDenied');
    }
  });

  test.each([
    ['disables the breaker rule', 'events:DisableRule', 'AWS::Events::Rule', 'BreakerAgentCalls'],
    ['deletes the breaker rule', 'events:DeleteRule', 'AWS::Events::Rule', 'BreakerAgentCalls'],
    ['removes the rule target', 'events:RemoveTargets', 'AWS::Events::Rule', 'BreakerAgentCalls'],
    ['rewrites the rule pattern', 'events:PutRule', 'AWS::Events::Rule', 'BreakerAgentCalls'],
    ['replaces the handler code', 'lambda:UpdateFunctionCode', 'AWS::Lambda::Function', 'BreakerHandler'],
    ['changes the handler configuration', 'lambda:UpdateFunctionConfiguration', 'AWS::Lambda::Function', 'BreakerHandler'],
    ['throttles the handler to zero', 'lambda:PutFunctionConcurrency', 'AWS::Lambda::Function', 'BreakerHandler'],
    ['deletes the handler', 'lambda:DeleteFunction', 'AWS::Lambda::Function', 'BreakerHandler'],
    ['invokes the handler with forged events', 'lambda:InvokeFunction', 'AWS::Lambda::Function', 'BreakerHandler'],
    ['resets its breaker state', 'dynamodb:UpdateItem', 'AWS::DynamoDB::Table', 'BreakerState'],
    ['deletes ledger records', 'dynamodb:DeleteItem', 'AWS::DynamoDB::Table', 'BreakerState'],
    ['deletes the breaker table', 'dynamodb:DeleteTable', 'AWS::DynamoDB::Table', 'BreakerState'],
    ['purges the dead letters', 'sqs:PurgeQueue', 'AWS::SQS::Queue', 'BreakerDeadLetters'],
    ['drains the dead letters before anyone reads them', 'sqs:DeleteMessage', 'AWS::SQS::Queue', 'BreakerDeadLetters'],
    ["removes the handler's on-failure destination", 'lambda:PutFunctionEventInvokeConfig', 'AWS::Lambda::Function', 'BreakerHandler'],
    ['schedules deletion of the alert topic key', 'kms:ScheduleKeyDeletion', 'AWS::KMS::Key', 'BreakerAlertsKey'],
    ['rewrites the alert topic key policy', 'kms:PutKeyPolicy', 'AWS::KMS::Key', 'BreakerAlertsKey'],
    ['stops the audit trail', 'cloudtrail:StopLogging', 'AWS::CloudTrail::Trail', 'AuditTrail'],
    ['narrows what the trail records', 'cloudtrail:PutEventSelectors', 'AWS::CloudTrail::Trail', 'AuditTrail'],
    ['deletes the audit trail', 'cloudtrail:DeleteTrail', 'AWS::CloudTrail::Trail', 'AuditTrail'],
    ['schedules deletion of the audit key', 'kms:ScheduleKeyDeletion', 'AWS::KMS::Key', 'AuditKey'],
    ['disables the audit key', 'kms:DisableKey', 'AWS::KMS::Key', 'AuditKey'],
    ['rewrites the audit key policy', 'kms:PutKeyPolicy', 'AWS::KMS::Key', 'AuditKey'],
  ])('fails when the agent %s (%s)', async (_what, action, type, prefix) => {
    const resource = fx.arnOf(type, prefix);
    const tags = fx.template.Resources[
      Object.keys(fx.template.Resources).find((id) => id.startsWith(prefix) && fx.template.Resources[id].Type === type)!
    ].Properties.Tags.reduce((acc: Record<string, string>, t: { Key: string; Value: string }) => ({ ...acc, [t.Key]: t.Value }), {});
    expect(tags['guardrails:component']).toBeDefined();
    await expect(decide(fx.policies, { action, resource, tags })).resolves.toBe('ExplicitlyDenied');
  });

  test.each([
    ['silences the dead-letter alarm', 'cloudwatch:DisableAlarmActions'],
    ['deletes the dead-letter alarm', 'cloudwatch:DeleteAlarms'],
    ['rewrites the dead-letter alarm', 'cloudwatch:PutMetricAlarm'],
    ['forces the dead-letter alarm to OK', 'cloudwatch:SetAlarmState'],
  ])('fails when the agent %s (%s)', async (_what, action) => {
    const id = logicalIdOf(fx.template, 'AWS::CloudWatch::Alarm', 'BreakerDeadLettersAlarm');
    const tags = Object.fromEntries(fx.template.Resources[id].Properties.Tags.map((t: { Key: string; Value: string }) => [t.Key, t.Value]));
    expect(tags).toMatchObject({ 'guardrails:component': 'circuit-breaker' });
    await expect(decide(fx.policies, { action, resource: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${id}`, tags })).resolves.toBe(
      'ExplicitlyDenied',
    );
  });

  test('fails when the agent unsubscribes or rewrites the alert topic', async () => {
    const topic = fx.arnOf('AWS::SNS::Topic', 'BreakerAlerts');
    for (const action of ['sns:DeleteTopic', 'sns:SetTopicAttributes', 'sns:RemovePermission']) {
      await expect(decide(fx.policies, { action, resource: topic, tags: { 'guardrails:component': 'circuit-breaker' } })).resolves.toBe(
        'ExplicitlyDenied',
      );
    }
  });

  test('is denied every action on the audit bucket by its bucket policy, even where S3 puts no bucket tag in the context', async () => {
    const bucketId = logicalIdOf(fx.template, 'AWS::S3::BucketPolicy', 'AuditBucketPolicy');
    const bucketPolicy = fx.resolver.resolve(fx.template.Resources[bucketId].Properties.PolicyDocument);
    const bucket = fx.arnOf('AWS::S3::Bucket', 'AuditBucket');
    const agentSession = { 'aws:PrincipalTag/guardrails:agent': 'ops-assistant', 'aws:SecureTransport': 'true' };
    for (const [action, resource] of [
      ['s3:DeleteObject', `${bucket}/AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/log.json.gz`],
      ['s3:DeleteObjectVersion', `${bucket}/AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/log.json.gz`],
      ['s3:PutObject', `${bucket}/AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/forged.json.gz`],
      ['s3:BypassGovernanceRetention', `${bucket}/AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/log.json.gz`],
      ['s3:PutBucketPolicy', bucket],
      ['s3:PutLifecycleConfiguration', bucket],
      ['s3:PutBucketObjectLockConfiguration', bucket],
      ['s3:PutBucketVersioning', bucket],
    ]) {
      await expect(decide(fx.policies, { action, resource, resourcePolicy: bucketPolicy, context: agentSession, bucketAbac: false })).resolves.toBe(
        'ExplicitlyDenied',
      );
    }
  });

  test('is denied the audit key by its key policy as well', async () => {
    const key = fx.arnOf('AWS::KMS::Key', 'AuditKey');
    const keyId = Object.keys(fx.template.Resources).find((id) => id.startsWith('AuditKey'))!;
    const keyPolicy = fx.resolver.resolve(fx.template.Resources[keyId].Properties.KeyPolicy);
    await expect(
      decide(fx.policies, {
        action: 'kms:Decrypt',
        resource: key,
        resourcePolicy: keyPolicy,
        context: { 'aws:PrincipalTag/guardrails:agent': 'ops-assistant' },
      }),
    ).resolves.toBe('ExplicitlyDenied');
  });
});

/** One action of every service, on a sample resource of its own type: "every action". */
function oneActionPerService(): Array<{ action: string; resource: string }> {
  const picks: Array<{ action: string; resource: string }> = [];
  for (const service of serviceKeys()) {
    const actions = Object.values(serviceActions(service));
    const action = actions.find((a) => a.resourceTypes.length === 0) ?? actions[0];
    if (action)
      picks.push({
        action: `${service}:${action.name}`,
        resource: action.resourceTypes.length === 0 ? '*' : sampleArn(`${service}:${action.name}`, 'sample'),
      });
  }
  return picks;
}

describe('the quarantine', () => {
  const tripAt = new Date('2026-11-24T10:02:00.000Z');
  const resetAt = new Date('2026-11-24T11:30:00.000Z');
  const session = (issued: string) => ({ 'aws:TokenIssueTime': issued });
  const withInline = (policies: EffectivePolicies, document: unknown): EffectivePolicies => ({
    ...policies,
    identityPolicies: [...policies.identityPolicies, { name: QUARANTINE_POLICY_NAME, policy: document }],
  });
  // The agent's ordinary work: allowed before any trip.
  const work = [
    { action: 'dynamodb:GetItem', resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders` },
    { action: 'ec2:DescribeInstances', resource: '*' },
    { action: 'sqs:ReceiveMessage', resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:jobs` },
    { action: 's3:GetObject', resource: 'arn:aws:s3:::dev-scratch/report.csv' },
  ];

  test('denies every action to a session issued before the trip, and to any session started while tripped', async () => {
    const quarantined = withInline(fx.policies, quarantineDocument(tripAt));
    const allowedBefore: string[] = [];
    const notDenied: string[] = [];
    const requests = [...work, ...oneActionPerService()];
    expect(requests.length).toBeGreaterThan(300);
    // On disposable resources, where the agent's AdministratorAccess works (production is read-only to it anyway)
    const disposable = { environment: 'dev' };
    for (const r of requests) {
      const before = await decide(fx.policies, { ...r, tags: disposable, context: session('2026-11-24T10:00:00Z') }).catch(() => undefined);
      if (before === undefined) continue; // the simulator cannot resolve this sample ARN's type
      if (before === 'Allowed') allowedBefore.push(r.action);
      for (const issued of ['2026-11-24T10:00:00Z', '2026-11-24T10:30:00Z']) {
        const after = await decide(quarantined, { ...r, tags: disposable, context: session(issued) });
        if (after !== 'ExplicitlyDenied') notDenied.push(`${r.action} (session issued ${issued}): ${after}`);
      }
    }
    // the sample holds actions the agent could do before the trip (production is read-only to it, so these
    // are reads and actions on disposable resources whose context carries the tag)...
    expect(allowedBefore.length).toBeGreaterThan(20);
    expect(allowedBefore).toEqual(expect.arrayContaining(work.map((w) => w.action)));
    // ...and after the trip none is allowed to any session
    expect(notDenied).toEqual([]);
  });

  test('the reset removes exactly the quarantine: new sessions decide as before the trip, older sessions stay revoked', async () => {
    const afterReset = withInline(fx.policies, revocationDocument(resetAt));
    const changed: string[] = [];
    const requests = [...work, ...oneActionPerService()];
    for (const r of requests) {
      const fresh = { ...r, context: session('2026-11-24T11:31:00Z') };
      const before = await decide(fx.policies, fresh).catch(() => undefined);
      if (before === undefined) continue;
      const after = await decide(afterReset, fresh);
      if (after !== before) changed.push(`${r.action}: ${before} -> ${after}`);
    }
    expect(changed).toEqual([]);
    for (const r of work) {
      // the runaway session (issued before the trip) and sessions started during the quarantine stay dead
      for (const issued of ['2026-11-24T10:00:00Z', '2026-11-24T11:00:00Z']) {
        await expect(decide(afterReset, { ...r, context: session(issued) })).resolves.toBe('ExplicitlyDenied');
      }
    }
  });
});

describe('synth output', () => {
  test('monitor-only mode says so loudly: a warning naming the agents that will never be quarantined', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
    const agent = new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal() });
    new CircuitBreaker(stack, 'Breaker', { agents: [{ agent }], monitorOnly: true });
    Annotations.fromStack(stack).hasWarning('/S/Breaker', Match.stringLikeRegexp('MONITOR-ONLY.*NEVER quarantine ops-assistant'));
  });

  test('the trail records every region with file validation, encrypted, into a versioned Object Lock bucket', () => {
    const trail = Object.values(fx.template.Resources).find((r) => r.Type === 'AWS::CloudTrail::Trail')!;
    expect(trail.Properties).toMatchObject({
      IsMultiRegionTrail: true,
      EnableLogFileValidation: true,
      IncludeGlobalServiceEvents: true,
      IsLogging: true,
    });
    // every management event, read-only ones included (the breaker counts denied reads)
    expect(trail.Properties.EventSelectors).toBeUndefined();
    expect(trail.Properties.AdvancedEventSelectors).toContainEqual({
      Name: 'All management events',
      FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }],
    });
    expect(fx.resolver.resolve(trail.Properties.KMSKeyId)).toBe(fx.arnOf('AWS::KMS::Key', 'AuditKey'));
    const bucket = fx.template.Resources[logicalIdOf(fx.template, 'AWS::S3::Bucket', 'AuditBucket')];
    expect(bucket.Properties).toMatchObject({
      ObjectLockEnabled: true,
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Days: 365, Mode: 'COMPLIANCE' } } },
    });
    // the trail, its bucket and its key are guardrail components
    for (const type of ['AWS::CloudTrail::Trail', 'AWS::S3::Bucket', 'AWS::KMS::Key']) {
      const resource = Object.values(fx.template.Resources).find((r) => r.Type === type)!;
      expect(resource.Properties.Tags).toContainEqual({ Key: 'guardrails:component', Value: 'audit-trail' });
    }
  });

  test('the rule receives read-only management events too, so that denied reads count', () => {
    const rule = Object.values(fx.template.Resources).find((r) => r.Type === 'AWS::Events::Rule')!;
    expect(rule.Properties.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    expect(rule.Properties.Targets[0]).toMatchObject({ RetryPolicy: { MaximumRetryAttempts: 8 }, DeadLetterConfig: expect.any(Object) });
  });
});

describe('a failed invocation', () => {
  test('is never dropped: Lambda sends it to the dead-letter queue, which alarms to the alert topic', async () => {
    const resources = fx.template.Resources;
    const queue = fx.arnOf('AWS::SQS::Queue', 'BreakerDeadLetters');
    const topic = fx.arnOf('AWS::SNS::Topic', 'BreakerAlerts');
    // Lambda's asynchronous invocation of the handler: retried twice, then to the dead-letter queue
    const invokeConfig = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::EventInvokeConfig')!;
    expect(fx.resolver.resolve(invokeConfig.Properties.FunctionName)).toBe(
      fx.resolver.resolve({ Ref: logicalIdOf(fx.template, 'AWS::Lambda::Function', 'BreakerHandler') }),
    );
    expect(invokeConfig.Properties).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 21600 });
    expect(fx.resolver.resolve(invokeConfig.Properties.DestinationConfig.OnFailure.Destination)).toBe(queue);
    // and the handler's role may send there (and only send)
    await expect(decide(fx.handlerPolicies, { action: 'sqs:SendMessage', resource: queue })).resolves.toBe('Allowed');
    await expect(decide(fx.handlerPolicies, { action: 'sqs:PurgeQueue', resource: queue })).resolves.toBe('ImplicitlyDenied');
    // the alarm watches the queue's depth and notifies the alert topic at the first message
    const alarm = resources[logicalIdOf(fx.template, 'AWS::CloudWatch::Alarm', 'BreakerDeadLettersAlarm')].Properties;
    expect(alarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(fx.template, 'AWS::SQS::Queue', 'BreakerDeadLetters'), 'QueueName'] } },
    ]);
    expect(fx.resolver.resolve(alarm.AlarmActions)).toEqual([topic]);
    // the topic's key is one CloudWatch may use (it cannot use alias/aws/sns): the alarm can deliver
    const topicProps = resources[logicalIdOf(fx.template, 'AWS::SNS::Topic', 'BreakerAlerts')].Properties;
    const keyId = logicalIdOf(fx.template, 'AWS::KMS::Key', 'BreakerAlertsKey');
    expect(fx.resolver.resolve(topicProps.KmsMasterKeyId)).toBe(fx.arnOf('AWS::KMS::Key', 'BreakerAlertsKey'));
    const keyPolicy = fx.resolver.resolve(resources[keyId].Properties.KeyPolicy);
    expect(keyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
    // and the handler may use the key to publish
    await expect(
      decide(fx.handlerPolicies, { action: 'kms:GenerateDataKey', resource: fx.arnOf('AWS::KMS::Key', 'BreakerAlertsKey') }),
    ).resolves.toBe('Allowed');
  });
});

describe('the bundled handler', () => {
  test('is self-contained but for the AWS SDK, and trips when run from the bundle', async () => {
    // GIVEN the asset esbuild produced at synth
    const outdir = fx.app.outdir;
    const assets = fs.readdirSync(outdir).filter((d) => d.startsWith('asset.') && fs.existsSync(path.join(outdir, d, 'index.js')));
    expect(assets).toHaveLength(1);
    const file = path.join(outdir, assets[0], 'index.js');
    const code = fs.readFileSync(file, 'utf8');
    const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(required.filter((r) => !r.startsWith('@aws-sdk/') && !r.startsWith('node:') && !['crypto'].includes(r))).toEqual([]);
    expect(code).not.toContain('aws-cdk-lib');
    // WHEN it runs in a plain Node process (the Lambda runtime provides @aws-sdk; here it comes
    // from this repository's node_modules) against dynalite and the local IAM/SNS endpoint
    const servers = await startServers();
    try {
      const tableName = await createTable(servers.clients.dynamodb);
      const agent = watched(servers.iam, 'bundled', { maxDestructiveCalls: 1 });
      // Two distinct calls: a redelivery of one event (same id) counts once.
      const event = JSON.stringify(cloudTrailEvent({ roleArn: agent.roleArn }));
      const second = JSON.stringify(cloudTrailEvent({ roleArn: agent.roleArn }));
      const script = `const h = require(${JSON.stringify(file)}).handler; const e = ${event}; const f = ${second};
        (async () => { const a = await h(e); const b = await h(f); console.log(JSON.stringify([a.outcome, b.outcome])); })()
          .catch((err) => { console.error(err); process.exit(1); });`;
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
        env: {
          PATH: process.env.PATH ?? '',
          NODE_PATH: path.join(__dirname, '..', '..', 'node_modules'),
          BREAKER_CONFIG: JSON.stringify(config(tableName, [agent])),
          AWS_ENDPOINT_URL_DYNAMODB: servers.dynamodbUrl,
          AWS_ENDPOINT_URL_IAM: servers.iam.url,
          AWS_ENDPOINT_URL_SNS: servers.iam.url,
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: 'AKIABUNDLE',
          AWS_SECRET_ACCESS_KEY: 'local',
        },
      });
      // THEN the bundled code counts, then trips the breaker
      expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual(['counted', 'tripped']);
      expect(Object.keys(servers.iam.inlinePolicies(agent.roleName))).toEqual([QUARANTINE_POLICY_NAME]);
      expect(servers.iam.callsOf('PutRolePolicy').map((c) => c.accessKeyId)).toEqual(['AKIABUNDLE']);
    } finally {
      await servers.stop();
    }
  });
});

describe('bad input', () => {
  const build = (configure: (stack: Stack, agent: AgentRole) => void) => () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
    const agent = new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal() });
    configure(stack, agent);
  };
  test.each([
    ['fails when the agent list is empty', (s: Stack) => new CircuitBreaker(s, 'B', { agents: [] }), /agents is empty \(got \[\]\)/],
    [
      'fails when a destructive threshold is zero',
      (s: Stack, a: AgentRole) => new CircuitBreaker(s, 'B', { agents: [{ agent: a, thresholds: { maxDestructiveCalls: 0 } }] }),
      /agent ops-assistant: maxDestructiveCalls must be a whole number of at least 1.*got 0/,
    ],
    [
      'fails when a denied threshold is negative',
      (s: Stack, a: AgentRole) => new CircuitBreaker(s, 'B', { agents: [{ agent: a }], defaultThresholds: { maxDeniedCalls: -3 } }),
      /defaultThresholds: maxDeniedCalls .*got -3/,
    ],
    [
      'fails when a threshold is fractional',
      (s: Stack, a: AgentRole) => new CircuitBreaker(s, 'B', { agents: [{ agent: a, thresholds: { maxWriteCalls: 2.5 } }] }),
      /maxWriteCalls .*got 2.5/,
    ],
    [
      'fails when the window is shorter than a minute',
      (s: Stack, a: AgentRole) => new CircuitBreaker(s, 'B', { agents: [{ agent: a, thresholds: { window: Duration.seconds(30) } }] }),
      /window of 30 seconds is out of range.*from 1 minute/,
    ],
    [
      'fails when an agent is listed twice',
      (s: Stack, a: AgentRole) => new CircuitBreaker(s, 'B', { agents: [{ agent: a }, { agent: a }] }),
      /ops-assistant is listed twice/,
    ],
    [
      'fails when a watched role is not an AgentRole',
      (s: Stack) =>
        new CircuitBreaker(s, 'B', { agents: [{ agent: new iam.Role(s, 'Plain', { assumedBy: new iam.AccountRootPrincipal() }) as AgentRole }] }),
      /must be an AgentRole.*got Role/,
    ],
    [
      'fails when the audit retention is zero',
      (s: Stack) => new AuditTrail(s, 'A', { retention: Duration.days(0) }),
      /retention of 0 days is not valid.*from 1 to 36500/,
    ],
    [
      'fails when the audit retention is not whole days',
      (s: Stack) => new AuditTrail(s, 'A', { retention: Duration.hours(36) }),
      /retention of 1 day 12 hours is not valid/,
    ],
    [
      'fails when the audit retention exceeds 100 years',
      (s: Stack) => new AuditTrail(s, 'A', { retention: Duration.days(40000) }),
      /retention of 40000 days/,
    ],
    [
      'fails when the organization trail ARN is not a trail ARN',
      (s: Stack) => new AuditTrail(s, 'A', { organizationTrailArn: 'org-trail' }),
      /organizationTrailArn "org-trail" is not a trail ARN/,
    ],
    [
      'fails when retention is given with an organization trail',
      (s: Stack) =>
        new AuditTrail(s, 'A', { organizationTrailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org', lockMode: AuditLockMode.GOVERNANCE }),
      /lockMode applies to a trail created here/,
    ],
  ])('%s', (_name, configure, message) => {
    expect(build(configure as (s: Stack, a: AgentRole) => void)).toThrow(message);
  });

  test('fails when the agent role has no room left for the quarantine policy', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
    const agent = new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal() });
    for (let i = 0; i < 48; i++) {
      agent.allow({
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [
          `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/a-table-with-a-long-name-number-${i}`,
          `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/another-long-table-name-${i}`,
        ],
      });
    }
    new CircuitBreaker(stack, 'Breaker', { agents: [{ agent }] });
    expect(() => app.synth()).toThrow(/quarantine policy \(\d+\) would not fit/);
  });

  test('an organization trail creates no trail of its own', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
    const audit = new AuditTrail(stack, 'A', { organizationTrailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org' });
    expect(audit.usesOrganizationTrail).toBe(true);
    expect(audit.trailArn).toBe('arn:aws:cloudtrail:us-east-1:111122223333:trail/org');
    expect(Object.values(app.synth().getStackByName('S').template.Resources ?? {}).map((r: any) => r.Type)).not.toContain('AWS::CloudTrail::Trail');
  });
});
