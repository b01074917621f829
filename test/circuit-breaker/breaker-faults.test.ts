/**
 * The breaker counts each CloudTrail event exactly once under faults (threat model, invariant 10):
 * the real processor, its DynamoDB client with default retries behind a fault proxy in front of
 * dynalite, and the local IAM / SNS endpoint.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BreakerProcessor } from '../../lib/circuit-breaker/runtime/processor';
import { BreakerStore, windowStartOf } from '../../lib/circuit-breaker/runtime/store';
import { FaultProxy, randomFaults, startFaultProxy } from '../support/fault-proxy';
import { LocalServers, REGION, cloudTrailEvent, config, createTable, credentials, startServers, watched } from './breaker-fixtures';

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

  test('fails when the increment applies but its answer is lost: the SDK\'s retry does not count it again', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, `lost-${Date.now()}`, { maxDestructiveCalls: 3 });
    const processor = new BreakerProcessor(config(tableName, [agent]), { ...servers.clients, dynamodb }, { now: () => NOW });
    // Every counter write's answer is lost once: the SDK retries it
    const seen = new Set<string>();
    proxy.rule = (r) => {
      if (!r.operation.endsWith('UpdateItem') || !r.body.includes('eventIds')) return undefined;
      const id = /"eid-[^"]+"/.exec(r.body)?.[0] ?? '';
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
