/**
 * `breaker trip|reset|status`: the real CLI entry with the real AWS SDK clients (IAM, STS, SNS
 * against the local query-protocol endpoint; DynamoDB against dynalite), pointed there by the
 * SDK's standard AWS_ENDPOINT_URL_<SERVICE> variables, signed with an operator's access key. The
 * policy documents the CLI wrote are then evaluated on the synthesized agent role.
 */
import { DeleteRolePolicyCommand } from '@aws-sdk/client-iam';
import { main } from '../../lib/cli/main';
import { BreakerStore } from '../../lib/circuit-breaker/runtime/store';
import { QUARANTINE_POLICY_NAME, credentialsQuarantinePolicyName } from '../../lib/circuit-breaker/runtime/breaker-quarantine';
import { synthAgent } from '../support/fixtures';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION } from '../support/template-resolver';
import { BreakerProcessor, ProcessResult } from '../../lib/circuit-breaker/runtime/processor';
import {
  LocalServers,
  PausingProxy,
  TOPIC_ARN,
  cloudTrailEvent,
  config,
  createTable,
  itemsOf,
  startPausingProxy,
  startServers,
  watched,
} from './breaker-fixtures';

const OPERATOR_KEY = 'AKIAOPERATORALICE';
const OPERATOR_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/breaker-operators/alice`;
const AGENT_SESSION_KEY = 'ASIAAGENTSESSION';
const ROLE = 'ops-assistant-role';

let servers: LocalServers;
let tableName: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  servers = await startServers();
  servers.iam.addIdentity(OPERATOR_KEY, OPERATOR_ARN);
  servers.iam.addIdentity(AGENT_SESSION_KEY, `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/ops-assistant-run-9`);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_IAM: servers.iam.url,
    AWS_ENDPOINT_URL_STS: servers.iam.url,
    AWS_ENDPOINT_URL_SNS: servers.iam.url,
    AWS_ENDPOINT_URL_DYNAMODB: servers.dynamodbUrl,
    AWS_REGION: REGION,
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
});
afterAll(async () => {
  process.env = savedEnv;
  await servers.stop();
});

function as(accessKeyId: string): void {
  process.env.AWS_ACCESS_KEY_ID = accessKeyId;
}

async function cli(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['breaker', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('breaker trip and reset', () => {
  beforeAll(async () => {
    servers.iam.addRole(ROLE);
    servers.iam.seedPolicy(ROLE, 'AgentGrants', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: '*' }],
    });
    tableName = await createTable(servers.clients.dynamodb);
  });

  test("trip quarantines the agent at once with the operator's credentials, records it, and alerts", async () => {
    as(OPERATOR_KEY);
    const before = Date.now();
    const { code, out } = await cli(
      'trip',
      'ops-assistant',
      '--role-name',
      ROLE,
      '--table',
      tableName,
      '--topic',
      TOPIC_ARN,
      '--reason',
      'deleting dev tables in a loop',
    );
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^agent ops-assistant quarantined at .*every session of role ops-assistant-role is now denied every action/);
    // the IAM calls were made by the real client, signed with the operator's key: the quarantine at
    // once, and again once the trip is recorded (a reset running meanwhile cannot have lifted it)
    const puts = servers.iam.callsOf('PutRolePolicy');
    expect(puts).toHaveLength(2);
    expect(puts.map((p) => p.accessKeyId)).toEqual([OPERATOR_KEY, OPERATOR_KEY]);
    expect(puts[0].params).toMatchObject({ RoleName: ROLE, PolicyName: QUARANTINE_POLICY_NAME });
    expect(puts[1].params).toEqual(puts[0].params);
    // the state names the operator; the ledger has the record; the alert went out
    const state = await new BreakerStore(servers.clients.dynamodb, tableName).state('ops-assistant');
    expect(state).toMatchObject({ state: 'tripped', trippedBy: OPERATOR_ARN, reason: 'deleting dev tables in a loop' });
    expect(Date.parse(state!.trippedAt!)).toBeGreaterThanOrEqual(before - 1000);
    const ledger = await itemsOf(servers.clients.dynamodb, tableName, 'ops-assistant', 'ledger#');
    expect(ledger.map((i) => [i.kind.S, i.actor.S])).toEqual([['manual-trip', OPERATOR_ARN]]);
    expect(servers.iam.published.map((m) => [m.attributes.kind, m.topicArn])).toEqual([['manual-trip', TOPIC_ARN]]);
    const status = await cli('status', 'ops-assistant', '--role-name', ROLE, '--table', tableName);
    expect(status.out[0]).toBe(`role ${ROLE}: QUARANTINED (every session denied every action)`);
    expect(status.code).toBe(1);
  });

  test("the document the trip wrote denies the agent's work to the running session", async () => {
    const { policies } = synthAgent((_s, agent) =>
      agent.allow({ actions: ['dynamodb:GetItem'], resources: [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`] }),
    );
    const written = servers.iam.inlinePolicies(ROLE)[QUARANTINE_POLICY_NAME];
    const withWritten = { ...policies, identityPolicies: [...policies.identityPolicies, { name: QUARANTINE_POLICY_NAME, policy: written }] };
    const getItem = { action: 'dynamodb:GetItem', resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders` };
    await expect(decide(policies, { ...getItem, context: { 'aws:TokenIssueTime': new Date(Date.now() - 600_000).toISOString() } })).resolves.toBe(
      'Allowed',
    );
    await expect(decide(withWritten, { ...getItem, context: { 'aws:TokenIssueTime': new Date(Date.now() - 600_000).toISOString() } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decide(withWritten, { ...getItem, context: { 'aws:TokenIssueTime': new Date(Date.now() + 60_000).toISOString() } })).resolves.toBe(
      'ExplicitlyDenied',
    );
  });

  test("fails when the agent's own session tries to reset its breaker", async () => {
    as(AGENT_SESSION_KEY);
    const putsBefore = servers.iam.callsOf('PutRolePolicy').length;
    const { code, err } = await cli('reset', 'ops-assistant', '--role-name', ROLE, '--table', tableName);
    expect(code).not.toBe(0);
    expect(err.join('\n')).toMatch(/refused: the caller .*assumed-role\/ops-assistant-role\/.* is a session of the agent role/);
    expect(servers.iam.callsOf('PutRolePolicy')).toHaveLength(putsBefore);
  });

  test('fails closed when IAM refuses to lift the quarantine: the agent stays quarantined', async () => {
    as(OPERATOR_KEY);
    servers.iam.failNext('PutRolePolicy', 'AccessDenied');
    const { code, err } = await cli('reset', 'ops-assistant', '--role-name', ROLE, '--table', tableName);
    expect(code).toBe(4);
    expect(err.join('\n')).toMatch(/quarantine of agent ops-assistant is still in place/);
    expect(servers.iam.inlinePolicies(ROLE)[QUARANTINE_POLICY_NAME].Statement.map((s: any) => s.Sid)).toContain('QuarantineUntilHumanReset');
    // and the breaker reads tripped again, with the failed reset in the ledger
    expect((await new BreakerStore(servers.clients.dynamodb, tableName).state('ops-assistant'))?.state).toBe('tripped');
    expect((await itemsOf(servers.clients.dynamodb, tableName, 'ops-assistant', 'ledger#')).map((i) => i.kind.S)).toContain('reset-aborted');
    // trip it again so that the next test starts from a tripped breaker
    await cli('trip', 'ops-assistant', '--role-name', ROLE, '--table', tableName);
  });

  test("reset by a human lifts exactly the quarantine, keeps the agent's own policies, and re-arms the breaker", async () => {
    as(OPERATOR_KEY);
    // the incident's counted calls, which must stop counting once re-armed
    const windowStart = new Date(Math.floor(Date.now() / 300_000) * 300_000);
    await new BreakerStore(servers.clients.dynamodb, tableName).count('ops-assistant', windowStart, 300, { writes: 9, destructive: 9, denied: 2 });
    const { code, out } = await cli('reset', 'ops-assistant', '--role-name', ROLE, '--table', tableName, '--topic', TOPIC_ARN);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/reset at .* by arn:aws:sts::123456789012:assumed-role\/breaker-operators\/alice: the quarantine is lifted/);
    const policies = servers.iam.inlinePolicies(ROLE);
    expect(policies.AgentGrants).toEqual({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: '*' }] });
    expect(policies[QUARANTINE_POLICY_NAME].Statement.map((s: any) => s.Sid)).toEqual(['RevokeSessionsIssuedBeforeReset']);
    expect((await new BreakerStore(servers.clients.dynamodb, tableName).state('ops-assistant'))?.state).toBe('closed');
    await expect(new BreakerStore(servers.clients.dynamodb, tableName).window('ops-assistant', windowStart)).resolves.toMatchObject({
      writes: 0,
      destructive: 0,
      denied: 0,
    });
    const ledger = await itemsOf(servers.clients.dynamodb, tableName, 'ops-assistant', 'ledger#');
    expect(ledger.map((i) => i.kind.S)).toEqual(['manual-trip', 'reset', 'reset-aborted', 'manual-trip', 'reset']);
    expect(servers.iam.published.at(-1)?.attributes.kind).toBe('reset');
    // evaluated: a new session works again, the session that ran before the reset does not
    const { policies: agent } = synthAgent((_s, a) =>
      a.allow({ actions: ['dynamodb:GetItem'], resources: [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`] }),
    );
    const afterReset = {
      ...agent,
      identityPolicies: [...agent.identityPolicies, { name: QUARANTINE_POLICY_NAME, policy: policies[QUARANTINE_POLICY_NAME] }],
    };
    const getItem = { action: 'dynamodb:GetItem', resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders` };
    await expect(decide(afterReset, { ...getItem, context: { 'aws:TokenIssueTime': new Date(Date.now() + 1000).toISOString() } })).resolves.toBe(
      'Allowed',
    );
    await expect(decide(afterReset, { ...getItem, context: { 'aws:TokenIssueTime': new Date(Date.now() - 600_000).toISOString() } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    const status = await cli('status', 'ops-assistant', '--role-name', ROLE, '--table', tableName);
    expect([status.code, status.out]).toEqual([0, [`role ${ROLE}: not quarantined`, 'breaker ops-assistant: closed']]);
  });

  test('fails loudly when IAM refuses the kill switch: the output says the agent is NOT quarantined', async () => {
    as(OPERATOR_KEY);
    servers.iam.failNext('PutRolePolicy', 'AccessDenied');
    const { code, out, err } = await cli('trip', 'ops-assistant', '--role-name', ROLE);
    expect(code).toBe(4);
    expect(out).toEqual([]);
    expect(err[0]).toMatch(/agent ops-assistant is NOT quarantined: IAM refused/);
  });
});

describe('a trip racing a reset', () => {
  let proxy: PausingProxy;
  beforeAll(async () => {
    // The CLI reaches IAM through a proxy that can hold its lift of the quarantine until a
    // breaker event (or a manual trip) has run: the interleaving is exact, not timing-dependent.
    proxy = await startPausingProxy(servers.iam.url);
    process.env.AWS_ENDPOINT_URL_IAM = proxy.url;
  });
  afterAll(async () => {
    process.env.AWS_ENDPOINT_URL_IAM = servers.iam.url;
    await proxy.stop();
  });
  const isLift = (p: Record<string, string>) => p.Action === 'PutRolePolicy' && String(p.PolicyDocument).includes('RevokeSessionsIssuedBeforeReset');
  const quarantined = (role: string) =>
    (servers.iam.inlinePolicies(role)[QUARANTINE_POLICY_NAME]?.Statement ?? []).some((s: any) => s.Sid === 'QuarantineUntilHumanReset');

  async function trippedAgent(
    name: string,
  ): Promise<{ processor: BreakerProcessor; denied: () => Promise<ProcessResult[]>; roleName: string; table: string }> {
    const table = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, name, { maxDeniedCalls: 2 });
    const processor = new BreakerProcessor(config(table, [agent]), servers.clients);
    // Three denied calls of the (quarantined) agent session, now.
    const denied = async () => {
      const results = [];
      for (let i = 0; i < 3; i++) {
        results.push(
          await processor.process(
            cloudTrailEvent({
              roleArn: agent.roleArn,
              eventName: 'DeleteTable',
              errorCode: 'AccessDeniedException',
              eventTime: new Date().toISOString(),
            }),
          ),
        );
      }
      return results;
    };
    expect((await denied()).map((r) => r.outcome)).toEqual(['counted', 'counted', 'tripped']);
    expect(quarantined(agent.roleName)).toBe(true);
    return { processor, denied, roleName: agent.roleName, table };
  }

  test('fails closed when the breaker trips again between re-arming and lifting: the reset aborts and the agent stays quarantined', async () => {
    // GIVEN an agent the breaker has tripped and quarantined
    as(OPERATOR_KEY);
    const { denied, roleName, table } = await trippedAgent('racer');
    const first = await new BreakerStore(servers.clients.dynamodb, table).state('racer');
    // WHEN, while a human resets it, after the breaker is re-armed but before the lift lands, the
    // agent's session makes three more denied calls and the breaker handles them (and trips)
    let late: ProcessResult[] = [];
    proxy.pauseBefore(isLift, async () => {
      late = await denied();
    });
    const { code, out, err } = await cli('reset', 'racer', '--role-name', roleName, '--table', table, '--topic', TOPIC_ARN);
    // THEN the agent ends quarantined, although the reset's lift landed after the trip
    expect(quarantined(roleName)).toBe(true);
    // AND the reset fails clearly
    expect(code).toBe(4);
    expect(out).toEqual([]);
    expect(err.join('\n')).toMatch(
      /reset of agent racer ABORTED: the breaker tripped again right after it was re-armed; the quarantine of agent racer is still in place/,
    );
    // AND the trip claimed the re-armed breaker
    expect(late.map((r) => r.outcome)).toEqual(['counted', 'counted', 'tripped']);
    expect(
      servers.iam
        .callsOf('PutRolePolicy')
        .filter((c) => c.params.RoleName === roleName)
        .map((c) => JSON.parse(c.params.PolicyDocument).Statement.at(-1).Sid),
    ).toEqual(['QuarantineUntilHumanReset', 'QuarantineUntilHumanReset', 'RevokeSessionsIssuedBeforeReset', 'QuarantineUntilHumanReset']);
    // AND the breaker is tripped on the new incident, completed, with the ledger and the alerts saying so
    const state = await new BreakerStore(servers.clients.dynamodb, table).state('racer');
    expect(state).toMatchObject({ state: 'tripped', trippedBy: 'circuit-breaker', pendingIncident: undefined, resetId: undefined });
    expect(state!.incidentId).not.toBe(first!.incidentId);
    expect(state!.completedAt).toBeDefined();
    const ledger = await itemsOf(servers.clients.dynamodb, table, 'racer', 'ledger#');
    expect(ledger.map((i) => i.kind.S).sort()).toEqual(['reset', 'reset-aborted', 'trip', 'trip']);
    expect(servers.iam.published.filter((m) => m.attributes.agent === 'racer').map((m) => m.attributes.kind)).toEqual([
      'trip',
      'trip',
      'reset-aborted',
    ]);
    const status = await cli('status', 'racer', '--role-name', roleName, '--table', table);
    expect(status.out).toEqual([
      `role ${roleName}: QUARANTINED (every session denied every action)`,
      expect.stringMatching(/^breaker racer: tripped since .* by circuit-breaker/),
    ]);
    // AND a later reset, with the agent calm, succeeds and re-arms the breaker, which trips again
    await expect(cli('reset', 'racer', '--role-name', roleName, '--table', table)).resolves.toMatchObject({ code: 0 });
    expect(quarantined(roleName)).toBe(false);
    expect((await denied()).map((r) => r.outcome)).toEqual(['counted', 'counted', 'tripped']);
    expect(quarantined(roleName)).toBe(true);
  });

  test('fails closed when a human pulls the kill switch while a reset is under way: the agent ends quarantined', async () => {
    as(OPERATOR_KEY);
    const { roleName, table } = await trippedAgent('switched');
    let trip: { code: number } | undefined;
    proxy.pauseBefore(isLift, async () => {
      trip = await cli('trip', 'switched', '--role-name', roleName, '--table', table, '--reason', 'second look: still looping');
    });
    const { code, err } = await cli('reset', 'switched', '--role-name', roleName, '--table', table);
    expect(quarantined(roleName)).toBe(true);
    expect(trip?.code).toBe(0);
    expect(code).toBe(4);
    expect(err.join('\n')).toMatch(/reset of agent switched ABORTED/);
    expect(quarantined(roleName)).toBe(true);
    expect(await new BreakerStore(servers.clients.dynamodb, table).state('switched')).toMatchObject({
      state: 'tripped',
      trippedBy: OPERATOR_ARN,
      reason: 'second look: still looping',
    });
  });
});

describe('what the CLI shows', () => {
  test('fails when text from the table (a reason quoting an agent) forges lines or escapes on the terminal: shown inert', async () => {
    as(OPERATOR_KEY);
    servers.iam.addRole('inert-role');
    const table = await createTable(servers.clients.dynamodb);
    const reason = 'agent said: done\nbreaker inert: closed (never tripped)\u001b[1A\u202e';
    await expect(cli('trip', 'inert', '--role-name', 'inert-role', '--table', table, '--reason', reason)).resolves.toMatchObject({ code: 0 });
    const { out } = await cli('status', 'inert', '--role-name', 'inert-role', '--table', table);
    expect(out).toHaveLength(2);
    expect(out[1]).toContain('agent said: done\\nbreaker inert: closed (never tripped)\\u001b[1A\\u202e');
    expect(out.join('')).not.toMatch(/[\n\u001b\u202e]/);
    // AND a tripped breaker whose quarantine is gone (a reset died after its lift) is called out
    await servers.clients.iam.send(new DeleteRolePolicyCommand({ RoleName: 'inert-role', PolicyName: QUARANTINE_POLICY_NAME }));
    const mismatch = await cli('status', 'inert', '--role-name', 'inert-role', '--table', table);
    expect(mismatch.out[0]).toBe('role inert-role: not quarantined');
    expect(mismatch.err).toEqual(['MISMATCH: the breaker of agent inert is tripped but its quarantine is NOT on role inert-role. Run breaker trip.']);
    // the ledger keeps the reason as given
    const [record] = await itemsOf(servers.clients.dynamodb, table, 'inert', 'ledger#');
    expect(JSON.parse(record.details.S).reason).toBe(reason);
  });
});

describe('approval-bound sessions (credentials roles of approval gates)', () => {
  const AGENT_ROLE = 'ops-assistant-credentials-case';
  const CREDENTIALS_ROLE = 'gate-credentials-role';
  let table: string;
  beforeAll(async () => {
    servers.iam.addRole(AGENT_ROLE);
    servers.iam.addRole(CREDENTIALS_ROLE);
    table = await createTable(servers.clients.dynamodb);
  });

  test("trip with --credentials-roles revokes the agent's collected sessions too, and reset lifts both, the agent's last", async () => {
    as(OPERATOR_KEY);
    // WHEN the kill switch is pulled naming the gate's credentials role
    const trip = await cli('trip', 'ops-assistant', '--role-name', AGENT_ROLE, '--table', table, '--credentials-roles', CREDENTIALS_ROLE);
    expect(trip.code).toBe(0);
    // THEN the credentials role carries a deny of every session tagged with this agent
    const revocation = servers.iam.inlinePolicies(CREDENTIALS_ROLE)[credentialsQuarantinePolicyName(AGENT_ROLE)];
    expect(revocation.Statement[0]).toMatchObject({
      Effect: 'Deny',
      Condition: { StringEquals: { 'aws:PrincipalTag/guardrails:requester': AGENT_ROLE } },
    });
    expect(trip.out.join('\n')).toContain(`--credentials-roles ${CREDENTIALS_ROLE}`);
    // WHEN the breaker is reset with the same roles THEN both quarantines are lifted
    const reset = await cli('reset', 'ops-assistant', '--role-name', AGENT_ROLE, '--table', table, '--credentials-roles', CREDENTIALS_ROLE);
    expect(reset.code).toBe(0);
    expect(servers.iam.inlinePolicies(CREDENTIALS_ROLE)[credentialsQuarantinePolicyName(AGENT_ROLE)]).toBeUndefined();
    expect(servers.iam.inlinePolicies(AGENT_ROLE)[QUARANTINE_POLICY_NAME].Statement.map((st: any) => st.Sid)).toEqual([
      'RevokeSessionsIssuedBeforeReset',
    ]);
  });

  test("fails loudly when IAM refuses the credentials role's quarantine: the output says the sessions are NOT revoked", async () => {
    as(OPERATOR_KEY);
    // GIVEN a credentials role IAM does not know (NoSuchEntity on PutRolePolicy)
    const refused = await cli('trip', 'ops-assistant', '--role-name', AGENT_ROLE, '--credentials-roles', 'no-such-credentials-role');
    // THEN the agent's own quarantine is in place, and the output says its approval-bound sessions are not revoked
    expect(refused.code).toBe(4);
    expect(refused.out[0]).toMatch(/quarantined at/);
    expect(refused.err[0]).toMatch(/approval-bound sessions are NOT revoked: IAM refused the quarantine on no-such-credentials-role/);
  });

  test('fails with a usage error when a credentials role is the agent role itself or not a role name', async () => {
    for (const roles of [AGENT_ROLE, 'arn:aws:iam::123456789012:role/x']) {
      const { code, err } = await cli('trip', 'ops-assistant', '--role-name', AGENT_ROLE, '--credentials-roles', roles);
      expect(code).toBe(2);
      expect(err[0]).toMatch(/--credentials-roles must name approval gates' credentials roles/);
    }
  });
});

describe('usage', () => {
  test.each([
    [['trip'], /missing or invalid AGENT/],
    [['trip', 'ops-assistant'], /--role-name must name the agent's IAM role/],
    [['reset', 'ops-assistant', '--role-name', ROLE], /reset needs --table/],
    [['halt', 'ops-assistant'], /unknown or missing sub-command "halt"/],
    [['trip', 'ops-assistant', '--role-name', ROLE, '--force', 'yes'], /unknown option "--force"/],
    [['trip', 'ops-assistant', '--role-name'], /--role-name needs a value/],
    [['trip', 'ops-assistant', '--role-name', ROLE, '--reason', '--table', 't'], /--reason needs a value, got "--table"/],
    [['status', 'ops-assistant', 'extra', '--role-name', ROLE], /unexpected argument "extra"/],
  ])('fails with a usage error for %j', async (args, message) => {
    const { code, out, err } = await cli(...args);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toMatch(message);
    expect(err.join('\n')).toContain('usage: cdk-agent-guardrails breaker');
  });

  const helps = [['--help'], ['-h'], ['trip', '--help'], ['reset', 'ops-assistant', '-h']];
  test.each(helps)('%j prints the usage to stdout and exits 0, calling nothing', async (...args) => {
    const calls = servers.iam.callsOf('PutRolePolicy').length;
    const { code, out, err } = await cli(...args);
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/^usage: cdk-agent-guardrails breaker <trip\|reset\|status> AGENT/);
    expect(err).toEqual([]);
    expect(servers.iam.callsOf('PutRolePolicy')).toHaveLength(calls);
  });
});
