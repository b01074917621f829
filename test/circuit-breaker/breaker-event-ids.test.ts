/**
 * How the breaker keeps the event ids it counted (exactly-once counting, issue 16): a CloudTrail
 * event id (a lowercase UUID) as the base64url of its 16 bytes, any other id as it is in sets of its
 * own. Real parts: the processor, its DynamoDB client with default retries behind the fault proxy in
 * front of dynalite, and the local IAM / SNS endpoint.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'crypto';
import { QUARANTINE_POLICY_NAME, isQuarantine } from '../../lib/circuit-breaker/runtime/breaker-quarantine';
import { BreakerProcessor, CloudTrailEvent, ProcessResult } from '../../lib/circuit-breaker/runtime/processor';
import { BreakerStore, eventIdEntry, windowStartOf } from '../../lib/circuit-breaker/runtime/store';
import { FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { LocalServers, REGION, cloudTrailEvent, config, createTable, credentials, startServers, watched } from './breaker-fixtures';

const NOW = new Date('2026-11-24T10:01:30Z');

/** The id a stored compact value stands for: the UUID its 16 bytes spell (the inverse of the encoding). */
function decodeCompact(value: string): string {
  const hex = Buffer.from(value, 'base64url').toString('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
}

function withEventId(roleArn: string, eventId: string | undefined): CloudTrailEvent {
  const event = cloudTrailEvent({ roleArn });
  const detail = event.detail as Record<string, unknown>;
  if (eventId === undefined) delete detail.eventID;
  else detail.eventID = eventId;
  return event;
}

describe('event ids are kept compact and lossless', () => {
  test('fails when a CloudTrail event id is not kept in 22 characters that decode back to exactly that id', () => {
    for (let i = 0; i < 200; i++) {
      const id = randomUUID();
      const entry = eventIdEntry(id);
      expect(entry.value).toHaveLength(22);
      expect(entry.set).toMatch(/^u[A-Za-z0-9_-]$/);
      expect(decodeCompact(entry.value)).toBe(id);
    }
  });

  test('fails when an id that is not a lowercase UUID is changed, or could meet an encoded UUID', () => {
    const id = randomUUID();
    const encoded = eventIdEntry(id).value;
    // GIVEN ids that are not CloudTrail's lowercase UUIDs: the same UUID in capitals, the encoded form of
    // a UUID sent as an id of its own, an EventBridge-style id, a braced UUID
    for (const other of [id.toUpperCase(), encoded, 'evt-42', `{${id}}`]) {
      const entry = eventIdEntry(other);
      // THEN each is kept as it is, in the raw family of sets, which never holds an encoded UUID
      expect(entry).toEqual({ set: expect.stringMatching(/^r[A-Za-z0-9_-]$/), value: other });
    }
  });
});

describe('each event counts exactly once, whatever its id', () => {
  let servers: LocalServers;
  let proxy: FaultProxy;
  let dynamodb: DynamoDBClient;
  beforeAll(async () => {
    servers = await startServers();
    proxy = await startFaultProxy(servers.dynamodbUrl);
  });
  beforeEach(() => {
    // A fresh container: default retries (a lost answer to an applied increment is retried, as in AWS), a full retry quota.
    dynamodb = new DynamoDBClient({ endpoint: proxy.endpoint, region: REGION, credentials });
  });
  afterEach(() => {
    proxy.rule = undefined;
    dynamodb.destroy();
  });
  afterAll(async () => {
    await proxy.close();
    await servers.stop();
  });

  /**
   * Loses the answer to the first counting write of every `nth` event id (the SDK then retries a write
   * that applied). Each lost answer spends 10 of the client's 500 retry tokens, as in a Lambda container.
   */
  function loseFirstAnswerOfEachEvent(nth = 1): void {
    const seen = new Set<string>();
    proxy.rule = (r) => {
      if (!r.operation.endsWith('UpdateItem') || !r.body.includes('ADD writes')) return undefined;
      // The event's id as written: its set and its value (an encoded UUID and a raw id may share a value, never a set).
      const id = `${/"#ids":"[^"]+"/.exec(r.body)?.[0]} ${/":id":\{"S":"[^"]+"/.exec(r.body)?.[0]}`;
      if (seen.has(id)) return undefined;
      seen.add(id);
      return seen.size % nth === 0 ? { kind: 'drop-response' } : undefined;
    };
  }

  test('fails when mixed ids (UUID, the same UUID in capitals, its encoded form, other ids, none) count twice or not at all', async () => {
    // GIVEN an agent allowed 6 destructive calls per window
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, `mixed-${Date.now()}`, { maxDestructiveCalls: 6 });
    const processor = new BreakerProcessor(config(tableName, [agent]), { ...servers.clients, dynamodb }, { now: () => NOW });
    const uuid = randomUUID();
    // 6 distinct events whose ids look alike: the encoded form of a UUID taken as an id must not pass for that UUID
    const events = [uuid, uuid.toUpperCase(), eventIdEntry(uuid).value, randomUUID(), 'evt-not-a-uuid', undefined].map((id) =>
      withEventId(agent.roleArn, id),
    );
    loseFirstAnswerOfEachEvent();
    // WHEN each is delivered twice (EventBridge and Lambda deliver at least once), the first answer of each write lost
    const results: ProcessResult[] = [];
    for (const e of [...events, ...events]) results.push(await processor.process(e));
    // THEN the SDK retried lost answers, and each event counted exactly once: 6, exactly at the threshold, not quarantined
    expect(proxy.injected.filter((f) => f.fault === 'drop-response')).toHaveLength(6);
    const store = new BreakerStore(servers.clients.dynamodb, tableName);
    expect(await store.window(agent.agentName, windowStartOf(NOW, agent.windowSeconds))).toMatchObject({ destructive: 6, writes: 6 });
    expect(results.map((r) => r.outcome)).not.toContain('tripped');
    expect(servers.iam.inlinePolicies(agent.roleName)).toEqual({});
    // WHEN one more distinct call arrives (twice, its first answer lost)
    const seventh = withEventId(agent.roleArn, randomUUID());
    const trips = [await processor.process(seventh), await processor.process(seventh)];
    // THEN the breaker trips exactly once, on it
    expect(proxy.injected.filter((f) => f.fault === 'drop-response')).toHaveLength(7);
    expect(trips.map((r) => r.outcome)).toEqual(['tripped', 'already-tripped']);
    expect(isQuarantine(servers.iam.inlinePolicies(agent.roleName)[QUARANTINE_POLICY_NAME])).toBe(true);
    expect(servers.iam.published.filter((m) => m.attributes.agent === agent.agentName)).toHaveLength(1);
    expect(await store.window(agent.agentName, windowStartOf(NOW, agent.windowSeconds))).toMatchObject({ destructive: 7 });
  });

  test('fails when the window item keeps an id in a form that does not give it back, or keeps it twice', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, `stored-${Date.now()}`, { maxDestructiveCalls: 1000, maxDeniedCalls: 1000 });
    const processor = new BreakerProcessor(config(tableName, [agent]), { ...servers.clients, dynamodb }, { now: () => NOW });
    const uuids = Array.from({ length: 40 }, () => randomUUID());
    const others = ['evt-1', 'EVT-1', uuids[0].toUpperCase()];
    loseFirstAnswerOfEachEvent(3);
    for (const id of [...uuids, ...others, ...uuids.slice(0, 10)]) await processor.process(withEventId(agent.roleArn, id));
    // THEN the item holds every UUID once, compact (22 characters), and every other id once, as it was
    const { Item } = await servers.clients.dynamodb.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: `agent#${agent.agentName}` }, sk: { S: `window#${windowStartOf(NOW, agent.windowSeconds).toISOString()}` } },
        ConsistentRead: true,
      }),
    );
    const setsOf = (family: string) =>
      Object.entries(Item ?? {})
        .filter(([name]) => new RegExp(`^${family}[A-Za-z0-9_-]$`).test(name))
        .flatMap(([, value]) => value.SS ?? []);
    const compact = setsOf('u');
    expect(compact.every((v) => v.length === 22)).toBe(true);
    expect(compact.map(decodeCompact).sort()).toEqual([...uuids].sort());
    expect(setsOf('r').sort()).toEqual([...others].sort());
    expect(Item?.writes?.N).toBe(String(uuids.length + others.length));
  });
});

