/**
 * A tripped agent's approval-bound sessions are revoked by its circuit breaker (security review
 * MEDIUM-4): the sessions an agent collected of an approval gate's credentials role carry the
 * session tag `guardrails:requester`; a trip puts a deny-all on that tag value on the credentials
 * role, a reset removes it right before it lifts the agent's own quarantine.
 *
 * Real parts: the synthesized stack (agent, gate in credentials mode, breaker), its policies
 * evaluated with the IAM simulator, the real processor and reset with AWS SDK clients (default
 * retries) against dynalite and the local IAM / SNS endpoint, a fault proxy in front of IAM.
 */
import { App, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { AgentRole, ApprovalGate, Approver, CircuitBreaker, ExecutionMode, GatedOperation } from '../../lib';
import { REQUESTER_TAG as GATE_REQUESTER_TAG, requesterTagValue as gateRequesterTagValue } from '../../lib/approval-gate/runtime/collect';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { BreakerConfig, parseBreakerConfig } from '../../lib/circuit-breaker/runtime/breaker-config';
import {
  QUARANTINE_POLICY_NAME,
  REQUESTER_TAG,
  credentialsQuarantinePolicyName,
  isQuarantine,
  requesterTagValue,
} from '../../lib/circuit-breaker/runtime/breaker-quarantine';
import { BreakerProcessor } from '../../lib/circuit-breaker/runtime/processor';
import { ResetClients, resetBreaker } from '../../lib/circuit-breaker/runtime/reset';
import { BreakerStore } from '../../lib/circuit-breaker/runtime/store';
import { EffectivePolicies, effectivePolicies, logicalIdOf } from '../support/effective-policies';
import { FaultProxy, FaultRule, startFaultProxy } from '../support/fault-proxy';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION, Template, TemplateResolver } from '../support/template-resolver';
import { LocalServers, cloudTrailEvent, createTable, credentials, itemsOf, startServers } from './breaker-fixtures';

const CLUSTER = `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:orders`;
const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/breaker-operators/alice';
const NOW = new Date('2026-11-24T10:01:30Z');

interface Synthesized {
  readonly template: Template;
  readonly config: BreakerConfig;
  readonly agentRoleName: string;
  readonly credentialsRoleName: string;
  readonly credentialsRoleArn: string;
  readonly credentialsPolicies: EffectivePolicies;
  readonly handlerPolicies: EffectivePolicies;
  readonly operatorPolicies: EffectivePolicies;
  readonly collectorRoleArn: string;
}

/** GIVEN an agent that may request a cluster failover in credentials mode, and a breaker that knows the gate's credentials role. */
function synthesize(): Synthesized {
  const app = new App();
  const stack = new Stack(app, 'Ops', { env: { account: ACCOUNT, region: REGION } });
  const agent = new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal() });
  const lead = new iam.Role(stack, 'Lead', { assumedBy: new iam.AccountRootPrincipal() });
  const gate = new ApprovalGate(stack, 'Gate', {
    operations: [GatedOperation.of({ service: 'rds', action: 'FailoverDBCluster', resources: [CLUSTER], mode: ExecutionMode.CREDENTIALS })],
    approvers: [Approver.role(lead)],
  });
  gate.grantRequest(agent);
  const breaker = new CircuitBreaker(stack, 'Breaker', { agents: [{ agent }], credentialsRoles: [gate.credentialsRole!] });
  const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
  breaker.grantOperate(operator);
  const template = app.synth().getStackByName('Ops').template as Template;
  const resolver = new TemplateResolver(template);
  const handlerId = logicalIdOf(template, 'AWS::Lambda::Function', 'BreakerHandler');
  const config = parseBreakerConfig(resolver.resolve(template.Resources[handlerId].Properties.Environment.Variables.BREAKER_CONFIG));
  const credentialsRoleId = logicalIdOf(template, 'AWS::IAM::Role', 'GateCredentialsRole');
  const roleArn = (id: string): string => resolver.resolve({ 'Fn::GetAtt': [id, 'Arn'] });
  const credentialsRoleArn = roleArn(credentialsRoleId);
  return {
    template,
    config,
    agentRoleName: config.agents[0].roleName,
    credentialsRoleName: credentialsRoleArn.split('/').pop()!,
    credentialsRoleArn,
    credentialsPolicies: effectivePolicies(template, credentialsRoleId),
    handlerPolicies: effectivePolicies(template, logicalIdOf(template, 'AWS::IAM::Role', 'BreakerHandlerServiceRole')),
    operatorPolicies: effectivePolicies(template, logicalIdOf(template, 'AWS::IAM::Role', 'Operator')),
    collectorRoleArn: roleArn(logicalIdOf(template, 'AWS::IAM::Role', 'GateCollectorServiceRole')),
  };
}

