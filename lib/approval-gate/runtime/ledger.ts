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
    const found: LedgerRequest[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          ExclusiveStartKey: start,
          FilterExpression: '#r = :request AND #s = :pending AND attribute_not_exists(outcome)',
          ExpressionAttributeNames: { '#r': 'record', '#s': 'status' },
          ExpressionAttributeValues: { ':request': s(RECORD.request), ':pending': s('PENDING') },
        }),
      );
      found.push(...(out.Items ?? []).map(toRequest));
      start = out.LastEvaluatedKey;
    } while (start);
    return found.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
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
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** Appends an event (refusals, decisions, delivery failures). Never overwrites. */
  public async appendEvent(requestId: string, event: Record<string, string>): Promise<void> {
    const item: Record<string, AttributeValue> = { requestId: s(requestId), record: s(RECORD.event()), at: s(new Date().toISOString()) };
    for (const [k, v] of Object.entries(event)) item[k] = s(v);
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(requestId)' }));
  }

  /** Records one approver's approval; false when this approver has already approved this request. */
  public async recordApproval(requestId: string, principal: string, arn: string, digest: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            requestId: s(requestId),
            record: s(RECORD.decision(principal)),
            decision: s('APPROVE'),
            principal: s(principal),
            callerArn: s(arn),
            digest: s(digest),
            at: s(new Date().toISOString()),
          },
          ConditionExpression: 'attribute_not_exists(requestId)',
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** Adds the approver to the request's set while it is still pending; undefined when it was decided meanwhile. */
  public async addApprover(requestId: string, principal: string): Promise<LedgerRequest | undefined> {
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
      return toRequest(out.Attributes!);
    } catch (e) {
      if (isConditionFailure(e)) return undefined;
      throw e;
    }
  }

  /** Moves a pending request to its final decision. Exactly one caller ever succeeds per request. */
  public async decide(
    requestId: string,
    decision: 'APPROVED' | 'REJECTED',
    by: string,
    requiredApprovals: number,
    rejectReason?: string,
  ): Promise<LedgerRequest | undefined> {
    const names: Record<string, string> = { '#s': 'status' };
    const values: Record<string, AttributeValue> = { ':pending': s('PENDING'), ':d': s(decision), ':by': s(by), ':at': s(new Date().toISOString()) };
    let condition = '#s = :pending AND attribute_exists(taskToken) AND attribute_not_exists(outcome)';
    let update = 'SET #s = :d, decidedBy = :by, decidedAt = :at';
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
      return toRequest(out.Attributes!);
    } catch (e) {
      if (isConditionFailure(e)) return undefined;
      throw e;
    }
  }
}
