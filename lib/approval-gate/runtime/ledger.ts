import { randomUUID } from 'crypto';
import {
  AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

/** Sort key values of the ledger: one request item, one decision item per approver, append-only events. */
export const RECORD = {
  request: 'REQUEST',
  decision: (principal: string) => `DECISION#${principal}`,
  event: () => `EVENT#${new Date().toISOString()}#${randomUUID()}`,
  /** One item per announcement (`REQUESTED`, `APPROVED#<principal>`, `REJECTED`, `OUTCOME`): each is published once. */
  notice: (kind: string) => `NOTICE#${kind}`,
} as const;

export type RequestStatus = 'PENDING' | 'APPROVED' | 'REJECTED';

/** The request as the workflow wrote it to the ledger (the task token is never returned to callers). */
export interface LedgerRequest {
  readonly requestId: string;
  readonly status: RequestStatus;
  readonly operation: string;
  readonly resource: string;
  readonly canonical: string;
  readonly digest: string;
  readonly reason: string;
  readonly sourceIdentity: string;
  readonly requesters: string[];
  readonly requiredApprovals: number;
  readonly executionArn: string;
  readonly requestedAt: string;
  readonly approvals: string[];
  readonly outcome?: string;
  readonly outcomeDetail?: string;
  readonly decidedBy?: string;
  readonly rejectReason?: string;
  readonly taskToken?: string;
  /** Set by the workflow once it accepted the decision and checked the quorum against this record. */
  readonly acceptedAt?: string;
  /** Set once Step Functions confirmed the delivery of the decision. */
  readonly deliveredAt?: string;
  /** The idempotency token of the call that decided (read back after a retried write). */
  readonly decisionToken?: string;
  /** Credentials mode: when the workflow opened the collection window (set once). */
  readonly collectableAt?: string;
  /** Credentials mode: how long the window stays open, in seconds. */
  readonly collectWithinSeconds?: number;
  /** Credentials mode: when the requester's collection was recorded (before STS is asked). */
  readonly collectedAt?: string;
  /** Credentials mode: the authenticated session that collected. */
  readonly collectedBy?: string;
}

/** An announcement to the approvers' topic, stored before it is published so that it is published once and retried until it is. */
export interface LedgerNotice {
  readonly requestId: string;
  readonly record: string;
  readonly subject: string;
  /** The SNS message (MessageStructure json) exactly as published. */
  readonly message: string;
  readonly state: 'PENDING' | 'SENT';
  readonly createdAt: string;
}

/** What claiming a notice found: a new one (publish it), one not yet confirmed sent (publish it again), or one sent. */
export type NoticeClaim = 'new' | 'pending' | 'sent';

/** What recording one approver's approval did. */
export type ApprovalRecording = 'recorded' | 'already-recorded';

/** A decision write and whether this call's write is the one that decided. */
export interface DecideResult {
  readonly request: LedgerRequest;
  readonly ours: boolean;
}

export interface LedgerRecord {
  readonly record: string;
  readonly [key: string]: unknown;
}

const s = (v: string): AttributeValue => ({ S: v });

function plain(item: Record<string, AttributeValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) {
    out[k] = v.S ?? (v.N !== undefined ? Number(v.N) : (v.SS ?? v.BOOL ?? v.NULL ?? undefined));
  }
  return out;
}

function toRequest(item: Record<string, AttributeValue>): LedgerRequest {
  const p = plain(item) as any;
  let requesters: string[] = [];
  try {
    requesters = JSON.parse(p.requesters ?? '[]');
  } catch {
    // An unreadable requester list must not make anyone eligible: the handler refuses below.
    requesters = ['<unreadable>'];
  }
  return { ...p, requesters, approvals: p.approvals ?? [], requiredApprovals: Number(p.requiredApprovals ?? 1) };
}

const NOT_ACCEPTED = ' AND attribute_not_exists(acceptedAt)';

function isConditionFailure(e: unknown): boolean {
  return e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';
}

