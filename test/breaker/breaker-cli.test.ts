/**
 * `breaker trip|reset|status`: the real CLI entry with the real AWS SDK clients (IAM, STS, SNS
 * against the local query-protocol endpoint; DynamoDB against dynalite), pointed there by the
 * SDK's standard AWS_ENDPOINT_URL_<SERVICE> variables, signed with an operator's access key. The
 * policy documents the CLI wrote are then evaluated on the synthesized agent role.
 */
import { main } from '../../lib/cli/main';
import { BreakerStore } from '../../lib/handlers/breaker/store';
import { QUARANTINE_POLICY_NAME } from '../../lib/private/breaker-quarantine';
import { synthAgent } from '../support/fixtures';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION } from '../support/template-resolver';
import { LocalServers, TOPIC_ARN, createTable, itemsOf, startServers } from './breaker-fixtures';

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
    servers.iam.seedPolicy(ROLE, 'AgentGrants', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: '*' }] });
    tableName = await createTable(servers.clients.dynamodb);
  });

  test('trip quarantines the agent at once with the operator\'s credentials, records it, and alerts', async () => {
    as(OPERATOR_KEY);
    const before = Date.now();
    const { code, out } = await cli('trip', 'ops-assistant', '--role-name', ROLE, '--table', tableName, '--topic', TOPIC_ARN, '--reason', 'deleting dev tables in a loop');
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^agent ops-assistant quarantined at .*every session of role ops-assistant-role is now denied every action/);
    // the IAM call was made by the real client, signed with the operator's key
    const puts = servers.iam.callsOf('PutRolePolicy');
    expect(puts).toHaveLength(1);
    expect(puts[0].accessKeyId).toBe(OPERATOR_KEY);
    expect(puts[0].params).toMatchObject({ RoleName: ROLE, PolicyName: QUARANTINE_POLICY_NAME });
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

  test('the document the trip wrote denies the agent\'s work to the running session', async () => {
    const { policies } = synthAgent((_s, agent) => agent.allow({ actions: ['dynamodb:GetItem'], resources: [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`] }));
    const written = servers.iam.inlinePolicies(ROLE)[QUARANTINE_POLICY_NAME];
    const withWritten = { ...policies, identityPolicies: [...policies.identityPolicies, { name: QUARANTINE_POLICY_NAME, policy: written }] };
    const getItem = { action: 'dynamodb:GetItem', resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders` };
    await expect(decide(policies, { ...getItem, context: { 'aws:TokenIssueTime': new Date(Date.now() - 600_000).toISOString() } })).resolves.toBe('Allowed');
    await expect(decide(withWritten, { ...getItem, context: { 'aws:TokenIssueTime': new Date(Date.now() - 600_000).toISOString() } })).resolves.toBe('ExplicitlyDenied');
    await expect(decide(withWritten, { ...getItem, context: { 'aws:TokenIssueTime': new Date(Date.now() + 60_000).toISOString() } })).resolves.toBe('ExplicitlyDenied');
  });

  test('fails when the agent\'s own session tries to reset its breaker', async () => {
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
    // trip it again so that the next test starts from a tripped breaker
    await cli('trip', 'ops-assistant', '--role-name', ROLE, '--table', tableName);
  });

  test('reset by a human lifts exactly the quarantine, keeps the agent\'s own policies, and re-arms the breaker', async () => {
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
    await expect(new BreakerStore(servers.clients.dynamodb, tableName).window('ops-assistant', windowStart)).resolves.toMatchObject({ writes: 0, destructive: 0, denied: 0 });
    const ledger = await itemsOf(servers.clients.dynamodb, tableName, 'ops-assistant', 'ledger#');
    expect(ledger.map((i) => i.kind.S)).toEqual(['manual-trip', 'manual-trip', 'reset']);
    expect(servers.iam.published.at(-1)?.attributes.kind).toBe('reset');
    // evaluated: a new session works again, the session that ran before the reset does not
    const { policies: agent } = synthAgent((_s, a) => a.allow({ actions: ['dynamodb:GetItem'], resources: [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`] }));
    const afterReset = { ...agent, identityPolicies: [...agent.identityPolicies, { name: QUARANTINE_POLICY_NAME, policy: policies[QUARANTINE_POLICY_NAME] }] };
    const getItem = { action: 'dynamodb:GetItem', resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders` };
    await expect(decide(afterReset, { ...getItem, context: { 'aws:TokenIssueTime': new Date(Date.now() + 1000).toISOString() } })).resolves.toBe('Allowed');
    await expect(decide(afterReset, { ...getItem, context: { 'aws:TokenIssueTime': new Date(Date.now() - 600_000).toISOString() } })).resolves.toBe('ExplicitlyDenied');
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

describe('usage', () => {
  test.each([
    [['trip'], /missing or invalid AGENT/],
    [['trip', 'ops-assistant'], /--role-name must name the agent's IAM role/],
    [['reset', 'ops-assistant', '--role-name', ROLE], /reset needs --table/],
    [['halt', 'ops-assistant'], /unknown or missing sub-command "halt"/],
    [['trip', 'ops-assistant', '--role-name', ROLE, '--force', 'yes'], /unknown option "--force"/],
  ])('fails with a usage error for %j', async (args, message) => {
    const { code, err } = await cli(...args);
    expect(code).toBe(2);
    expect(err[0]).toMatch(message);
  });
});