let synth: Synthesized;
let servers: LocalServers;
let iamProxy: FaultProxy;
/** The breaker's clients with IAM behind the fault proxy (default SDK retries). */
let faulty: ResetClients;

beforeAll(async () => {
  synth = synthesize();
  servers = await startServers();
  iamProxy = await startFaultProxy(servers.iam.url);
  faulty = {
    dynamodb: servers.clients.dynamodb,
    iam: new IAMClient({ endpoint: iamProxy.endpoint, region: REGION, credentials }),
    sns: new SNSClient({ endpoint: servers.iam.url, region: REGION, credentials }),
  };
});
afterEach(() => {
  iamProxy.rule = undefined;
});
afterAll(async () => {
  faulty.iam.destroy();
  faulty.sns.destroy();
  await iamProxy.close();
  await servers.stop();
});

let counter = 0;
/**
 * A fresh table and fresh local roles named like the synthesized ones (one suffix per test, so tests
 * do not share state), and the synthesized configuration pointing at them.
 */
async function world() {
  const suffix = `-${++counter}`;
  const agentRoleName = `${synth.agentRoleName}${suffix}`.slice(-64);
  const credentialsRoleName = `${synth.credentialsRoleName}${suffix}`.slice(-64);
  const otherCredentialsRoleName = `other-gate-credentials${suffix}`;
  const roleArn = servers.iam.addRole(agentRoleName);
  servers.iam.addRole(credentialsRoleName);
  servers.iam.addRole(otherCredentialsRoleName);
  const tableName = await createTable(servers.clients.dynamodb);
  const agent = { ...synth.config.agents[0], agentName: `ops-assistant${suffix}`, roleArn, roleName: agentRoleName, maxDestructiveCalls: 1 };
  const credentialsRoleNames = [credentialsRoleName, otherCredentialsRoleName];
  const config: BreakerConfig = { ...synth.config, agents: [agent], tableName, credentialsRoleNames };
  return { agent, config, tableName, credentialsRoleNames };
}

type World = Awaited<ReturnType<typeof world>>;

/** Trips the agent: one more destructive call than its threshold of 1. */
async function trip(w: World, processor: BreakerProcessor): Promise<void> {
  await processor.process(cloudTrailEvent({ roleArn: w.agent.roleArn }));
  await processor.process(cloudTrailEvent({ roleArn: w.agent.roleArn }));
}

function credentialsQuarantineOn(roleName: string, agentRoleName: string): unknown {
  return servers.iam.inlinePolicies(roleName)[credentialsQuarantinePolicyName(agentRoleName)];
}

function reset(w: World, clients: ResetClients, credentialsRoleNames = w.credentialsRoleNames) {
  return resetBreaker(
    {
      agentName: w.agent.agentName,
      roleName: w.agent.roleName,
      tableName: w.tableName,
      resetBy: OPERATOR,
      resetId: `reset-${++counter}`,
      at: new Date(NOW.getTime() + 120_000),
      credentialsRoleNames,
    },
    clients,
  );
}