/** The audit ledger of an approval gate. Every write that decides is conditional: a request is decided once. */
export class ApprovalLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  public async getRequest(requestId: string): Promise<LedgerRequest | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { requestId: s(requestId), record: s(RECORD.request) }, ConsistentRead: true }),
    );
    return out.Item ? toRequest(out.Item) : undefined;
  }

  public async records(requestId: string): Promise<LedgerRecord[]> {
    const items: LedgerRecord[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'requestId = :id',
          ExpressionAttributeValues: { ':id': s(requestId) },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(out.Items ?? []).map((i) => plain(i) as LedgerRecord));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  public async listPending(): Promise<LedgerRequest[]> {
    const found = await this.scanRequests('#s = :pending AND ', { '#s': 'status' }, { ':pending': s('PENDING') });
    return found.sort((x, y) => x.requestedAt.localeCompare(y.requestedAt));
  }

  /** Every request record without an outcome that also matches `filter` (a FilterExpression prefix ending in AND, or ''). */
  private async scanRequests(
    filter: string,
    names: Record<string, string> = {},
    values: Record<string, AttributeValue> = {},
  ): Promise<LedgerRequest[]> {
    const found: LedgerRequest[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          ExclusiveStartKey: start,
          FilterExpression: `#r = :request AND ${filter}attribute_not_exists(outcome)`,
          ExpressionAttributeNames: { '#r': 'record', ...names },
          ExpressionAttributeValues: { ':request': s(RECORD.request), ...values },
        }),
      );
      found.push(...(out.Items ?? []).map(toRequest));
      start = out.LastEvaluatedKey;
    } while (start);
    return found;
  }

  /** Stores the task token of a pending request, once. */
  public async registerToken(requestId: string, taskToken: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { requestId: s(requestId), record: s(RECORD.request) },
          UpdateExpression: 'SET taskToken = :t',
          ConditionExpression: 'attribute_exists(requestId) AND #s = :pending AND attribute_not_exists(taskToken)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':t': s(taskToken), ':pending': s('PENDING') },
        }),
      );
      return true;
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      // The SDK retries a write whose answer was lost; its retry then fails the condition although
      // the first attempt stored this very token. Only a different (or no) token is a refusal.
      return (await this.getRequest(requestId))?.taskToken === taskToken;
    }
  }

  /** Appends an event (refusals, decisions, delivery failures). Never overwrites. */
  public async appendEvent(requestId: string, event: Record<string, string>): Promise<void> {
    const item: Record<string, AttributeValue> = { requestId: s(requestId), record: s(RECORD.event()), at: s(new Date().toISOString()) };
    for (const [k, v] of Object.entries(event)) item[k] = s(v);
    try {
      await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(requestId)' }));
    } catch (e) {
      // The key is unique to this call: a failed condition means the SDK's retry found our own
      // first attempt, which applied although its answer was lost.
      if (!isConditionFailure(e)) throw e;
    }
  }

  /**
   * Records one approver's approval, once per approver. `token` is unique to the call: when the
   * condition fails the item is read back, and our own token means the SDK retried a write that had
   * applied (recorded by this call), another token means this approver approved before.
   */
  public async recordApproval(requestId: string, principal: string, arn: string, digest: string, token: string): Promise<ApprovalRecording> {
    const key = { requestId: s(requestId), record: s(RECORD.decision(principal)) };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...key,
            decision: s('APPROVE'),
            principal: s(principal),
            callerArn: s(arn),
            digest: s(digest),
            token: s(token),
            at: s(new Date().toISOString()),
          },
          ConditionExpression: 'attribute_not_exists(requestId)',
        }),
      );
      return 'recorded';
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      return out.Item?.token?.S === token ? 'recorded' : 'already-recorded';
    }
  }

  /**
   * Adds the approver to the request's set while it is still pending. Adding to a set is idempotent,
   * so a retry is harmless; when the condition fails, the record is read back and the approval
   * counted if the set holds the approver (our first attempt applied before a decision). Returns
   * the request and whether the approver is counted in it.
   */
  public async addApprover(requestId: string, principal: string): Promise<{ request: LedgerRequest | undefined; counted: boolean }> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { requestId: s(requestId), record: s(RECORD.request) },
          UpdateExpression: 'ADD approvals :p',
          ConditionExpression: '#s = :pending AND attribute_exists(taskToken) AND attribute_not_exists(outcome)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':p': { SS: [principal] }, ':pending': s('PENDING') },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { request: toRequest(out.Attributes!), counted: true };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const now = await this.getRequest(requestId);
      return { request: now, counted: now?.approvals.includes(principal) ?? false };
    }
  }

  /**
   * Moves a pending request to its final decision; exactly one decision is ever recorded. The write
   * carries the caller's token: when its condition fails the record is read back, and our token
   * means our own first attempt decided (the SDK retried a write whose answer was lost).
   */
  public async decide(
    requestId: string,
    decision: 'APPROVED' | 'REJECTED',
    by: string,
    requiredApprovals: number,
    token: string,
    rejectReason?: string,
  ): Promise<DecideResult | undefined> {
    const names: Record<string, string> = { '#s': 'status' };
    const values: Record<string, AttributeValue> = {
      ':pending': s('PENDING'),
      ':d': s(decision),
      ':by': s(by),
      ':at': s(new Date().toISOString()),
      ':tok': s(token),
    };
    let condition = '#s = :pending AND attribute_exists(taskToken) AND attribute_not_exists(outcome)';
    let update = 'SET #s = :d, decidedBy = :by, decidedAt = :at, decisionToken = :tok';
    if (decision === 'APPROVED') {
      condition += ' AND size(approvals) >= :n';
      values[':n'] = { N: String(requiredApprovals) };
    } else {
      update += ', rejectReason = :reason';
      values[':reason'] = s(rejectReason ?? '');
    }
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { requestId: s(requestId), record: s(RECORD.request) },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { request: toRequest(out.Attributes!), ours: true };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const now = await this.getRequest(requestId);
      return now ? { request: now, ours: now.decisionToken === token } : undefined;
    }
  }

  /**
   * Closes a decided request the workflow no longer waits for and has not accepted: it then can never
   * be performed, because the workflow's own check before performing requires that no outcome exists.
   * The two conditions make "accepted" and "closed" mutually exclusive. Returns the record after.
   */
  public async closeUndeliverable(requestId: string, detail: string): Promise<LedgerRequest | undefined> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { requestId: s(requestId), record: s(RECORD.request) },
          UpdateExpression: 'SET outcome = :o, outcomeDetail = :d, finishedAt = :t',
          ConditionExpression:
            'attribute_exists(requestId) AND attribute_not_exists(acceptedAt) AND attribute_not_exists(deliveredAt) ' +
            'AND attribute_not_exists(outcome)',
          ExpressionAttributeValues: { ':o': s('UNDELIVERABLE'), ':d': s(detail), ':t': s(new Date().toISOString()) },
        }),
      );
    } catch (e) {
      // Accepted, closed or finished meanwhile (or our own retried close): the record read below says which.
      if (!isConditionFailure(e)) throw e;
    }
    return this.getRequest(requestId);
  }

  /** Notes that Step Functions confirmed the delivery (idempotent: a retry sets the same mark). */
  public async markDelivered(requestId: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { requestId: s(requestId), record: s(RECORD.request) },
        UpdateExpression: 'SET deliveredAt = if_not_exists(deliveredAt, :t)',
        ConditionExpression: 'attribute_exists(requestId)',
        ExpressionAttributeValues: { ':t': s(new Date().toISOString()) },
      }),
    );
  }

  /** Decided requests the workflow has not yet accepted and that are not finished: their decision still needs delivering. */
  public listUndelivered(): Promise<LedgerRequest[]> {
    return this.scanRequests(
      '#s <> :pending AND attribute_exists(taskToken) AND attribute_not_exists(acceptedAt) AND attribute_not_exists(deliveredAt) AND ',
      { '#s': 'status' },
      { ':pending': s('PENDING') },
    );
  }

  /** Requests without an outcome, whatever their status: candidates for reconciliation against their execution. */
  public listOpen(): Promise<LedgerRequest[]> {
    return this.scanRequests('');
  }

  /**
   * Records the final state of a request whose execution ended without recording one. With
   * `notAccepted`, only while the workflow never accepted a decision (so nothing can have been
   * performed); with `notCollected`, only while no credentials collection is recorded. The token
   * tells our own retried write from another writer's. Returns the record
   * after the write and whether this call's write is the one that recorded the outcome.
   */
  public async recordReconciledOutcome(
    requestId: string,
    outcome: string,
    detail: string,
    token: string,
    notAccepted: boolean,
    notCollected = false,
  ): Promise<{ request: LedgerRequest | undefined; ours: boolean }> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { requestId: s(requestId), record: s(RECORD.request) },
          UpdateExpression: 'SET outcome = :o, outcomeDetail = :d, finishedAt = :t, reconciledAt = :t, reconcileToken = :tok',
          // notCollected: an outcome saying "nothing was issued" must lose to a collection recorded meanwhile.
          ConditionExpression:
            `attribute_exists(requestId) AND attribute_not_exists(outcome)${notAccepted ? NOT_ACCEPTED : ''}` +
            (notCollected ? ' AND attribute_not_exists(collectedAt)' : ''),
          ExpressionAttributeValues: { ':o': s(outcome), ':d': s(detail), ':t': s(new Date().toISOString()), ':tok': s(token) },
        }),
      );
      return { request: await this.getRequest(requestId), ours: true };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const now = await this.getRequest(requestId);
      return { request: now, ours: (now as { reconcileToken?: string } | undefined)?.reconcileToken === token };
    }
  }

  /**
   * Stores a notice before it is published. A notice already stored is never replaced: the first
   * rendering is the one published (also when the SDK retried a put whose answer was lost).
   */
  public async claimNotice(requestId: string, kind: string, subject: string, message: string): Promise<NoticeClaim> {
    const key = { requestId: s(requestId), record: s(RECORD.notice(kind)) };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...key, subject: s(subject), message: s(message), state: s('PENDING'), createdAt: s(new Date().toISOString()) },
          ConditionExpression: 'attribute_not_exists(requestId)',
        }),
      );
      return 'new';
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      return out.Item?.state?.S === 'SENT' ? 'sent' : 'pending';
    }
  }

  /** Marks a notice as published (idempotent). */
  public async markNoticeSent(requestId: string, kind: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { requestId: s(requestId), record: s(RECORD.notice(kind)) },
        UpdateExpression: 'SET #st = :sent, sentAt = if_not_exists(sentAt, :t)',
        ConditionExpression: 'attribute_exists(requestId)',
        ExpressionAttributeNames: { '#st': 'state' },
        ExpressionAttributeValues: { ':sent': s('SENT'), ':t': s(new Date().toISOString()) },
      }),
    );
  }

  /** Notices stored before `before` and not confirmed sent: the sweep publishes them again. */
  public async listUnsentNotices(before: string): Promise<LedgerNotice[]> {
    const found: LedgerNotice[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          ExclusiveStartKey: start,
          FilterExpression: 'begins_with(#r, :notice) AND #st = :pending AND createdAt < :before',
          ExpressionAttributeNames: { '#r': 'record', '#st': 'state' },
          ExpressionAttributeValues: { ':notice': s(RECORD.notice('')), ':pending': s('PENDING'), ':before': s(before) },
        }),
      );
      found.push(...(out.Items ?? []).map((i) => plain(i) as unknown as LedgerNotice));
      start = out.LastEvaluatedKey;
    } while (start);
    return found;
  }
}
