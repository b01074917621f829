/**
 * The circuit breaker handler against dynalite on 127.0.0.1 (IAM and SNS on the local query
 * endpoint): its throughput in events per second, and the time from the threshold-crossing event
 * to the quarantine policy landing at IAM. Baselines from the same run on the same servers: a
 * plain DynamoDB UpdateItem (ADD) loop at the same concurrency, and one UpdateItem round trip.
 */
import { AttributeValue, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { BreakerProcessor } from '../lib/circuit-breaker/runtime/processor';
import { BreakerStore } from '../lib/circuit-breaker/runtime/store';
import { cloudTrailEvent, config, createTable, startServers, watched } from '../test/circuit-breaker/breaker-fixtures';
import { medianMs } from './timing';

const EVENTS = 2000;
const CONCURRENCY = 50;
const ROUNDS = 5;

async function timedMs(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        await task(i);
      }
    }),
  );
}

/** An item's size as DynamoDB bills it (attribute names plus values; a number as its digits), in bytes. */
function itemBytes(item: Record<string, AttributeValue>): number {
  const sizeOf = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) return Math.ceil(v.N.length / 2) + 1;
    return (v.SS ?? []).reduce((n, x) => n + Buffer.byteLength(x), 0);
  };
  return Object.entries(item).reduce((n, [name, v]) => n + Buffer.byteLength(name) + sizeOf(v), 0);
}

export async function bench(): Promise<void> {
  const servers = await startServers();
  try {
    const { dynamodb } = servers.clients;
    const tableName = await createTable(dynamodb);
    // Throughput: events of one agent that never trips (thresholds far above the burst).
    const steady = watched(servers.iam, 'steady', { maxDestructiveCalls: 1_000_000, maxDeniedCalls: 1_000_000 });
    // The handler's clock stands in each round's window: the events are on time, not late deliveries.
    let clock = new Date();
    const processor = new BreakerProcessor(config(tableName, [steady]), servers.clients, { now: () => clock });
    // Fresh events each run, in a window of their own (a repeated event is a redelivery, which
    // counts nothing: a different path); every run checks that each event counted exactly once.
    // Handler and baseline runs alternate, so that both meet the same load on a shared machine;
    // the ratio is the median of the rounds' ratios (after one warm-up round).
    const store = new BreakerStore(dynamodb, tableName);
    const rounds: Array<{ handlerMs: number; plainMs: number }> = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const windowStart = new Date(Date.UTC(2026, 10, 24, 10) + round * steady.windowSeconds * 1000);
      const eventTime = new Date(windowStart.getTime() + 1000).toISOString();
      clock = new Date(windowStart.getTime() + 2000);
      const events = Array.from({ length: EVENTS }, () => cloudTrailEvent({ roleArn: steady.roleArn, eventTime }));
      const handlerMs = await timedMs(() => inParallel(EVENTS, CONCURRENCY, (i) => processor.process(events[i])));
      const counted = await store.window(steady.agentName, windowStart);
      if (counted.writes !== EVENTS) throw new Error(`counted ${counted.writes} of ${EVENTS} events: not exactly once`);
      const plainMs = await timedMs(() =>
        inParallel(EVENTS, CONCURRENCY, () =>
          dynamodb.send(
            new UpdateItemCommand({
              TableName: tableName,
              Key: { pk: { S: 'baseline' }, sk: { S: 'counter' } },
              UpdateExpression: 'ADD n :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            }),
          ),
        ),
      );
      if (round > 0) rounds.push({ handlerMs, plainMs });
    }
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
    const handlerRate = EVENTS / (median(rounds.map((r) => r.handlerMs)) / 1000);
    const plainRate = EVENTS / (median(rounds.map((r) => r.plainMs)) / 1000);
    const ratio = median(rounds.map((r) => r.plainMs / r.handlerMs));
    // What DynamoDB bills each write of the window by: the item's full size (1 WCU per KB), ids included.
    const lastWindow = new Date(Date.UTC(2026, 10, 24, 10) + ROUNDS * steady.windowSeconds * 1000).toISOString();
    const windowKey = { pk: { S: `agent#${steady.agentName}` }, sk: { S: `window#${lastWindow}` } };
    const { Item: windowItem = {} } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: windowKey, ConsistentRead: true }));
    const idSets = Object.entries(windowItem).filter(([name]) => /^[ur].$/.test(name));
    const ids = idSets.reduce((n, [, v]) => n + (v.SS?.length ?? 0), 0);
    const idBytes = idSets.reduce((n, [, v]) => n + (v.SS ?? []).reduce((m, x) => m + Buffer.byteLength(x), 0), 0);
    const bytes = itemBytes(windowItem);
    console.log(`breaker handler throughput: ${handlerRate.toFixed(0)} events/s (${EVENTS} events, ${CONCURRENCY} concurrent, each counted once)`);
    console.log(
      `  baseline plain UpdateItem ADD loop: ${plainRate.toFixed(0)} ops/s; handler / baseline = ${ratio.toFixed(2)} ` +
        `(median of ${ROUNDS} alternating rounds; target at least 0.9)`,
    );
    console.log(
      `  window item after ${ids} events: ${(bytes / 1024).toFixed(1)} KB (${(idBytes / ids).toFixed(1)} bytes an id), so its last ` +
        `write costs ${Math.ceil(bytes / 1024)} WCU in DynamoDB; ${Math.ceil((bytes - idBytes + ids * 36) / 1024)} WCU with the ids as they came`,
    );

    // Trip latency: from the threshold-crossing event entering the handler to PutRolePolicy landing.
    let run = 0;
    let landed = 0n;
    servers.iam.onCall = (call) => {
      if (call.action === 'PutRolePolicy') landed = process.hrtime.bigint();
    };
    const tripTimes: number[] = [];
    await medianMs(async () => {
      const agent = watched(servers.iam, `runaway-${++run}`, { maxDestructiveCalls: 10 });
      const p = new BreakerProcessor(config(tableName, [agent]), servers.clients);
      for (let i = 0; i < 10; i++) await p.process(cloudTrailEvent({ roleArn: agent.roleArn }));
      const start = process.hrtime.bigint();
      const result = await p.process(cloudTrailEvent({ roleArn: agent.roleArn }));
      if (result.outcome !== 'tripped') throw new Error(`expected a trip, got ${result.outcome}`);
      tripTimes.push(Number(landed - start) / 1e6);
    }, 5);
    tripTimes.sort((a, b) => a - b);
    const tripMs = tripTimes[Math.floor(tripTimes.length / 2)];
    const roundTripMs = await medianMs(
      () =>
        dynamodb.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { pk: { S: 'baseline' }, sk: { S: 'single' } },
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          }),
        ),
      21,
    );
    console.log(`threshold-crossing event to quarantine written: ${tripMs.toFixed(1)} ms (median of ${tripTimes.length})`);
    console.log(`  baseline one UpdateItem round trip: ${roundTripMs.toFixed(1)} ms; trip / round trip = ${(tripMs / roundTripMs).toFixed(1)}x`);
  } finally {
    await servers.stop();
  }
}
