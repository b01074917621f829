/**
 * Expiry and break glass. Expiry of credentials-mode approvals is exercised end to end in
 * credentials.test.ts (refused at collection, closed as EXPIRED by the workflow); here: the window's
 * defaults as synthesized, and the break-glass path: the rule that sees an emergency role assumed
 * (a real CloudTrail event shape), the recorder against dynalite and the local SNS endpoint (faults
 * included), and the agent's inability to use the role, by simulation.
 */
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AgentRole } from '../../lib';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { ApprovalGate, Approver, GatedOperation } from '../../lib/approval-gate/approval-gate';
import { APPROVAL_STATES } from '../../lib/approval-gate/private/approval-workflow';
import { AssumeRoleEvent, BREAK_GLASS_REQUEST_ID, createBreakGlassRecorder } from '../../lib/approval-gate/runtime/break-glass';
import { effectivePolicies, logicalIdOf } from '../support/effective-policies';
import { matchesEventPattern } from '../support/event-pattern-matcher';
import { FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION, Template, TemplateResolver } from '../support/template-resolver';
import { environmentOf, PROD_DB, synthGate } from './gate-fixture';
import { LOCAL_CLIENT, LocalAws, startLocalAws } from './local-aws';

const BREAK_GLASS_ROLE = `arn:aws:iam::${ACCOUNT}:role/break-glass-admin`;
const CLUSTER = `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:orders`;