describe('a full window item', () => {
  let servers: LocalServers;
  beforeAll(async () => {
    // A 4 KB limit stands for DynamoDB's 400 KB: the same accounting (attribute names and values), 100 times sooner.
    servers = await startServers({ maxItemSizeKb: 4 });
  });
  afterAll(async () => {
    await servers.stop();
  });

  test('fails when a call is lost once the item cannot hold more ids, or when an id takes more than its 22 bytes', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, `full-${Date.now()}`, { maxDestructiveCalls: 10_000, maxDeniedCalls: 10_000 });
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients, { now: () => NOW });
    const store = new BreakerStore(servers.clients.dynamodb, tableName);
    const windowStart = windowStartOf(NOW, agent.windowSeconds);
    const stored = async () => {
      const { Item } = await servers.clients.dynamodb.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { pk: { S: `agent#${agent.agentName}` }, sk: { S: `window#${windowStart.toISOString()}` } },
          ConsistentRead: true,
        }),
      );
      return Object.entries(Item ?? {}).filter(([name]) => /^u.$/.test(name)).flatMap(([, v]) => v.SS ?? []).length;
    };
    // WHEN the agent makes 250 calls in the window (more than 4 KB of ids)
    for (let i = 0; i < 250; i++) await processor.process(withEventId(agent.roleArn, randomUUID()));
    // THEN every call counted (fail closed: beyond the item's room a call counts without its id, never not at all)
    expect(await store.window(agent.agentName, windowStart)).toMatchObject({ writes: 250, destructive: 250 });
    // AND the item held the ids of the calls it had room for: 22 bytes each, beside the key, the counters and the set names
    const ids = await stored();
    expect(ids).toBeGreaterThanOrEqual(Math.floor((4096 - 512) / 22));
    expect(ids).toBeLessThan(250);
  });
});
