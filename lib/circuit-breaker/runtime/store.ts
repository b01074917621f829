/**
 * The breaker's DynamoDB table: per-agent window counters (atomic ADD, expiring by TTL), the
 * breaker state of each agent (one item, changed only by conditional writes: one incident trips
 * once), and the append-only ledger of trips and resets (no TTL).
 */
import {
  AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

export type AttributeMap = Record<string, { S?: string; N?: string; BOOL?: boolean }>;

/** How long counters outlive their window, so that an incident can be investigated. */
export const COUNTER_RETENTION_SECONDS = 7 * 24 * 3600;

/** What `count` returns: the window's totals after the add. */
export interface CountResult extends WindowCounts {
  /** false: raw totals (the bases of a human reset not subtracted); true: totals since the last reset. */
  readonly sinceReset: boolean;
  /** The window's late marks after the add (-1: unknown); a change means the previous window grew. */
  readonly lateMarks: number;
}

export interface WindowCounts {
  readonly windowStart: string;
  readonly writes: number;
  readonly destructive: number;
  readonly denied: number;
}

/**
 * `resetting`: a human reset is under way (between re-arming and lifting the quarantine). No trip
 * may claim an incident then (the reset owns the quarantine policy); a trip that would have
 * claimed one is recorded as pending, and the reset turns it into a trip instead of closing.
 */
export interface BreakerState {
  readonly state: 'tripped' | 'closed' | 'resetting';
  readonly incidentId?: string;
  readonly trippedAt?: string;
  readonly reason?: string;
  readonly trippedBy?: string;
  readonly completedAt?: string;
  /** The reset under way (state `resetting`). */
  readonly resetId?: string;
  readonly resetAt?: string;
  readonly resetBy?: string;
  /** A trip that happened while the reset was under way; the reset completes it instead of closing. */
  readonly pendingIncident?: Incident;
  /** The reset that last ended (closed or reverted) the breaker: the token a retried end is read back by. */
  readonly lastResetId?: string;
  /** The state the breaker was in when the reset under way began. */
  readonly resetFrom?: string;
}

export interface Incident {
  readonly incidentId: string;
  readonly trippedAt: string;
  readonly reason: string;
  readonly trippedBy: string;
}

export interface LedgerRecord {
  readonly kind:
    'trip' | 'manual-trip' | 'reset' | 'reset-aborted' | 'reset-incomplete' | 'monitor-alert' | 'quarantine-failed' | 'quarantine-restored';
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

const ID_SET_NAMES = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** A CloudTrail event id as CloudTrail writes it: a lowercase UUID (the only form kept compact, so that decoding gives it back exactly). */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Where a window item keeps an event's id, and in what form. */
export interface EventIdEntry {
  /** The string set holding it: `u` and one of 64 names for compact UUIDs, `r` and one of 64 for any other id. */
  readonly set: string;
  readonly value: string;
}

/**
 * How a window item keeps an event id, losslessly. A lowercase UUID (every CloudTrail event id) is
 * kept as the base64url of its 16 bytes: 22 characters instead of 36, and it decodes back to exactly
 * that id. Any other id is kept as it is, in sets of its own (`r...`), so an encoded UUID and a raw id
 * can never be taken for each other. The set is one of 64 per family, by a (FNV-1a) hash of the value,
 * so that the write's answer carries one small set, not every id of the window.
 */
export function eventIdEntry(eventId: string): EventIdEntry {
  const compact = CANONICAL_UUID.test(eventId);
  const value = compact ? Buffer.from(eventId.replace(/-/g, ''), 'hex').toString('base64url') : eventId;
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return { set: `${compact ? 'u' : 'r'}${ID_SET_NAMES[(h >>> 0) & 63]}`, value };
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
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /**
   * Adds to the counters of the agent's window atomically, once per event: one conditional
   * UpdateItem, no read. The event's id is added to the window item in the same conditional write:
   * an EventBridge or Lambda redelivery, or the SDK's retry of a write whose answer was lost, fails
   * the condition and counts nothing, because the event is counted already. Without an id the event
   * counts (fail closed: an agent can never make its calls uncountable).
   *
   * Returns the window's raw totals after the add (`sinceReset: false`: the bases a human reset set
   * are not subtracted) or, when the event was counted already, the totals since the reset as
   * `window` reads them. Raw totals are never below those since the reset: a caller that finds them
   * near a threshold reads `window` for the exact figure. The id is kept as `eventIdEntry` says
   * (22 bytes for a CloudTrail UUID): every write rewrites the whole item, and DynamoDB bills it by size.
   */
  public async count(
    agentName: string,
    windowStart: Date,
    windowSeconds: number,
    add: { writes: number; destructive: number; denied: number },
    eventId?: string,
  ): Promise<CountResult> {
    const expiresAt = Math.floor(windowStart.getTime() / 1000) + windowSeconds + COUNTER_RETENTION_SECONDS;
    const values: Record<string, AttributeValue> = {
      ':exp': { N: String(expiresAt) },
      ':w': { N: String(add.writes) },
      ':d': { N: String(add.destructive) },
      ':x': { N: String(add.denied) },
      ':zero': { N: '0' },
    };
    const id = eventId ? eventIdEntry(eventId) : undefined;
    if (id) {
      values[':ids'] = { SS: [id.value] };
      values[':id'] = { S: id.value };
    }
    try {
      const result = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: agentKey(agentName) }, sk: { S: `window#${windowStart.toISOString()}` } },
          // lateMarks (touched to be returned): how often calls were counted late into the previous window.
          UpdateExpression: `SET expiresAt = :exp ADD writes :w, destructive :d, denied :x, lateMarks :zero${id ? ', #ids :ids' : ''}`,
          ...(id
            ? { ConditionExpression: 'attribute_not_exists(#ids) OR NOT contains(#ids, :id)', ExpressionAttributeNames: { '#ids': id.set } }
            : {}),
          ExpressionAttributeValues: values,
          // The counters (and the event's id set), not every id of the window.
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const item = (result.Attributes ?? {}) as AttributeMap;
      return { ...sinceReset(item, windowStart), sinceReset: false, lateMarks: num(item.lateMarks) };
    } catch (e) {
      if (eventId && (e as Error)?.name === 'ValidationException' && /size/i.test((e as Error).message ?? '')) {
        // The window's item cannot hold more ids (400 KB): count without the check rather than not
        // at all. A duplicate may then count twice; a call is never lost (fail closed).
        return this.count(agentName, windowStart, windowSeconds, add);
      }
      if (!isConditionFailure(e)) throw e;
      // Counted already: evaluate the thresholds on the totals as they are (a redelivery after a
      // failed trip must still trip), without counting again.
      return { ...(await this.window(agentName, windowStart)), sinceReset: true, lateMarks: -1 };
    }
  }

  /**
   * Marks that a call was counted late into the window before `windowStart` (that window had ended):
   * a container's copy of that previous window is stale from here on. Creates the item if needed.
   */
  public async markLate(agentName: string, windowStart: Date, windowSeconds: number): Promise<void> {
    const expiresAt = Math.floor(windowStart.getTime() / 1000) + windowSeconds + COUNTER_RETENTION_SECONDS;
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: agentKey(agentName) }, sk: { S: `window#${windowStart.toISOString()}` } },
        UpdateExpression: 'SET expiresAt = if_not_exists(expiresAt, :exp) ADD lateMarks :one',
        ExpressionAttributeValues: { ':exp': { N: String(expiresAt) }, ':one': { N: '1' } },
      }),
    );
  }

  /**
   * Raw totals a `count` returned, as counts since the last human reset: the window's bases (what
   * it held at the reset) read consistently and subtracted. The figures stay those of the event's
   * own write, not of the calls counted after it.
   */
  public async sinceLastReset(agentName: string, raw: WindowCounts): Promise<WindowCounts> {
    const result = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: agentKey(agentName) }, sk: { S: `window#${raw.windowStart}` } },
        ProjectionExpression: 'baseWrites, baseDestructive, baseDenied',
        ConsistentRead: true,
      }),
    );
    const base = (result.Item ?? {}) as AttributeMap;
    // A reset that rebased after this write counts the event as the incident's: never below zero.
    return {
      windowStart: raw.windowStart,
      writes: Math.max(0, raw.writes - num(base.baseWrites)),
      destructive: Math.max(0, raw.destructive - num(base.baseDestructive)),
      denied: Math.max(0, raw.denied - num(base.baseDenied)),
    };
  }

  /** The counts of one window of an agent (zero when none were counted). */
  public async window(agentName: string, windowStart: Date): Promise<WindowCounts> {
    const result = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: agentKey(agentName) }, sk: { S: `window#${windowStart.toISOString()}` } },
        ProjectionExpression: 'writes, destructive, denied, baseWrites, baseDestructive, baseDenied',
        ConsistentRead: true,
      }),
    );
    return sinceReset((result.Item ?? {}) as AttributeMap, windowStart);
  }

  /**
   * After a human reset: the calls counted so far stop counting (each window's counters keep their
   * totals as evidence, and a base to subtract), so that the re-armed breaker does not trip again
   * on the incident it was reset from. Returns how many windows were rebased.
   */
  public async rebaseWindows(agentName: string, resetId = 'unnamed-reset'): Promise<number> {
    let rebased = 0;
    let startKey: Record<string, any> | undefined;
    do {
      const page = await this.dynamodb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :window)',
          ExpressionAttributeValues: { ':pk': { S: agentKey(agentName) }, ':window': { S: 'window#' } },
          ProjectionExpression: 'sk, writes',
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      // An item holding only late marks has nothing counted to rebase.
      for (const item of (page.Items ?? []).filter((i) => i.writes !== undefined)) {
        // Atomic per item: an ADD racing with the reset lands either in the base or after it. The
        // reset id is the token: the SDK's retry of a rebase that applied must not move the base
        // again over a call counted in between (that call would be lost).
        try {
          await this.dynamodb.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: { pk: { S: agentKey(agentName) }, sk: item.sk },
              UpdateExpression: 'SET baseWrites = writes, baseDestructive = destructive, baseDenied = denied, rebasedBy = :rid',
              ConditionExpression:
                'attribute_exists(writes) AND attribute_exists(destructive) AND attribute_exists(denied) AND ' +
                '(attribute_not_exists(rebasedBy) OR rebasedBy <> :rid)',
              ExpressionAttributeValues: { ':rid': { S: resetId } },
            }),
          );
        } catch (e) {
          if (!isConditionFailure(e)) throw e;
        }
        rebased++;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return rebased;
  }

  /**
   * Claims a new incident: succeeds for exactly one caller while the breaker is closed, however many
   * race. Returns false when the breaker is tripped, or a reset is under way (unless the reset began
   * before `overResetStartedBefore`: a human's manual trip overrides any reset, and the handler
   * overrides a reset that has stalled, so that a crashed reset cannot leave the breaker disarmed).
   */
  public async claimIncident(agentName: string, incident: Incident, options: { overResetStartedBefore?: string } = {}): Promise<boolean> {
    const overReset = options.overResetStartedBefore !== undefined;
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
          UpdateExpression:
            'SET #state = :tripped, incidentId = :id, trippedAt = :at, reason = :reason, trippedBy = :by REMOVE completedAt, resetId, ' +
            'pendingIncident, resetFrom',
          ConditionExpression:
            'attribute_not_exists(#state) OR #state = :closed' + (overReset ? ' OR (#state = :resetting AND resetAt < :before)' : ''),
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':tripped': { S: 'tripped' },
            ':closed': { S: 'closed' },
            ':id': { S: incident.incidentId },
            ':at': { S: incident.trippedAt },
            ':reason': { S: incident.reason },
            ':by': { S: incident.trippedBy },
            ...(overReset ? { ':resetting': { S: 'resetting' }, ':before': { S: options.overResetStartedBefore! } } : {}),
          },
        }),
      );
      return true;
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    // The SDK's retry of a claim that applied (answer lost) fails its condition: the incident id is the token.
    return (await this.state(agentName))?.incidentId === incident.incidentId;
  }

  /**
   * Records a trip that happened while a reset was under way; the reset then completes it instead
   * of closing. Exactly one trip per reset is recorded ('recorded'; later ones get
   * 'already-pending'); 'not-resetting' when that reset is no longer under way.
   */
  public async recordPendingTrip(agentName: string, resetId: string, incident: Incident): Promise<'recorded' | 'already-pending' | 'not-resetting'> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
          UpdateExpression: 'SET pendingIncident = :incident',
          ConditionExpression: '#state = :resetting AND resetId = :rid AND attribute_not_exists(pendingIncident)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':resetting': { S: 'resetting' }, ':rid': { S: resetId }, ':incident': { S: JSON.stringify(incident) } },
        }),
      );
      return 'recorded';
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    const state = await this.state(agentName);
    if (state?.state === 'resetting' && state.resetId === resetId && state.pendingIncident) {
      // Ours, when a retry of the write that applied failed its condition.
      return state.pendingIncident.incidentId === incident.incidentId ? 'recorded' : 'already-pending';
    }
    return 'not-resetting';
  }

  /**
   * Starts a human reset: from here on no trip claims an incident until the reset ends, and a trip
   * that would have is left pending on the reset. The quarantine stays in place until the reset has
   * closed the breaker. Returns the state before (read back by the reset id when the SDK retried a
   * write that applied).
   */
  public async beginReset(agentName: string, resetId: string, resetBy: string, at: string): Promise<BreakerState | undefined> {
    try {
      const result = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
          // A trip left pending on an earlier reset stays: this reset then aborts on it rather than lose it.
          UpdateExpression: 'SET resetFrom = if_not_exists(#state, :closed), #state = :resetting, resetId = :rid, resetBy = :by, resetAt = :at',
          ConditionExpression: 'attribute_not_exists(resetId) OR resetId <> :rid',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':resetting': { S: 'resetting' },
            ':closed': { S: 'closed' },
            ':rid': { S: resetId },
            ':by': { S: resetBy },
            ':at': { S: at },
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return result.Attributes ? toState(result.Attributes as AttributeMap) : undefined;
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    const state = await this.state(agentName);
    if (state?.resetId !== resetId) throw new Error(`reset ${resetId} of agent ${agentName} could not begin: the breaker state changed meanwhile`);
    return { ...state, state: state.resetFrom === 'closed' ? 'closed' : state.resetFrom === 'resetting' ? 'resetting' : 'tripped' };
  }

  /**
   * Closes the breaker at the end of a reset, before the quarantine is lifted: only if this reset is
   * still the one under way and no trip happened meanwhile (a trip during a reset wins). Returns
   * false otherwise (then read the state). The reset id is the token: a retry of a write that applied
   * fails its condition and is read back as applied.
   */
  public finishReset(agentName: string, resetId: string): Promise<boolean> {
    return this.endReset(agentName, resetId, 'closed');
  }

  /** Ends a reset that could not complete: the breaker is tripped again on its incident. */
  public revertReset(agentName: string, resetId: string): Promise<boolean> {
    return this.endReset(agentName, resetId, 'tripped');
  }

  private async endReset(agentName: string, resetId: string, state: 'closed' | 'tripped'): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
          UpdateExpression: 'SET #state = :next, lastResetId = :rid REMOVE resetId, resetFrom',
          ConditionExpression: '#state = :resetting AND resetId = :rid AND attribute_not_exists(pendingIncident)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':resetting': { S: 'resetting' }, ':next': { S: state }, ':rid': { S: resetId } },
        }),
      );
      return true;
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    return (await this.state(agentName))?.lastResetId === resetId;
  }

  /**
   * Trips again a breaker this reset has closed but could not finish (the lift failed, or its outcome
   * is unknown). Returns true when the breaker is tripped after (by this or by a trip meanwhile).
   */
  public async reopen(agentName: string, resetId: string): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
          UpdateExpression: 'SET #state = :tripped',
          ConditionExpression: '#state = :closed AND lastResetId = :rid',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':tripped': { S: 'tripped' }, ':closed': { S: 'closed' }, ':rid': { S: resetId } },
        }),
      );
      return true;
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    return (await this.state(agentName))?.state === 'tripped';
  }

  /** Turns the trip that happened during this reset into the breaker's incident (state tripped). */
  public async promotePendingTrip(agentName: string, resetId: string, incident: Incident): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
          UpdateExpression:
            'SET #state = :tripped, incidentId = :id, trippedAt = :at, reason = :reason, trippedBy = :by REMOVE completedAt, resetId, ' +
            'pendingIncident, resetFrom',
          ConditionExpression: '#state = :resetting AND resetId = :rid',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':resetting': { S: 'resetting' },
            ':rid': { S: resetId },
            ':tripped': { S: 'tripped' },
            ':id': { S: incident.incidentId },
            ':at': { S: incident.trippedAt },
            ':reason': { S: incident.reason },
            ':by': { S: incident.trippedBy },
          },
        }),
      );
      return true;
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    const now = await this.state(agentName);
    return now?.state === 'tripped' && now.incidentId === incident.incidentId;
  }

  /** Records that the trip's quarantine, ledger record and alert are all done. */
  public async markCompleted(agentName: string, incidentId: string, at: string): Promise<void> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
          UpdateExpression: 'SET completedAt = :at',
          ConditionExpression: 'incidentId = :id AND #state = :tripped',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':at': { S: at }, ':id': { S: incidentId }, ':tripped': { S: 'tripped' } },
        }),
      );
    } catch (e) {
      // A human reset in between: nothing to mark.
      if (!isConditionFailure(e)) throw e;
    }
  }

  public async state(agentName: string): Promise<BreakerState | undefined> {
    const result = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: agentKey(agentName) }, sk: { S: 'state' } },
        ConsistentRead: true,
      }),
    );
    return result.Item ? toState(result.Item as AttributeMap) : undefined;
  }

  /** Claims the one monitor-only alert of an agent's window; `claimant` is the token a retried claim is read back by. */
  public async claimMonitorAlert(agentName: string, windowStart: string, expiresAt: number, claimant: string): Promise<boolean> {
    const key = { pk: { S: agentKey(agentName) }, sk: { S: `monitor#${windowStart}` } };
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...key, expiresAt: { N: String(expiresAt) }, claimant: { S: claimant } },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
      return true;
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    const result = await this.dynamodb.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return result.Item?.claimant?.S === claimant;
  }

  /** Appends a ledger record; writing the same record twice (a retry) keeps the first. */
  public async appendLedger(record: LedgerRecord): Promise<void> {
    try {
      await this.dynamodb.send(
        new PutItemCommand({
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
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }
}

function toState(item: AttributeMap): BreakerState {
  const raw = item.state?.S;
  return {
    // Anything but an explicit "closed" or "resetting" reads as tripped: fail closed.
    state: raw === 'closed' || raw === 'resetting' ? raw : 'tripped',
    incidentId: item.incidentId?.S,
    trippedAt: item.trippedAt?.S,
    reason: item.reason?.S,
    trippedBy: item.trippedBy?.S,
    completedAt: item.completedAt?.S,
    resetId: item.resetId?.S,
    resetAt: item.resetAt?.S,
    resetBy: item.resetBy?.S,
    pendingIncident: item.pendingIncident?.S ? (JSON.parse(item.pendingIncident.S) as Incident) : undefined,
    lastResetId: item.lastResetId?.S,
    resetFrom: item.resetFrom?.S,
  };
}
