import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { STSClient } from '@aws-sdk/client-sts';
import { App } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentStack, buildApp, DevStack, ProductionStack } from '../../examples/production-app/main';
import { APPROVAL_STATES } from '../../lib/approval-gate/private/approval-workflow';
import { canonicalRequest, requestDigest } from '../../lib/approval-gate/runtime/approval-digest';
import { createCollector } from '../../lib/approval-gate/runtime/collect';
import { effectivePolicies, exportsOf, logicalIdOf } from '../support/effective-policies';
import { decideWithSession, LocalStsEndpoint } from '../support/local-sts-endpoint';
import { decide } from '../support/simulate';
import { Template, TemplateResolver } from '../support/template-resolver';
import { cdkInitContext, weakReferencesAsExports } from '../verify/cdk-init-context';
import { environmentOf, SynthesizedGate, sessionOf } from './gate-fixture';
import { LocalAws, startLocalAws } from './local-aws';
import { WorkflowHarness } from './workflow-harness';

describe('the example app with approval gates', () => {
  let agentTemplate: Template;
  let imports: Record<string, unknown>;
  let agentRoleId: string;
  beforeAll(() => {
    // GIVEN the example app, whose agent stack adds the gates (addApprovalGates)
    const app = new App();
    const env = { account: '123456789012', region: 'us-east-1' };
    const production = new ProductionStack(app, 'Production', { env });
    const dev = new DevStack(app, 'Dev', { env });
    const agentStack = new AgentStack(app, 'Agent', { production, dev, env });
    const assembly = app.synth();
    agentTemplate = assembly.getStackByName('Agent').template;
    imports = exportsOf(assembly.stacks.map((s) => s.template));
    agentRoleId = agentStack.getLogicalId(agentStack.agent.node.defaultChild as iam.CfnRole);
  });

  test('the agent can request, but cannot delete the production database or update the production stack itself', async () => {
    const agent = effectivePolicies(agentTemplate, agentRoleId, imports);
    const resolver = new TemplateResolver(agentTemplate, imports);
    // The workflow's physical name, as its template sets it (the agent's grant names it, not a reference to it)
    const workflow = agentTemplate.Resources[logicalIdOf(agentTemplate, 'AWS::StepFunctions::StateMachine', 'ProductionApprovals')];
    const sm = `arn:aws:states:us-east-1:123456789012:stateMachine:${resolver.resolve(workflow.Properties.StateMachineName)}`;
    const executor = effectivePolicies(agentTemplate, logicalIdOf(agentTemplate, 'AWS::IAM::Role', 'ProductionApprovalsExecutorRole'), imports);
    const db = executor.identityPolicies.flatMap((p) => p.policy.Statement).find((s: any) => s.Action === 'rds:DeleteDBInstance').Resource;
    expect(db).toMatch(/^arn:aws:rds:us-east-1:123456789012:db:/);
    const stack = 'arn:aws:cloudformation:us-east-1:123456789012:stack/Production/0a1b2c3d-0000-11ef-8000-0a1b2c3d4e5f';
    await expect(decide(agent, { action: 'states:StartExecution', resource: sm })).resolves.toBe('Allowed');
    await expect(decide(agent, { action: 'rds:DeleteDBInstance', resource: db, tags: { environment: 'production' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decide(agent, { action: 'cloudformation:UpdateStack', resource: stack, tags: { environment: 'production' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decide(agent, { action: 'states:SendTaskSuccess', resource: '*' })).resolves.toBe('ExplicitlyDenied');
    await expect(decide(executor, { action: 'rds:DeleteDBInstance', resource: db })).resolves.toBe('Allowed');
    await expect(decide(executor, { action: 'cloudformation:UpdateStack', resource: stack })).resolves.toBe('Allowed');
    await expect(decide(executor, { action: 'cloudformation:UpdateStack', resource: stack.replace('/Production/', '/Dev/') })).resolves.toBe(
      'ImplicitlyDenied',
    );
  });
});

describe('the example app: an ops agent fails over the production database through the gate, in credentials mode, start to finish', () => {
  let aws: LocalAws;
  let sts: LocalStsEndpoint;
  beforeAll(async () => {
    aws = await startLocalAws();
    sts = await LocalStsEndpoint.start();
  });
  afterAll(async () => {
    await sts.stop();
    await aws.close();
  });

  test('request, approval, one collection, the failover allowed on the production database only, the ledger closed', async () => {
    // GIVEN the example app with the failover runbook, synthesized with the flags of a fresh `cdk init` app
    const app = buildApp(new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'failover-')), context: cdkInitContext() }), { failover: true });
    const assembly = app.synth();
    const byStack = weakReferencesAsExports(Object.fromEntries(assembly.stacks.map((s) => [s.stackName, s.template as Template])));
    const imports = exportsOf(Object.values(byStack));
    const template = byStack.Agent;
    const resolver = new TemplateResolver(template, imports);
    const id = (type: string, prefix: string) => logicalIdOf(template, type, prefix);
    const ids = {
      handler: id('AWS::Lambda::Function', 'ProductionApprovalsApprovalHandler'),
      notifier: id('AWS::Lambda::Function', 'ProductionApprovalsNotifier'),
      collector: id('AWS::Lambda::Function', 'ProductionApprovalsCollector'),
      credentialsRole: id('AWS::IAM::Role', 'ProductionApprovalsCredentialsRole'),
      agent: Object.entries<any>(template.Resources).find(
        ([, r]) => r.Type === 'AWS::IAM::Role' && (r.Properties.Tags ?? []).some((t: any) => t.Key === 'guardrails:agent'),
      )![0],
    };
    // the functions' environments as Lambda receives them (the production database's ARN is imported from its stack)
    const resolved = JSON.parse(JSON.stringify(template));
    for (const fn of [ids.handler, ids.notifier, ids.collector]) {
      const variables = resolved.Resources[fn].Properties.Environment.Variables;
      // the function URL the notifier names (APPROVAL_URL) is known only once deployed; the harness does not read it
      for (const name of Object.keys(variables).filter((n) => n !== 'APPROVAL_URL')) variables[name] = resolver.resolve(variables[name]);
    }
    const sm = template.Resources[id('AWS::StepFunctions::StateMachine', 'ProductionApprovalsWorkflow')];
    const definition = JSON.parse(resolver.resolve(sm.Properties.DefinitionString));
    await aws.createLedger(definition.States[APPROVAL_STATES.recordRequest].Parameters.TableName);
    const harness = new WorkflowHarness(aws, { template: resolved, ids, definition } as unknown as SynthesizedGate);
    const env = environmentOf(resolved, ids.collector);
    sts.allow(env.CREDENTIALS_ROLE_ARN, 'ASIACOLLECTOR');
    const production = assembly.getStackByName('Production').template as Template;
    const dbName = new TemplateResolver(production).resolve({ Ref: logicalIdOf(production, 'AWS::RDS::DBInstance', 'Orders') });
    const db = `arn:aws:rds:us-east-1:123456789012:db:${dbName}`;
    const agentSession = sessionOf(resolver.resolve({ 'Fn::GetAtt': [ids.agent, 'Arn'] }), 'ops-assistant-7f3a');
    const failover = {
      operation: 'rds:RebootDBInstance',
      resource: db,
      parameters: { DBInstanceIdentifier: dbName, ForceFailover: true },
      reason: 'the primary in us-east-1a is degraded; fail over to the standby',
      sourceIdentity: 'ops-assistant-7f3a',
    };

    // WHEN the agent requests the failover, and the workflow is held inside its collection window
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    let close!: () => void;
    const closed = new Promise<void>((r) => (close = r));
    harness.waitTimeOverrides[APPROVAL_STATES.awaitCollection] = 0;
    harness.before[APPROVAL_STATES.closeCollection] = async () => {
      opened();
      await closed;
    };
    const run = harness.start(failover);
    await run.waiting;
    // the agent cannot approve its own request
    expect((await harness.call(agentSession, 'POST', `/requests/${run.requestId}/approve`, { digest: 'x' })).statusCode).toBe(403);
    // the security lead approves exactly this request
    const digest = requestDigest(canonicalRequest(failover.operation, failover.resource, failover.parameters));
    const lead = sessionOf(`arn:aws:iam::123456789012:role/security-lead`, 'alice');
    expect((await harness.call(lead, 'POST', `/requests/${run.requestId}/approve`, { digest })).statusCode).toBe(200);
    await open;
    // the agent collects, once
    const collect = createCollector({
      dynamodb: aws.dynamodb,
      tableName: env.LEDGER_TABLE,
      sts: new STSClient({ region: 'us-east-1', endpoint: sts.url, credentials: { accessKeyId: 'ASIACOLLECTOR', secretAccessKey: 'x' } }),
      credentialsRoleArn: env.CREDENTIALS_ROLE_ARN,
      durationSeconds: Number(env.CREDENTIALS_DURATION_SECONDS),
      collectWithinSeconds: Number(env.COLLECT_WITHIN_SECONDS),
      operations: JSON.parse(env.CREDENTIAL_OPERATIONS),
    });
    const event = {
      rawPath: `/requests/${run.requestId}/collect`,
      requestContext: { http: { method: 'POST' }, authorizer: { iam: { userArn: agentSession } } },
    };
    const collected = await collect(event);
    expect(collected.statusCode).toBe(200);
    expect((await collect(event)).statusCode).toBe(409);
    expect(sts.issued).toHaveLength(1);
    const [session] = sts.issued;
    expect([session.durationSeconds, session.sourceIdentity, session.tags['guardrails:approval-request']]).toEqual([
      900,
      `approval-${run.requestId}`,
      run.requestId,
    ]);

    // THEN the session may run the runbook (fail over, then watch) on the production database, and nothing else
    const role = effectivePolicies(template, ids.credentialsRole, imports);
    await expect(decideWithSession(role, session.policy, 'rds:RebootDBInstance', db)).resolves.toBe('Allowed');
    await expect(decideWithSession(role, session.policy, 'rds:DescribeDBInstances', db)).resolves.toBe('Allowed');
    for (const action of ['rds:DeleteDBInstance', 'rds:ModifyDBInstance', 'rds:StopDBInstance']) {
      await expect(decideWithSession(role, session.policy, action, db)).resolves.not.toBe('Allowed');
    }
    await expect(decideWithSession(role, session.policy, 'rds:RebootDBInstance', `${db}-replica`)).resolves.not.toBe('Allowed');
    // while the agent's own role still cannot fail over production, approval or not
    const agent = effectivePolicies(template, ids.agent, imports);
    await expect(decide(agent, { action: 'rds:RebootDBInstance', resource: db, tags: { environment: 'production' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    // and the gate performed nothing itself; the window closes with the issue recorded
    close();
    await run.result;
    expect(harness.performed).toEqual([]);
    expect((await harness.ledger.getRequest(run.requestId))?.outcome).toBe('CREDENTIALS_ISSUED');
  });
});