/** A request made with a session of the credentials role that the gate's collector tagged for `agentRoleName`. */
function collectedSession(agentRoleName: string) {
  return {
    action: 'rds:FailoverDBCluster',
    resource: CLUSTER,
    principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${synth.credentialsRoleName}/approval-req-1`,
    context: { [`aws:PrincipalTag/${GATE_REQUESTER_TAG}`]: gateRequesterTagValue(agentRoleName) },
  };
}

describe('the synthesized breaker knows the credentials role', () => {
  test('fails when the runtime tag differs from the one the gate collector writes', () => {
    expect(REQUESTER_TAG).toBe(GATE_REQUESTER_TAG);
    for (const name of ['ops-assistant', 'a,b,,c', 'role.with@odd=chars+-_']) {
      expect(requesterTagValue(name)).toBe(gateRequesterTagValue(name));
    }
  });

  test('fails when the handler configuration misses the credentials role', () => {
    expect(synth.config.credentialsRoleNames).toEqual([synth.credentialsRoleName]);
  });

  test('fails when the handler may not put and read the quarantine on the credentials role, or may do more', async () => {
    const on = (action: string, resource: string) => decide(synth.handlerPolicies, { action, resource });
    await expect(on('iam:PutRolePolicy', synth.credentialsRoleArn)).resolves.toBe('Allowed');
    await expect(on('iam:GetRolePolicy', synth.credentialsRoleArn)).resolves.toBe('Allowed');
    // a reset is human only: the handler never removes a quarantine
    await expect(on('iam:DeleteRolePolicy', synth.credentialsRoleArn)).resolves.not.toBe('Allowed');
    // and no other role: not the gate's collector (which may assume the credentials role)
    await expect(on('iam:PutRolePolicy', synth.collectorRoleArn)).resolves.not.toBe('Allowed');
    await expect(on('iam:AttachRolePolicy', synth.credentialsRoleArn)).resolves.not.toBe('Allowed');
    await expect(on('iam:UpdateAssumeRolePolicy', synth.credentialsRoleArn)).resolves.not.toBe('Allowed');
  });

  test("fails when the operator's role cannot remove the quarantine from the credentials role (the reset does)", async () => {
    const on = (action: string, resource: string) => decide(synth.operatorPolicies, { action, resource });
    for (const action of ['iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy']) {
      await expect(on(action, synth.credentialsRoleArn)).resolves.toBe('Allowed');
    }
    await expect(on('iam:DeleteRolePolicy', synth.collectorRoleArn)).resolves.not.toBe('Allowed');
  });

  test('fails when the credentials-role grants bring a cdk-nag finding on the breaker that the breaker without them does not have', () => {
    const findings = (withCredentialsRoles: boolean): string[] => {
      const app = new App();
      const stack = new Stack(app, 'Guardrails', { env: { account: ACCOUNT, region: REGION }, terminationProtection: true });
      const agent = new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal() });
      const gate = new ApprovalGate(stack, 'Gate', {
        operations: [GatedOperation.credentials({ service: 'rds', action: 'FailoverDBCluster', resources: [CLUSTER] })],
        approvers: [Approver.role(new iam.Role(stack, 'Lead', { assumedBy: new iam.AccountRootPrincipal() }))],
      });
      gate.grantRequest(agent);
      const breaker = new CircuitBreaker(stack, 'Breaker', {
        agents: [{ agent }],
        globalEventsForwarded: true,
        ...(withCredentialsRoles ? { credentialsRoles: [gate.credentialsRole!] } : {}),
      });
      breaker.grantOperate(new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() }));
      app.synth();
      const found: string[] = [];
      for (const pack of [new AwsSolutionsChecks(app, { verbose: true }), new AgentGuardrailsChecks(app)]) {
        for (const v of pack.validateScope(app).violations) {
          for (const r of v.violatingResources) {
            if (/\/(Breaker|Operator|Gate)\//.test(r.constructPath ?? '')) found.push(`${v.ruleName} at ${r.constructPath}`);
          }
        }
      }
      return found.sort();
    };
    expect(findings(true)).toEqual(findings(false));
  });

  test("fails when a credentials role's inline policies leave no room for the quarantines of every watched agent", () => {
    // GIVEN a credentials role whose inline policy nearly fills IAM's 10,240 characters, and two watched agents
    const stack = new Stack(new App(), 'Full', { env: { account: ACCOUNT, region: REGION } });
    const agents = ['ops-assistant', 'release-bot'].map((n) => new AgentRole(stack, n, { agentName: n, assumedBy: new iam.AccountRootPrincipal() }));
    const role = new iam.Role(stack, 'Creds', { assumedBy: new iam.AccountRootPrincipal() });
    for (let i = 0; i < 83; i++) role.addToPolicy(new iam.PolicyStatement({ actions: ['rds:FailoverDBCluster'], resources: [`${CLUSTER}-${i}`] }));
    const fits = new CircuitBreaker(stack, 'One', { agents: [{ agent: agents[0] }], credentialsRoles: [role], globalEventsForwarded: true });
    const both = agents.map((agent) => ({ agent }));
    const full = new CircuitBreaker(stack, 'Two', { agents: both, credentialsRoles: [role], globalEventsForwarded: true });
    // WHEN they are validated THEN the breaker whose two quarantines would not fit says why; the one with one agent passes
    expect(fits.node.validate()).toEqual([]);
    const [error] = full.node.validate();
    expect(error).toMatch(/credentials role Full\/Creds's inline policies use (\d+) of the 10240 characters .*quarantines of 2 agents \((\d+)\)/);
    const [, used, needed] = /use (\d+) of .*\((\d+)\) would not fit/.exec(error)!.map(Number);
    expect(used + needed / 2).toBeLessThanOrEqual(10240);
    expect(used + needed).toBeGreaterThan(10240);
  });

  test('fails when the handler accepts a malformed credentials role list', () => {
    const good = JSON.stringify({ ...synth.config, credentialsRoleNames: ['gate-credentials'] });
    expect(parseBreakerConfig(good).credentialsRoleNames).toEqual(['gate-credentials']);
    for (const bad of ['gate-credentials', [''], [42], {}]) {
      expect(() => parseBreakerConfig(JSON.stringify({ ...synth.config, credentialsRoleNames: bad }))).toThrow(/credentialsRoleNames .* is malformed/);
    }
  });

  test('fails when a credentials role name does not fit the inline policy name quota (128)', () => {
    expect(credentialsQuarantinePolicyName('r'.repeat(64)).length).toBeLessThanOrEqual(128);
    expect(credentialsQuarantinePolicyName('r'.repeat(64))).toMatch(/^[\w+=,.@-]+$/);
  });

  test('fails when an agent role is listed as a credentials role, or a credentials role twice', () => {
    const stack = new Stack(new App(), 'S', { env: { account: ACCOUNT, region: REGION } });
    const agent = new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal() });
    const role = new iam.Role(stack, 'Creds', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => new CircuitBreaker(stack, 'B1', { agents: [{ agent }], credentialsRoles: [agent] })).toThrow(
      /credentialsRoles lists agent role ops-assistant/,
    );
    expect(() => new CircuitBreaker(stack, 'B2', { agents: [{ agent }], credentialsRoles: [role, role] })).toThrow(/listed twice/);
  });
});

describe('a trip revokes the sessions the agent collected', () => {
  test('fails when a collected session of the tripped agent may still act, or another agent is affected', async () => {
    // GIVEN the synthesized configuration, and a session collected by the agent that may fail over the cluster
    const w = await world();
    const [credentialsRoleName] = w.credentialsRoleNames;
    await expect(decide(synth.credentialsPolicies, collectedSession(w.agent.roleName))).resolves.toBe('Allowed');
    // WHEN the agent trips
    await trip(w, new BreakerProcessor(w.config, servers.clients, { now: () => NOW }));
    // THEN the policy the breaker put on the credentials role denies the tripped agent's session the approved action
    const put = credentialsQuarantineOn(credentialsRoleName, w.agent.roleName);
    expect(put).toBeDefined();
    const quarantined: EffectivePolicies = {
      ...synth.credentialsPolicies,
      identityPolicies: [...synth.credentialsPolicies.identityPolicies, { name: credentialsQuarantinePolicyName(w.agent.roleName), policy: put }],
    };
    await expect(decide(quarantined, collectedSession(w.agent.roleName))).resolves.toBe('ExplicitlyDenied');
    // and a session collected by another agent is not affected
    await expect(decide(quarantined, collectedSession('release-bot-role'))).resolves.toBe('Allowed');
  });

  test('fails when a trip does not quarantine the agent role and every credentials role, or a reset leaves one', async () => {
    const w = await world();
    await trip(w, new BreakerProcessor(w.config, faulty, { now: () => NOW }));
    expect(isQuarantine(servers.iam.inlinePolicies(w.agent.roleName)[QUARANTINE_POLICY_NAME])).toBe(true);
    for (const roleName of w.credentialsRoleNames) expect(credentialsQuarantineOn(roleName, w.agent.roleName)).toBeDefined();
    // WHEN a human resets the breaker
    const result = await reset(w, faulty);
    // THEN both are gone: the credentials roles carry nothing, the agent role only the revocation of earlier sessions
    expect(result).toMatchObject({ outcome: 'reset', quarantined: 'no' });
    for (const roleName of w.credentialsRoleNames) expect(servers.iam.inlinePolicies(roleName)).toEqual({});
    expect(isQuarantine(servers.iam.inlinePolicies(w.agent.roleName)[QUARANTINE_POLICY_NAME])).toBe(false);
    // and the agent's quarantine was lifted last, after every credentials role's was removed
    const writes = servers.iam.calls.filter(
      (c) => ['DeleteRolePolicy', 'PutRolePolicy'].includes(c.action) && [w.agent.roleName, ...w.credentialsRoleNames].includes(c.params.RoleName),
    );
    expect(writes.slice(-3).map((c) => `${c.action} ${c.params.RoleName}`)).toEqual([
      `DeleteRolePolicy ${w.credentialsRoleNames[0]}`,
      `DeleteRolePolicy ${w.credentialsRoleNames[1]}`,
      `PutRolePolicy ${w.agent.roleName}`,
    ]);
  });

  test('fails when a trip whose credentials-role write IAM refuses is silent or counted as done; the retry completes it', async () => {
    const w = await world();
    const [, second] = w.credentialsRoleNames;
    // GIVEN IAM refuses (5xx, through the SDK's retries) the put on the second credentials role
    const refuse: FaultRule = (r) => (r.operation === 'PutRolePolicy' && r.body.includes(`RoleName=${second}`) ? { kind: '5xx' } : undefined);
    iamProxy.rule = refuse;
    let now = NOW;
    const processor = new BreakerProcessor(w.config, faulty, { now: () => now });
    // WHEN the agent trips
    await processor.process(cloudTrailEvent({ roleArn: w.agent.roleArn }));
    await expect(processor.process(cloudTrailEvent({ roleArn: w.agent.roleArn }))).rejects.toThrow(new RegExp(`credentials role ${second}`));
    // THEN it is loud: the ledger records the failed quarantine, the alert says the agent is NOT stopped, the trip is not complete
    expect(iamProxy.injected.filter((f) => f.fault === '5xx').length).toBeGreaterThan(1);
    const ledger = await itemsOf(servers.clients.dynamodb, w.tableName, w.agent.agentName, 'ledger#');
    expect(ledger.map((i) => i.kind.S)).toEqual(['quarantine-failed']);
    const alerts = servers.iam.published.filter((m) => m.attributes.agent === w.agent.agentName);
    expect(alerts.map((a) => a.subject)).toEqual([`QUARANTINE FAILED: circuit breaker tripped but agent ${w.agent.agentName} is NOT stopped`]);
    expect(JSON.parse(alerts[0].message).quarantine).toContain(second);
    expect((await new BreakerStore(servers.clients.dynamodb, w.tableName).state(w.agent.agentName))?.completedAt).toBeUndefined();
    expect(credentialsQuarantineOn(second, w.agent.roleName)).toBeUndefined();
    // WHEN IAM recovers and the agent's next event arrives after the trip went stale
    iamProxy.rule = undefined;
    now = new Date(NOW.getTime() + 60_000);
    await expect(processor.process(cloudTrailEvent({ roleArn: w.agent.roleArn }))).resolves.toMatchObject({ outcome: 'completed-stale-trip' });
    // THEN every credentials role carries the quarantine and the trip is complete
    for (const roleName of w.credentialsRoleNames) expect(credentialsQuarantineOn(roleName, w.agent.roleName)).toBeDefined();
    expect((await new BreakerStore(servers.clients.dynamodb, w.tableName).state(w.agent.agentName))?.completedAt).toBeDefined();
  });

  test('fails when a lost answer to an applied credentials-role put breaks the trip: the retried put is idempotent', async () => {
    const w = await world();
    let dropped = false;
    iamProxy.rule = (r) => {
      if (dropped || r.operation !== 'PutRolePolicy' || !r.body.includes('guardrails-quarantine-')) return undefined;
      dropped = true;
      return { kind: 'drop-response' };
    };
    const processor = new BreakerProcessor(w.config, faulty, { now: () => NOW });
    const before = iamProxy.injected.length;
    await processor.process(cloudTrailEvent({ roleArn: w.agent.roleArn }));
    await expect(processor.process(cloudTrailEvent({ roleArn: w.agent.roleArn }))).resolves.toMatchObject({ outcome: 'tripped' });
    expect(iamProxy.injected.slice(before).map((f) => f.fault)).toEqual(['drop-response']);
    for (const roleName of w.credentialsRoleNames) expect(Object.keys(servers.iam.inlinePolicies(roleName))).toHaveLength(1);
  });

  test('fails when a credentials-role quarantine removed behind the breaker is not put back on the agent’s next call', async () => {
    const w = await world();
    const processor = new BreakerProcessor(w.config, servers.clients, { now: () => NOW, quarantineCheckMs: 0 });
    await trip(w, processor);
    // GIVEN someone removes the quarantine from one credentials role while the agent is tripped
    servers.iam.seedPolicy(w.credentialsRoleNames[0], credentialsQuarantinePolicyName(w.agent.roleName), { Version: '2012-10-17', Statement: [] });
    // WHEN the agent calls again
    await expect(processor.process(cloudTrailEvent({ roleArn: w.agent.roleArn }))).resolves.toMatchObject({ outcome: 'quarantine-restored' });
    // THEN it is back
    expect(credentialsQuarantineOn(w.credentialsRoleNames[0], w.agent.roleName)).toMatchObject({
      Statement: [{ Effect: 'Deny', Condition: { StringEquals: { [`aws:PrincipalTag/${REQUESTER_TAG}`]: requesterTagValue(w.agent.roleName) } } }],
    });
  });
});

describe('a reset never frees the agent before its collected sessions are handled', () => {
  test("fails when IAM refuses to remove a credentials role's quarantine and the agent is freed anyway", async () => {
    const w = await world();
    await trip(w, new BreakerProcessor(w.config, servers.clients, { now: () => NOW }));
    const [first, second] = w.credentialsRoleNames;
    // GIVEN IAM refuses (through the SDK's retries) to delete the policy on the second credentials role
    iamProxy.rule = (r) => (r.operation === 'DeleteRolePolicy' && r.body.includes(`RoleName=${second}`) ? { kind: '5xx' } : undefined);
    // The lift is the revocation document (sessions issued before the reset stay revoked) put on the agent role.
    const lifts = () =>
      servers.iam.callsOf('PutRolePolicy').filter((c) => c.params.RoleName === w.agent.roleName && c.params.PolicyDocument.includes('BeforeReset'));
    // WHEN a human resets
    const result = await reset(w, faulty);
    // THEN the reset is aborted, the agent's quarantine was never lifted, and the removed one is back
    expect(result).toMatchObject({ outcome: 'aborted', quarantined: 'yes' });
    expect(result.why).toContain(second);
    expect(lifts()).toEqual([]);
    expect(isQuarantine(servers.iam.inlinePolicies(w.agent.roleName)[QUARANTINE_POLICY_NAME])).toBe(true);
    expect(credentialsQuarantineOn(first, w.agent.roleName)).toBeDefined();
    expect(credentialsQuarantineOn(second, w.agent.roleName)).toBeDefined();
    // WHEN IAM recovers and the human resets again THEN both are lifted
    iamProxy.rule = undefined;
    await expect(reset(w, faulty)).resolves.toMatchObject({ outcome: 'reset' });
    for (const roleName of w.credentialsRoleNames) expect(servers.iam.inlinePolicies(roleName)).toEqual({});
  });

  test('fails when the lost answer to an applied delete (retried: NoSuchEntity) aborts the reset', async () => {
    const w = await world();
    await trip(w, new BreakerProcessor(w.config, servers.clients, { now: () => NOW }));
    let dropped = false;
    iamProxy.rule = (r) => {
      if (dropped || r.operation !== 'DeleteRolePolicy') return undefined;
      dropped = true;
      return { kind: 'drop-response' };
    };
    const before = iamProxy.injected.length;
    await expect(reset(w, faulty)).resolves.toMatchObject({ outcome: 'reset', quarantined: 'no' });
    expect(iamProxy.injected.slice(before).map((f) => f.fault)).toEqual(['drop-response']);
    for (const roleName of w.credentialsRoleNames) expect(servers.iam.inlinePolicies(roleName)).toEqual({});
  });
});
