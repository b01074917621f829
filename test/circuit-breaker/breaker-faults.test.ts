/**
 * The breaker counts each CloudTrail event exactly once under faults (threat model, invariant 10):
 * the real processor, its DynamoDB client with default retries behind a fault proxy in front of
 * dynalite, and the local IAM / SNS endpoint.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { QUARANTINE_POLICY_NAME, isQuarantine } from '../../lib/circuit-breaker/runtime/breaker-quarantine';
import { BreakerProcessor } from '../../lib/circuit-breaker/runtime/processor';
import { BreakerStore, windowStartOf } from '../../lib/circuit-breaker/runtime/store';
import { Fault, FaultProxy, ProxiedRequest, randomFaults, startFaultProxy } from '../support/fault-proxy';
import { LocalServers, REGION, cloudTrailEvent, config, createTable, credentials, itemsOf, startServers, watched } from './breaker-fixtures';

let servers: LocalServers;
let proxy: FaultProxy;
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  servers = await startServers();
  proxy = await startFaultProxy(servers.dynamodbUrl);
  // Default retries: a lost answer to an applied increment is retried, as in AWS.
  dynamodb = new DynamoDBClient({ endpoint: proxy.endpoint, region: REGION, credentials });
});
afterEach(() => {
  proxy.rule = undefined;
});
afterAll(async () => {
  dynamodb.destroy();
  await proxy.close();
  await servers.stop();
});

const NOW = new Date('2026-11-24T10:01:30Z');

describe('the breaker counts each event exactly once', () => {
  test('fails when a redelivered event (same CloudTrail event id) counts twice: an agent at its threshold stays free', async () => {
    // GIVEN an agent allowed 3 destructive calls per window
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, `redeliver-${Date.now()}`, { maxDestructiveCalls: 3 });
    const processor = new BreakerProcessor(config(tableName, [agent]), { ...servers.clients, dynamodb }, { now: () => NOW });
    const events = [1, 2, 3].map(() => cloudTrailEvent({ roleArn: agent.roleArn }));
    // WHEN each event arrives twice (EventBridge and Lambda deliver at least once)
    for (const e of [...events, ...events]) await processor.process(e);
    // THEN each counted once, and the agent (exactly at its threshold) is not quarantined
    const counts = await new BreakerStore(servers.clients.dynamodb, tableName).window(agent.agentName, windowStartOf(NOW, agent.windowSeconds));
    expect(counts).toMatchObject({ destructive: 3 });
    expect(servers.iam.inlinePolicies(agent.roleName)).toEqual({});
  });

  test("fails when the increment applies but its answer is lost: the SDK's retry does not count it again", async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, `lost-${Date.now()}`, { maxDestructiveCalls: 3 });
    const processor = new BreakerProcessor(config(tableName, [agent]), { ...servers.clients, dynamodb }, { now: () => NOW });
    // Every counter write's answer is lost once: the SDK retries it
    const seen = new Set<string>();
    proxy.rule = (r) => {
      if (!r.operation.endsWith('UpdateItem') || !r.body.includes('ADD writes')) return undefined;
      const id = /":id":\{"S":"[^"]+"/.exec(r.body)?.[0] ?? '';
      if (seen.has(id)) return undefined;
      seen.add(id);
      return { kind: 'drop-response' };
    };
    for (let i = 0; i < 3; i++) await processor.process(cloudTrailEvent({ roleArn: agent.roleArn }));
    expect(proxy.injected.filter((f) => f.fault === 'drop-response')).toHaveLength(3);
    const counts = await new BreakerStore(servers.clients.dynamodb, tableName).window(agent.agentName, windowStartOf(NOW, agent.windowSeconds));
    expect(counts).toMatchObject({ destructive: 3 });
  });

  test('fails when counts drift under random throttling, 5xx and lost answers with redeliveries: exact', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, `chaos-${Date.now()}`, { maxDestructiveCalls: 1000, maxDeniedCalls: 1000 });
    const processor = new BreakerProcessor(config(tableName, [agent]), { ...servers.clients, dynamodb }, { now: () => NOW });
    const throttle = { kind: 'throttle', code: 'ProvisionedThroughputExceededException' } as const;
    proxy.rule = randomFaults(7, 0.2, [throttle, { kind: '5xx' }, { kind: 'drop-response' }]);
    const events = Array.from({ length: 30 }, () => cloudTrailEvent({ roleArn: agent.roleArn }));
    // Each event is delivered until its processing succeeds, and some twice more (redeliveries)
    await Promise.all(
      events.map(async (e, i) => {
        for (let delivery = 0; delivery < (i % 5 === 0 ? 3 : 1); delivery++) {
          for (let attempt = 0; attempt < 10; attempt++) {
            try {
              await processor.process(e);
              break;
            } catch {
              // Lambda retries a failed asynchronous invocation with the same event.
            }
          }
        }
      }),
    );
    proxy.rule = undefined;
    expect(proxy.injected.length).toBeGreaterThan(0);
    const counts = await new BreakerStore(servers.clients.dynamodb, tableName).window(agent.agentName, windowStartOf(NOW, agent.windowSeconds));
    expect(counts).toMatchObject({ destructive: 30, writes: 30 });
  }, 60_000);
});

describe('the trip under IAM and SNS faults', () => {
  let iamProxy: FaultProxy;
  let iam: IAMClient;
  let sns: SNSClient;
  beforeAll(async () => {
    iamProxy = await startFaultProxy(servers.iam.url);
  });
  beforeEach(() => {
    // A fresh container: default retries and a full retry quota.
    iam = new IAMClient({ endpoint: iamProxy.endpoint, region: REGION, credentials });
    sns = new SNSClient({ endpoint: iamProxy.endpoint, region: REGION, credentials });
  });
  afterEach(() => {
    iamProxy.rule = undefined;
    iam.destroy();
    sns.destroy();
  });
  afterAll(async () => {
    await iamProxy.close();
  });

  const quarantined = (roleName: string) => isQuarantine(servers.iam.inlinePolicies(roleName)[QUARANTINE_POLICY_NAME]);
  const alertsOf = (agentName: string) => servers.iam.published.filter((m) => m.attributes.agent === agentName).map((m) => m.attributes.kind);
  const isQuarantineWrite = (r: ProxiedRequest) =>
    r.operation === 'PutRolePolicy' && decodeURIComponent(r.body).includes('QuarantineUntilHumanReset');

  /** An agent one destructive call from tripping, and its breaker (clock movable, IAM and SNS through the proxy). */
  async function atThreshold(prefix: string) {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`, { maxDestructiveCalls: 1 });
    const clock = { now: NOW };
    const processor = new BreakerProcessor(config(tableName, [agent]), { ...servers.clients, dynamodb, iam, sns }, { now: () => clock.now });
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'counted' });
    const store = new BreakerStore(servers.clients.dynamodb, tableName);
    return { agent, processor, clock, store, tableName };
  }

  const once: Array<[string, Fault]> = [
    ['throttled', { kind: 'throttle' }],
    ['answered 5xx', { kind: '5xx', status: 503 }],
    ['applied with its answer lost', { kind: 'drop-response' }],
  ];

  test.each(once)(
    'fails when the quarantine write %s once leaves the agent free: the SDK retry applies it, one trip, one alert',
    async (_n, fault) => {
      const { agent, processor, store } = await atThreshold('iam-once');
      let faulted = 0;
      iamProxy.rule = (r) => (isQuarantineWrite(r) && faulted++ === 0 ? fault : undefined);
      await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'tripped' });
      expect(faulted).toBeGreaterThan(0);
      expect(quarantined(agent.roleName)).toBe(true);
      expect(alertsOf(agent.agentName)).toEqual(['trip']);
      expect((await store.state(agent.agentName))?.completedAt).toBeDefined();
    },
  );

  test.each(once)('fails when the alert %s once is lost: the agent is quarantined first, and the alert is delivered', async (_n, fault) => {
    const { agent, processor, store } = await atThreshold('sns-once');
    let faulted = 0;
    iamProxy.rule = (r) => (r.operation === 'Publish' && faulted++ === 0 ? fault : undefined);
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'tripped' });
    expect(faulted).toBeGreaterThan(0);
    expect(quarantined(agent.roleName)).toBe(true);
    // at least once: a publish whose answer was lost and that the SDK retried is delivered twice
    expect(new Set(alertsOf(agent.agentName))).toEqual(new Set(['trip']));
    expect((await store.state(agent.agentName))?.completedAt).toBeDefined();
  });

  test('fails when a trip IAM cannot apply is silent: the invocation fails, ledger and alert say NOT stopped, the retry stops it', async () => {
    const { agent, processor, clock, store, tableName } = await atThreshold('iam-out');
    const event = cloudTrailEvent({ roleArn: agent.roleArn });
    // GIVEN IAM is unreachable for the whole invocation (every SDK attempt)
    iamProxy.rule = (r) => (isQuarantineWrite(r) ? { kind: 'outage' } : undefined);
    // WHEN the threshold-crossing event arrives, THEN the invocation fails (Lambda retries it; then the dead-letter alarm)
    await expect(processor.process(event)).rejects.toThrow();
    expect(quarantined(agent.roleName)).toBe(false);
    // AND it is not silent: the state says tripped, the ledger and the alert say the agent is NOT stopped
    expect(await store.state(agent.agentName)).toMatchObject({ state: 'tripped', completedAt: undefined });
    expect(alertsOf(agent.agentName)).toEqual(['quarantine-failed']);
    expect((await itemsOf(servers.clients.dynamodb, tableName, agent.agentName, 'ledger#')).map((i) => i.kind.S)).toEqual(['quarantine-failed']);
    // WHEN IAM is back and Lambda retries the same event a minute on
    iamProxy.rule = undefined;
    clock.now = new Date(NOW.getTime() + 60_000);
    await expect(processor.process(event)).resolves.toMatchObject({ outcome: 'completed-stale-trip' });
    // THEN the agent is quarantined, the trip is complete and announced, the event counted once
    expect(quarantined(agent.roleName)).toBe(true);
    expect(alertsOf(agent.agentName)).toEqual(['quarantine-failed', 'trip']);
    expect((await store.state(agent.agentName))?.completedAt).toBeDefined();
    expect(await store.window(agent.agentName, windowStartOf(NOW, agent.windowSeconds))).toMatchObject({ destructive: 2 });
  });

  test('fails when SNS stays unreachable and the trip looks complete: quarantined at once, the invocation fails, the retry alerts', async () => {
    const { agent, processor, clock, store } = await atThreshold('sns-out');
    const event = cloudTrailEvent({ roleArn: agent.roleArn });
    iamProxy.rule = (r) => (r.operation === 'Publish' ? { kind: '5xx' } : undefined);
    await expect(processor.process(event)).rejects.toThrow();
    // the quarantine comes first: the agent is stopped although nobody could be told yet
    expect(quarantined(agent.roleName)).toBe(true);
    expect(await store.state(agent.agentName)).toMatchObject({ state: 'tripped', completedAt: undefined });
    expect(alertsOf(agent.agentName)).toEqual([]);
    iamProxy.rule = undefined;
    clock.now = new Date(NOW.getTime() + 60_000);
    await expect(processor.process(event)).resolves.toMatchObject({ outcome: 'completed-stale-trip' });
    expect(alertsOf(agent.agentName)).toEqual(['trip']);
    expect((await store.state(agent.agentName))?.completedAt).toBeDefined();
  });

  test('fails when a lifted quarantine goes unchecked while IAM cannot be read: the event fails, the retry restores it', async () => {
    const { agent, processor, store } = await atThreshold('check-out');
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'tripped' });
    // GIVEN the quarantine was removed behind the breaker's back, and IAM cannot be read
    await servers.clients.iam.send(new DeleteRolePolicyCommand({ RoleName: agent.roleName, PolicyName: QUARANTINE_POLICY_NAME }));
    iamProxy.rule = (r) => (r.operation === 'GetRolePolicy' ? { kind: 'throttle', code: 'Throttling' } : undefined);
    // WHEN the agent calls again, THEN the event fails (never "already tripped" unchecked) and Lambda retries it
    const event = cloudTrailEvent({ roleArn: agent.roleArn });
    await expect(processor.process(event)).rejects.toThrow();
    iamProxy.rule = undefined;
    await expect(processor.process(event)).resolves.toMatchObject({ outcome: 'quarantine-restored' });
    expect(quarantined(agent.roleName)).toBe(true);
    expect(alertsOf(agent.agentName)).toEqual(['trip', 'quarantine-restored']);
    expect(await store.state(agent.agentName)).toMatchObject({ state: 'tripped' });
  });
});
