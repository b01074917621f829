/**
 * The breaker's DynamoDB table: per-agent window counters (atomic ADD, expiring by TTL), the
 * breaker state of each agent (one item, changed only by conditional writes: one incident trips
 * once), and the append-only ledger of trips and resets (no TTL).
 */
import {
  ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

export type AttributeMap = Record<string, { S?: string; N?: string; BOOL?: boolean }>;

/** How long counters outlive their window, so that an incident can be investigated. */
export const COUNTER_RETENTION_SECONDS = 7 * 24 * 3600;

export interface WindowCounts {
  readonly windowStart: string;
  readonly writes: number;
  readonly destructive: number;
  readonly denied: number;
}

export interface BreakerState {
  readonly state: 'tripped' | 'closed';
  readonly incidentId?: string;
  readonly trippedAt?: string;
  readonly reason?: string;
  readonly trippedBy?: string;
  readonly completedAt?: string;
}

export interface LedgerRecord {
  readonly kind: 'trip' | 'manual-trip' | 'reset' | 'monitor-alert';
  readonly agentName: string;
  readonly incidentId: string;
  readonly at: string;
  readonly actor: string;
  readonly details: Record<string, unknown>;
}

const agentKey = (agentName: string) => `agent#${agentName}`;
const num = (v: { N?: string } | undefined) => Number(v?.N ?? '0');
// A window's counts since the last human reset: the raw counter minus what it held at the reset.
function sinceReset(item: AttributeMap, windowStart: Date): WindowCounts {
  return {
    windowStart: windowStart.toISOString(),
    writes: num(item.writes) - num(item.baseWrites),
    destructive: num(item.destructive) - num(item.baseDestructive),
    denied: num(item.denied) - num(item.baseDenied),
  };
}

export function isConditionFailure(e: unknown): boolean {
  return e instanceof ConditionalCheckFailedException || (e as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** The start of the fixed window a moment falls in. */
export function windowStartOf(at: Date, windowSeconds: number): Date {
  const ms = windowSeconds * 1000;
  return new Date(Math.floor(at.getTime() / ms) * ms);
}

export class BreakerStore {
  constructor(private readonly dynamodb: DynamoDBClient, private readonly tableName: string) {}

  /** Adds to the counters of the agent's window atomically and returns the window's totals after the add. */
  public async count(agentName: string, windowStart: Date, windowSeconds: number, add: { writes: number; destructive: number; denied: number }): Promise<WindowCounts> {
    const expiresAt = Math.floor(windowStart.getTime() / 1000) + windowSeconds + COUNTER_RETENTION_SECONDS;
    const result = await this.dynamodb.send(new UpdateItemCommand({
      TableName: this.tableName,
      Key: { pk: { S: agentKey(agentName) }, sk: { S: `window#${windowStart.toISOString()}` } },
      UpdateExpression: 'SET expiresAt = :exp ADD writes :w, destructive :d, denied :x',
      ExpressionAttributeValues: {
        ':exp': { N: String(expiresAt) },
        ':w': { N: String(add.writes) },
        ':d': { N: String(add.destructive) },
        ':x': { N: String(add.denied) },
      },
      ReturnValues: 'ALL_NEW',
    }));
    return sinceReset((result.Attributes ?? {}) as AttributeMap, windowStart);
  }

  /** The counts of one window of an agent (zero when none were counted). */
  public async window(agentName: string, windowStart: Date): Promise<WindowCounts> {
    const result = await this.dynamodb.send(new GetItemCommand({
      TableName: this.tableName,
      Key: { pk: { S: agentKey(agentName) }, sk: { S: `window#${windowStart.toISOString()}` } },
    }));
    return sinceReset((result.Item ?? {}) as AttributeMap, windowStart);
  }

  /**
   * After a human reset: the calls counted so far stop counting (each window's counters keep their
   * totals as evidence, and a base to subtract), so that the re-armed breaker does not trip again
   * on the incident it was reset from. Returns how many windows were rebased.
   */
  public async rebaseWindows(agentName: string): Promise<number> {
    let rebased = 0;
    let startKey: Record<string, any> | undefined;
    do {
      const page = await this.dynamodb.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :window)',
        ExpressionAttributeValues: { ':pk': { S: agentKey(agentName) }, ':window': { S: 'window#' } },
        ProjectionExpression: 'sk',
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }));
      for (const item of page.Items ?? []) {
        // Atomic per item: an ADD racing with the reset lands either in the base or after it.
        await this.dynamodb.send(new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: agentKey(agentName) }, sk: item.sk },
          UpdateExpression: 'SET baseWrites = writes, baseDestructive = destructive, baseDenied = denied',
          ConditionExpression: 'attribute_exists(writes) AND attribute_exists(destructive) AND attribute_exists(denied)',
        }));
        rebased++;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return rebased;
  }

  /**
   * Claims a new incident: succeeds for exactly one caller while the breaker is closed, however many
   * race. Returns false when the breaker is already tripped.
   */
  public async claimIncident(agentName: string, incident: { incidentId: string; trippedAt: string; reason: string; trippedBy: string }): Promise<boolean> {
    try {
      await this.dynamodb.send(new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
        UpdateExpression: 'SET #state = :tripped, incidentId = :id, trippedAt = :at, reason = :reason, trippedBy = :by REMOVE completedAt',
        ConditionExpression: 'attribute_not_exists(#state) OR #state = :closed',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':tripped': { S: 'tripped' },
          ':closed': { S: 'closed' },
          ':id': { S: incident.incidentId },
          ':at': { S: incident.trippedAt },
          ':reason': { S: incident.reason },
          ':by': { S: incident.trippedBy },
        },
      }));
      return true;
    } catch (e) {
      if (isConditionFailure(e)) {
        return false;
      }
      throw e;
    }
  }

  /** Records that the trip's quarantine, ledger record and alert are all done. */
  public async markCompleted(agentName: string, incidentId: string, at: string): Promise<void> {
    try {
      await this.dynamodb.send(new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
        UpdateExpression: 'SET completedAt = :at',
        ConditionExpression: 'incidentId = :id',
        ExpressionAttributeValues: { ':at': { S: at }, ':id': { S: incidentId } },
      }));
    } catch (e) {
      // A human reset in between: nothing to mark.
      if (!isConditionFailure(e)) throw e;
    }
  }

  /** Closes the breaker (a human reset); returns the incident that was open, if any. */
  public async close(agentName: string, resetBy: string, at: string): Promise<BreakerState | undefined> {
    const result = await this.dynamodb.send(new UpdateItemCommand({
      TableName: this.tableName,
      Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
      UpdateExpression: 'SET #state = :closed, resetBy = :by, resetAt = :at',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':closed': { S: 'closed' }, ':by': { S: resetBy }, ':at': { S: at } },
      ReturnValues: 'ALL_OLD',
    }));
    return result.Attributes ? toState(result.Attributes as AttributeMap) : undefined;
  }

  public async state(agentName: string): Promise<BreakerState | undefined> {
    const result = await this.dynamodb.send(new GetItemCommand({
      TableName: this.tableName,
      Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
      ConsistentRead: true,
    }));
    return result.Item ? toState(result.Item as AttributeMap) : undefined;
  }

  /** Claims the one monitor-only alert of an agent's window. */
  public async claimMonitorAlert(agentName: string, windowStart: string, expiresAt: number): Promise<boolean> {
    try {
      await this.dynamodb.send(new PutItemCommand({
        TableName: this.tableName,
        Item: { pk: { S: agentKey(agentName) }, sk: { S: `monitor#${windowStart}` }, expiresAt: { N: String(expiresAt) } },
        ConditionExpression: 'attribute_not_exists(sk)',
      }));
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** Appends a ledger record; writing the same record twice (a retry) keeps the first. */
  public async appendLedger(record: LedgerRecord): Promise<void> {
    try {
      await this.dynamodb.send(new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: { S: agentKey(record.agentName) },
          sk: { S: `ledger#${record.at}#${record.kind}#${record.incidentId}` },
          kind: { S: record.kind },
          incidentId: { S: record.incidentId },
          at: { S: record.at },
          actor: { S: record.actor },
          details: { S: JSON.stringify(record.details) },
        },
        ConditionExpression: 'attribute_not_exists(sk)',
      }));
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }
}

function toState(item: AttributeMap): BreakerState {
  return {
    // Anything but an explicit "closed" reads as tripped: fail closed.
    state: item.state?.S === 'closed' ? 'closed' : 'tripped',
    incidentId: item.incidentId?.S,
    trippedAt: item.trippedAt?.S,
    reason: item.reason?.S,
    trippedBy: item.trippedBy?.S,
    completedAt: item.completedAt?.S,
  };
}