/** A CloudTrail `AssumeRole` event as EventBridge delivers it (CloudTrail user guide record fields). */
function assumeRoleEvent(id: string, roleArn = BREAK_GLASS_ROLE, sessionName = 'oncall-jane'): AssumeRoleEvent & Record<string, unknown> {
  return {
    'version': '0',
    'id': `evt-${id}`,
    'detail-type': 'AWS API Call via CloudTrail',
    'source': 'aws.sts',
    'account': ACCOUNT,
    'time': '2026-11-30T10:15:00Z',
    'region': REGION,
    'resources': [],
    'detail': {
      eventVersion: '1.08',
      userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/oncall/jane` },
      eventTime: '2026-11-30T10:15:00Z',
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      awsRegion: REGION,
      sourceIPAddress: '198.51.100.7',
      requestParameters: { roleArn, roleSessionName: sessionName, durationSeconds: 3600 },
      eventID: `0a1b2c3d-0000-4000-8000-${id.padStart(12, '0')}`,
      readOnly: false,
      eventType: 'AwsApiCall',
    },
  } as any;
}

function gateWithBreakGlass(admin = false) {
  const app = new App();
  const stack = new Stack(app, 'Ops', { env: { account: ACCOUNT, region: REGION } });
  const lead = new iam.Role(stack, 'Lead', { assumedBy: new iam.AccountRootPrincipal(), roleName: 'security-lead' });
  const agent = new AgentRole(stack, 'Agent', { agentName: 'ops', assumedBy: new iam.AccountRootPrincipal() });
  if (admin) agent.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
  const gate = new ApprovalGate(stack, 'Gate', {
    operations: [GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] })],
    approvers: [Approver.role(lead)],
    breakGlassRoles: [iam.Role.fromRoleName(stack, 'BreakGlass', 'break-glass-admin')],
  });
  gate.grantRequest(agent);
  const template = app.synth().getStackByName('Ops').template as Template;
  return { template, agent: effectivePolicies(template, stack.getLogicalId(agent.node.defaultChild as iam.CfnRole)) };
}

describe('approval expiry', () => {
  test('credentials-mode approvals are collectable for 1 hour by default, and the execution lasts long enough to close the window', () => {
    const s = synthGate({ operations: [GatedOperation.credentials({ service: 'rds', action: 'FailoverDBCluster', resources: [CLUSTER] })] });
    expect(s.definition.States[APPROVAL_STATES.awaitCollection].Seconds).toBe(3600);
    expect(environmentOf(s.template, logicalIdOf(s.template, 'AWS::Lambda::Function', 'GateCollector')).COLLECT_WITHIN_SECONDS).toBe('3600');
    // the 4-hour wait, one hour to act and record, and the collection window
    expect(s.definition.TimeoutSeconds).toBe(4 * 3600 + 3600 + 3600);
  });
});

describe('break glass: the rule and the agent', () => {
  test('the rule sees the emergency role assumed, and no other role', () => {
    const { template } = gateWithBreakGlass();
    const resolver = new TemplateResolver(template);
    const rule = template.Resources[logicalIdOf(template, 'AWS::Events::Rule', 'GateBreakGlassRule')];
    const pattern = resolver.resolve(rule.Properties.EventPattern);
    expect(matchesEventPattern(pattern, assumeRoleEvent('1'))).toBe(true);
    expect(matchesEventPattern(pattern, assumeRoleEvent('2', `arn:aws:iam::${ACCOUNT}:role/developer`))).toBe(false);
    const recorder = logicalIdOf(template, 'AWS::Lambda::Function', 'GateBreakGlassRecorder');
    expect(rule.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [recorder, 'Arn'] });
    expect(rule.Properties.Targets[0].DeadLetterConfig.Arn).toEqual({
      'Fn::GetAtt': [logicalIdOf(template, 'AWS::SQS::Queue', 'GateReconciliationDeadLetters'), 'Arn'],
    });
  });

  test('reports no cdk-nag or library finding on the break-glass parts', () => {
    const app = new App();
    const stack = new Stack(app, 'Ops', { env: { account: ACCOUNT, region: REGION } });
    const lead = new iam.Role(stack, 'Lead', { assumedBy: new iam.AccountRootPrincipal(), roleName: 'security-lead' });
    const gate = new ApprovalGate(stack, 'Gate', {
      operations: [GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] })],
      approvers: [Approver.role(lead)],
      breakGlassRoles: [iam.Role.fromRoleName(stack, 'BreakGlass', 'break-glass-admin')],
    });
    app.synth();
    const found: string[] = [];
    for (const pack of [new AwsSolutionsChecks(app, { verbose: true }), new AgentGuardrailsChecks(app)]) {
      for (const v of pack.validateScope(app).violations) {
        for (const r of v.violatingResources) {
          if ((r.constructPath ?? '').startsWith(`${gate.node.path}/BreakGlass`)) found.push(`${v.ruleName} at ${r.constructPath}`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  test('fails when an agent granted to request assumes or passes the emergency role, even with AdministratorAccess', async () => {
    const { agent } = gateWithBreakGlass(true);
    await expect(decide(agent, { action: 'sts:AssumeRole', resource: BREAK_GLASS_ROLE })).resolves.toBe('ExplicitlyDenied');
    await expect(decide(agent, { action: 'iam:PassRole', resource: BREAK_GLASS_ROLE })).resolves.toBe('ExplicitlyDenied');
  });
});

describe('break glass: the recorder (dynalite, local SNS, fault proxy with SDK retries on)', () => {
  const TABLE = 'break-glass-ledger';
  let aws: LocalAws;
  let proxy: FaultProxy;
  let dynamodb: DynamoDBClient;
  beforeAll(async () => {
    aws = await startLocalAws();
    await aws.createLedger(TABLE);
    proxy = await startFaultProxy(aws.endpoints.dynamodb);
    dynamodb = new DynamoDBClient({ ...LOCAL_CLIENT, endpoint: proxy.endpoint });
  });
  afterEach(() => {
    proxy.rule = undefined;
  });
  afterAll(async () => {
    dynamodb.destroy();
    await proxy.close();
    await aws.close();
  });

  const records = async () =>
    (
      await aws.dynamodb.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'requestId = :id',
          ExpressionAttributeValues: { ':id': { S: BREAK_GLASS_REQUEST_ID } },
          ConsistentRead: true,
        }),
      )
    ).Items ?? [];

  test('records each use once and alerts the approvers once, however often EventBridge delivers it', async () => {
    const record = createBreakGlassRecorder({ dynamodb, tableName: TABLE, sns: aws.sns, topicArn: 'arn:aws:sns:us-east-1:123456789012:approvals' });
    const before = { records: (await records()).length, published: aws.published.length };
    await expect(record(assumeRoleEvent('10'))).resolves.toBe('recorded');
    await expect(record(assumeRoleEvent('10'))).resolves.toBe('already-recorded');
    const now = await records();
    expect(now.length).toBe(before.records + 1);
    const item = now.find((i) => i.eventId?.S?.endsWith('000000000010'))!;
    expect([item.roleArn.S, item.assumedBy.S, item.sessionName.S, item.result.S]).toEqual([
      BREAK_GLASS_ROLE,
      `arn:aws:sts::${ACCOUNT}:assumed-role/oncall/jane`,
      'oncall-jane',
      'assumed',
    ]);
    expect(aws.published.length).toBe(before.published + 1);
    expect(aws.published[aws.published.length - 1].Message).toContain(`Role:            ${BREAK_GLASS_ROLE}`);
  });

  test('a ledger write whose answer was lost is recorded once and alerted once', async () => {
    const record = createBreakGlassRecorder({ dynamodb, tableName: TABLE, sns: aws.sns, topicArn: 'arn:aws:sns:us-east-1:123456789012:approvals' });
    let dropped = 0;
    proxy.rule = (r) => (r.operation.endsWith('PutItem') && dropped++ === 0 ? { kind: 'drop-response' } : undefined);
    const before = { records: (await records()).length, published: aws.published.length };
    await record(assumeRoleEvent('11'));
    expect(proxy.injected.map((i) => i.fault)).toContain('drop-response');
    expect((await records()).length).toBe(before.records + 1);
    expect(aws.published.length).toBe(before.published + 1);
  });

  test('an alert that could not be published fails the delivery; the redelivery alerts, and the use is still recorded once', async () => {
    const unreachable = new SNSClient({ ...LOCAL_CLIENT, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const failing = createBreakGlassRecorder({
      dynamodb,
      tableName: TABLE,
      sns: unreachable,
      topicArn: 'arn:aws:sns:us-east-1:123456789012:approvals',
    });
    const before = { records: (await records()).length, published: aws.published.length };
    await expect(failing(assumeRoleEvent('12'))).rejects.toThrow();
    const record = createBreakGlassRecorder({ dynamodb, tableName: TABLE, sns: aws.sns, topicArn: 'arn:aws:sns:us-east-1:123456789012:approvals' });
    await expect(record(assumeRoleEvent('12'))).resolves.toBe('already-recorded');
    expect((await records()).length).toBe(before.records + 1);
    expect(aws.published.length).toBe(before.published + 1);
    const key = (await records()).find((i) => i.eventId?.S?.endsWith('000000000012'))!;
    const item = await aws.dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { requestId: key.requestId, record: key.record } }));
    expect(item.Item?.alertedAt?.S).toBeDefined();
  });

  test('a session name with line breaks cannot forge lines of the alert', async () => {
    const record = createBreakGlassRecorder({ dynamodb, tableName: TABLE, sns: aws.sns, topicArn: 'arn:aws:sns:us-east-1:123456789012:approvals' });
    await record(assumeRoleEvent('13', BREAK_GLASS_ROLE, 'x\nRole:            arn:aws:iam::123456789012:role/harmless'));
    const message = aws.published[aws.published.length - 1].Message;
    expect(message.split('\n').filter((l) => l.startsWith('Role:'))).toEqual([`Role:            ${BREAK_GLASS_ROLE}`]);
  });

  test('fails when the event is not a CloudTrail AssumeRole event: nothing recorded, the delivery fails (then dead-letters and alarms)', async () => {
    const record = createBreakGlassRecorder({ dynamodb, tableName: TABLE, sns: aws.sns, topicArn: 'arn:aws:sns:us-east-1:123456789012:approvals' });
    const before = (await records()).length;
    await expect(record({ 'detail-type': 'Scheduled Event', 'detail': {} })).rejects.toThrow(/not a CloudTrail AssumeRole event/);
    expect((await records()).length).toBe(before);
  });
});
