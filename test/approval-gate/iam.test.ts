import { DESTRUCTIVE_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { wildcardRegex } from '../../lib/shared/iam-data';
import { effectivePolicies, logicalIdOf } from '../support/effective-policies';
import { matchesEventPattern } from '../support/event-pattern-matcher';
import { decide, decideOnSample } from '../support/simulate';
import { ACCOUNT, REGION, TemplateResolver } from '../support/template-resolver';
import { arnOf, PROD_DB, SynthesizedGate, synthGate } from './gate-fixture';

const COMPONENT = { 'guardrails:component': 'approval-gate' };
const PROD_STACK_ARN = 'arn:aws:cloudformation:us-east-1:123456789012:stack/Production/5b7c1e60-0000-11ef-9a1b-0a1b2c3d4e5f';

let plain: SynthesizedGate;
let admin: SynthesizedGate;
let smArn: string;
let execution: string;

beforeAll(() => {
  // GIVEN a gate, and an agent granted to request through it (once least-privileged, once also
  // holding AdministratorAccess, as a careless later grant would give it)
  plain = synthGate();
  admin = synthGate({}, { admin: true });
  // the workflow's ARN as AWS forms it: from its fixed name (StateMachineName), which the test resolver's Ref does not read
  smArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${plain.gate.stateMachineName}`;
  execution = smArn.replace(':stateMachine:', ':execution:') + ':req-1';
});

describe('an agent granted to request', () => {
  test('can start the gate and read its executions', async () => {
    for (const gate of [plain, admin]) {
      await expect(decide(gate.agentPolicies, { action: 'states:StartExecution', resource: smArn })).resolves.toBe('Allowed');
      await expect(decide(gate.agentPolicies, { action: 'states:DescribeExecution', resource: execution })).resolves.toBe('Allowed');
    }
  });

  test('is granted nothing else on Step Functions', async () => {
    await expect(
      decide(plain.agentPolicies, { action: 'states:StartExecution', resource: 'arn:aws:states:us-east-1:123456789012:stateMachine:other' }),
    ).resolves.toBe('ImplicitlyDenied');
    for (const action of ['states:ListExecutions', 'states:DescribeStateMachine', 'states:GetExecutionHistory']) {
      const resource = action === 'states:GetExecutionHistory' ? execution : smArn;
      await expect(decide(plain.agentPolicies, { action, resource })).resolves.not.toBe('Allowed');
    }
  });

  test.each([
    ['sends task success', 'states:SendTaskSuccess', '*'],
    ['sends task failure', 'states:SendTaskFailure', '*'],
    ['stops a pending request', 'states:StopExecution', 'execution'],
    ['redrives a failed request', 'states:RedriveExecution', 'execution'],
    ['rewrites the workflow', 'states:UpdateStateMachine', 'sm'],
    ['deletes the workflow', 'states:DeleteStateMachine', 'sm'],
    ['retags the workflow', 'states:TagResource', 'sm'],
    ['publishes a version of the workflow', 'states:PublishStateMachineVersion', 'sm'],
  ])('fails when the agent %s (%s), even with AdministratorAccess and a dev tag', async (_what, action, target) => {
    const resource = target === 'sm' ? smArn : target === 'execution' ? execution : '*';
    for (const gate of [plain, admin]) {
      await expect(decide(gate.agentPolicies, { action, resource, tags: { environment: 'dev' } })).resolves.not.toBe('Allowed');
    }
    await expect(decide(admin.agentPolicies, { action, resource, tags: { environment: 'dev' } })).resolves.toBe('ExplicitlyDenied');
  });

  test('fails when the agent invokes the approval handler or the notifier, by URL or directly', async () => {
    for (const id of [admin.ids.handler, admin.ids.notifier]) {
      const fn = arnOf(admin.template, id);
      for (const action of ['lambda:InvokeFunctionUrl', 'lambda:InvokeFunction', 'lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration']) {
        await expect(decide(admin.agentPolicies, { action, resource: fn, tags: COMPONENT })).resolves.toBe('ExplicitlyDenied');
        // the explicit deny of grantRequest holds even if the tag were gone
        await expect(decide(admin.agentPolicies, { action, resource: fn, tags: {} })).resolves.toBe('ExplicitlyDenied');
      }
    }
  });

  test('fails when the agent performs a gated operation directly, even on a resource tagged dev', async () => {
    for (const tags of [{}, { environment: 'production' }, { environment: 'dev' }] as Record<string, string>[]) {
      await expect(decide(admin.agentPolicies, { action: 'rds:DeleteDBInstance', resource: PROD_DB, tags })).resolves.toBe('ExplicitlyDenied');
      await expect(decide(admin.agentPolicies, { action: 'cloudformation:UpdateStack', resource: PROD_STACK_ARN, tags })).resolves.toBe(
        'ExplicitlyDenied',
      );
    }
  });

  test('fails when the agent writes or deletes ledger records, or deletes the ledger', async () => {
    const table = arnOf(admin.template, admin.ids.ledger);
    for (const action of [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteTable',
      'dynamodb:UpdateTable',
      'dynamodb:GetItem',
    ]) {
      await expect(decide(admin.agentPolicies, { action, resource: table, tags: COMPONENT })).resolves.toBe('ExplicitlyDenied');
    }
  });

  test('fails when the agent assumes or passes the executor or workflow role', async () => {
    for (const role of [arnOf(admin.template, admin.ids.executor), arnOf(admin.template, logicalIdOfRole(admin, 'GateWorkflowRole'))]) {
      await expect(decide(admin.agentPolicies, { action: 'sts:AssumeRole', resource: role, tags: COMPONENT })).resolves.toBe('ExplicitlyDenied');
      await expect(decide(admin.agentPolicies, { action: 'iam:PassRole', resource: role, tags: COMPONENT })).resolves.toBe('ExplicitlyDenied');
    }
  });
});

function logicalIdOfRole(gate: SynthesizedGate, prefix: string): string {
  return Object.keys(gate.template.Resources).find((id) => id.startsWith(prefix) && gate.template.Resources[id].Type === 'AWS::IAM::Role')!;
}

describe('an agent of the same app that was not granted to request', () => {
  test('fails when it starts, stops, rewrites or deletes the gate, even with AdministratorAccess', async () => {
    // GIVEN a second agent role in the app, with AdministratorAccess, never granted to request
    const { App, Stack } = await import('aws-cdk-lib');
    const iam = await import('aws-cdk-lib/aws-iam');
    const { AgentRole } = await import('../../lib');
    const { ApprovalGate, Approver } = await import('../../lib/approval-gate/approval-gate');
    const { defaultOperations } = await import('./gate-fixture');
    const app = new App();
    const gateStack = new Stack(app, 'GateStack', { env: { account: '123456789012', region: 'us-east-1' } });
    const otherStack = new Stack(app, 'OtherAgentStack', { env: { account: '123456789012', region: 'us-east-1' } });
    const lead = new iam.Role(gateStack, 'Lead', { assumedBy: new iam.AccountRootPrincipal() });
    const gate = new ApprovalGate(gateStack, 'Gate', { operations: defaultOperations(), approvers: [Approver.role(lead)] });
    const other = new AgentRole(otherStack, 'Other', { agentName: 'other-agent', assumedBy: new iam.AccountRootPrincipal() });
    other.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
    const template = app.synth().getStackByName('OtherAgentStack').template;
    const policies = effectivePolicies(template, otherStack.getLogicalId(other.node.defaultChild as any));
    const sm = `arn:aws:states:us-east-1:123456789012:stateMachine:${gate.stateMachineName}`;
    const exec = `arn:aws:states:us-east-1:123456789012:execution:${gate.stateMachineName}:req-1`;
    // THEN every action on the workflow is denied to it (no cross-stack reference was needed)
    for (const [action, resource] of [
      ['states:StartExecution', sm],
      ['states:UpdateStateMachine', sm],
      ['states:DeleteStateMachine', sm],
      ['states:StopExecution', exec],
      ['states:RedriveExecution', exec],
      ['states:DescribeExecution', exec],
    ]) {
      await expect(decide(policies, { action, resource, tags: { environment: 'dev' } })).resolves.toBe('ExplicitlyDenied');
    }
  });
});

describe('the executor role', () => {
  const gated = [
    { action: 'rds:DeleteDBInstance', resources: [PROD_DB] },
    { action: 'cloudformation:UpdateStack', resources: ['arn:aws:cloudformation:us-east-1:123456789012:stack/Production/*'] },
  ];

  test('can perform the gated operations on the gated resources', async () => {
    await expect(decide(plain.executorPolicies, { action: 'rds:DeleteDBInstance', resource: PROD_DB })).resolves.toBe('Allowed');
    await expect(decide(plain.executorPolicies, { action: 'cloudformation:UpdateStack', resource: PROD_STACK_ARN })).resolves.toBe('Allowed');
  });

  test('fails when it performs a gated operation on another resource', async () => {
    await expect(
      decide(plain.executorPolicies, { action: 'rds:DeleteDBInstance', resource: 'arn:aws:rds:us-east-1:123456789012:db:billing' }),
    ).resolves.toBe('ImplicitlyDenied');
    await expect(
      decide(plain.executorPolicies, {
        action: 'cloudformation:UpdateStack',
        resource: 'arn:aws:cloudformation:us-east-1:123456789012:stack/Billing/1',
      }),
    ).resolves.toBe('ImplicitlyDenied');
  });

  test('can do nothing else: no action of the destructive catalog is allowed on any sample resource', async () => {
    const allowed: string[] = [];
    for (const [action] of DESTRUCTIVE_CATALOG) {
      if ((await decideOnSample(plain.executorPolicies, { action })) === 'Allowed') allowed.push(action);
    }
    expect(allowed).toEqual([]);
    for (const [action, resource] of [
      ['rds:ModifyDBInstance', PROD_DB],
      ['rds:DeleteDBCluster', 'arn:aws:rds:us-east-1:123456789012:cluster:orders'],
      ['cloudformation:DeleteStack', PROD_STACK_ARN],
      ['cloudformation:ExecuteChangeSet', PROD_STACK_ARN],
      ['iam:PassRole', 'arn:aws:iam::123456789012:role/admin'],
      ['sts:AssumeRole', 'arn:aws:iam::123456789012:role/admin'],
      ['s3:GetObject', 'arn:aws:s3:::prod-data/key'],
      ['dynamodb:Scan', 'arn:aws:dynamodb:us-east-1:123456789012:table/orders'],
    ]) {
      await expect(decide(plain.executorPolicies, { action, resource })).resolves.toBe('ImplicitlyDenied');
    }
  });

  test('its policies grant exactly the gated operations and resources', () => {
    const statements = plain.executorPolicies.identityPolicies.flatMap((p) => p.policy.Statement);
    const granted = statements.filter((s: any) => s.Effect === 'Allow').map((s: any) => ({ action: s.Action, resources: [s.Resource].flat() }));
    expect(granted).toEqual(gated);
    expect(gated.every((g) => g.resources.every((r) => !wildcardRegex(r).test('*') && r !== '*'))).toBe(true);
  });

  test('only the workflow role can assume it', () => {
    const trust = plain.executorPolicies.trustPolicy.Statement;
    expect(trust).toEqual([
      { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: arnOf(plain.template, logicalIdOfRole(plain, 'GateWorkflowRole')) } },
    ]);
  });
});

describe('the other roles of the gate', () => {
  test('the workflow role cannot perform the gated operation itself: only the executor can', async () => {
    const workflow = effectivePolicies(plain.template, logicalIdOfRole(plain, 'GateWorkflowRole'));
    await expect(decide(workflow, { action: 'rds:DeleteDBInstance', resource: PROD_DB })).resolves.toBe('ImplicitlyDenied');
    await expect(decide(workflow, { action: 'sts:AssumeRole', resource: arnOf(plain.template, plain.ids.executor) })).resolves.toBe('Allowed');
  });

  test('the approval handler appends to the ledger but cannot delete from it', async () => {
    const handlerRole = (plain.template.Resources[plain.ids.handler].Properties.Role['Fn::GetAtt'] as string[])[0];
    // AWSLambdaBasicExecutionRole (CloudWatch Logs writes only) has no document in the test
    // support; it grants nothing on DynamoDB or RDS, so the role is evaluated without it.
    const template = JSON.parse(JSON.stringify(plain.template));
    delete template.Resources[handlerRole].Properties.ManagedPolicyArns;
    const handler = effectivePolicies(template, handlerRole);
    const table = arnOf(plain.template, plain.ids.ledger);
    await expect(decide(handler, { action: 'dynamodb:UpdateItem', resource: table })).resolves.toBe('Allowed');
    for (const action of ['dynamodb:DeleteItem', 'dynamodb:DeleteTable', 'dynamodb:BatchWriteItem']) {
      await expect(decide(handler, { action, resource: table })).resolves.toBe('ImplicitlyDenied');
    }
    await expect(decide(handler, { action: 'rds:DeleteDBInstance', resource: PROD_DB })).resolves.toBe('ImplicitlyDenied');
  });
});

describe('the gate resources', () => {
  test('every part but the workflow is tagged as a guardrail component; the workflow is not, so that agents can start it', () => {
    const tagged = (id: string) => {
      const tags = plain.template.Resources[id].Properties?.Tags;
      const list = Array.isArray(tags) ? tags : tags ? Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) : [];
      return list.some((t: any) => t.Key === 'guardrails:component' && t.Value === 'approval-gate');
    };
    for (const id of [plain.ids.handler, plain.ids.notifier, plain.ids.executor, logicalIdOfRole(plain, 'GateWorkflowRole')]) {
      expect([id, tagged(id)]).toEqual([id, true]);
    }
    const topic = Object.keys(plain.template.Resources).find((id) => plain.template.Resources[id].Type === 'AWS::SNS::Topic')!;
    expect(tagged(topic)).toBe(true);
    expect(tagged(plain.ids.stateMachine)).toBe(false);
  });

  test('the ledger keeps point-in-time recovery and deletion protection, tagged as a guardrail component', () => {
    const ledger = new TemplateResolver(plain.template).resolve(plain.template.Resources[plain.ids.ledger].Properties);
    expect(ledger.DeletionProtectionEnabled).toBeUndefined();
    const replica = ledger.Replicas[0];
    expect(replica.DeletionProtectionEnabled).toBe(true);
    expect(replica.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled).toBe(true);
    expect(replica.Tags).toEqual(expect.arrayContaining([{ Key: 'guardrails:component', Value: 'approval-gate' }]));
    expect((plain.template.Resources[plain.ids.ledger] as any).DeletionPolicy).toBe('Retain');
  });
});

describe('reconciliation (issue 11, class 3): final states and the sweep reach the approval handler', () => {
  const rulesOf = (gate: SynthesizedGate) =>
    Object.entries<any>(gate.template.Resources).filter(([, r]) => r.Type === 'AWS::Events::Rule') as Array<[string, any]>;
  /** A real Step Functions status-change event (EventBridge user guide sample), for this gate's workflow. */
  const statusChange = (status: string, stateMachineArn = smArn) => ({
    'version': '0',
    'id': '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    'source': 'aws.states',
    'account': ACCOUNT,
    'time': '2026-11-30T10:00:00Z',
    'region': REGION,
    'resources': [`${stateMachineArn.replace(':stateMachine:', ':execution:')}:req-1`],
    'detail': {
      executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:req-1`,
      stateMachineArn,
      name: 'req-1',
      status,
      startDate: 1764496800000,
      stopDate: 1764496860000,
      input: '{}',
      output: null,
    },
  });

  test('the status-change rule matches the final states of this workflow only, and targets the handler with retries and a dead-letter queue', () => {
    const resolver = new TemplateResolver(plain.template);
    const [, rule] = rulesOf(plain).find(([, r]) => r.Properties.EventPattern)!;
    const pattern = resolver.resolve(rule.Properties.EventPattern);
    for (const status of ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']) {
      expect(matchesEventPattern(pattern, statusChange(status))).toBe(true);
    }
    expect(matchesEventPattern(pattern, statusChange('RUNNING'))).toBe(false);
    expect(matchesEventPattern(pattern, statusChange('FAILED', smArn.replace(plain.gate.stateMachineName, 'another-workflow')))).toBe(false);
    const [target] = rule.Properties.Targets;
    expect(resolver.resolve(target.Arn)).toBe(arnOf(plain.template, plain.ids.handler));
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    const queueId = logicalIdOf(plain.template, 'AWS::SQS::Queue', 'GateReconciliationDeadLetters');
    expect(resolver.resolve(target.DeadLetterConfig.Arn)).toBe(arnOf(plain.template, queueId));
  });

  test('the dead-letter queue is encrypted, refuses plain HTTP, and every dead letter raises an alarm', () => {
    const queueId = logicalIdOf(plain.template, 'AWS::SQS::Queue', 'GateReconciliationDeadLetters');
    expect(plain.template.Resources[queueId].Properties.SqsManagedSseEnabled).toBe(true);
    const queuePolicy = Object.values<any>(plain.template.Resources).find(
      (r) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties.Queues).includes(queueId),
    );
    expect(queuePolicy.Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
    );
    const alarm = plain.template.Resources[logicalIdOf(plain.template, 'AWS::CloudWatch::Alarm', 'GateReconciliationDeadLetterAlarm')];
    expect(alarm.Properties).toEqual(
      expect.objectContaining({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' }),
    );
    expect(alarm.Properties.Dimensions).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
  });

  test('a schedule every 5 minutes sends the handler the Scheduled Event (the sweep)', () => {
    const resolver = new TemplateResolver(plain.template);
    const [, rule] = rulesOf(plain).find(([, r]) => r.Properties.ScheduleExpression)!;
    expect(rule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    expect(resolver.resolve(rule.Properties.Targets[0].Arn)).toBe(arnOf(plain.template, plain.ids.handler));
    // EventBridge may invoke the handler for both rules, and only these (the approvers' permissions are for the URL)
    const fromEvents = Object.values<any>(plain.template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Permission' && r.Properties.Principal === 'events.amazonaws.com',
    );
    expect(fromEvents.map((p) => p.Properties.SourceArn['Fn::GetAtt'][0]).sort()).toEqual(
      rulesOf(plain)
        .map(([id]) => id)
        .sort(),
    );
  });

  test("the handler may describe this workflow's executions, and no other workflow's", async () => {
    const handlerRole = plain.template.Resources[plain.ids.handler].Properties.Role['Fn::GetAtt'][0];
    const policies = effectivePolicies(plain.template, handlerRole);
    await expect(decide(policies, { action: 'states:DescribeExecution', resource: execution })).resolves.toBe('Allowed');
    const other = `arn:aws:states:${REGION}:${ACCOUNT}:execution:another-workflow:req-1`;
    await expect(decide(policies, { action: 'states:DescribeExecution', resource: other })).resolves.toBe('ImplicitlyDenied');
  });

  test('fails when the agent disables or deletes the rules or purges the dead letters, even with AdministratorAccess', async () => {
    const resolver = new TemplateResolver(admin.template);
    const COMPONENT_TAG = { 'guardrails:component': 'approval-gate' };
    for (const [id] of rulesOf(admin)) {
      const rule = resolver.resolve({ 'Fn::GetAtt': [id, 'Arn'] });
      for (const action of ['events:DisableRule', 'events:DeleteRule', 'events:RemoveTargets', 'events:PutTargets']) {
        await expect(decide(admin.agentPolicies, { action, resource: rule, tags: COMPONENT_TAG })).resolves.toBe('ExplicitlyDenied');
      }
    }
    const queue = arnOf(admin.template, logicalIdOf(admin.template, 'AWS::SQS::Queue', 'GateReconciliationDeadLetters'));
    await expect(decide(admin.agentPolicies, { action: 'sqs:PurgeQueue', resource: queue, tags: COMPONENT_TAG })).resolves.toBe('ExplicitlyDenied');
  });
});
