/**
 * The collection handler of an ApprovalGate's credentials mode, behind its own function URL (AWS_IAM
 * auth). The requesting agent calls `POST /requests/<id>/collect`; the handler checks, in the ledger,
 * that the caller's role is a requester of the request, that the request is approved, accepted by the
 * workflow and marked collectable, not expired and not yet collected; records the collection with a
 * conditional write that carries a token of this call (read back after a retry, so a write that applied
 * counts as applied and a second collection is refused); and only then asks STS for a session of the
 * credentials role limited by a session policy to the approved actions on the approved resource.
 *
 * The caller's identity comes from the authenticated request context, never from the body.
 */
import { createHash, randomUUID } from 'crypto';
import { AttributeValue, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { BoundOperation, checkBinding, requestIdFromPath, requestIdPath, requestIdProblem, requestTagValue } from './approval-binding';
import { inertText } from '../../shared/inert-text';
import { requestDigest } from './approval-digest';
import { callerIdentity, principalOf } from './identity';
import { ApprovalLedger, LedgerRequest } from './ledger';
import { REQUESTER_TAG, requesterTagValue } from '../../shared/tags';

/** A credentials-mode operation as the handler receives it (CREDENTIAL_OPERATIONS). */
export interface CredentialOperation extends BoundOperation {
  /** Every action the issued session may call on the approved resource (the gated one first). */
  readonly actions: string[];
}

export interface CollectConfig {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly sts: STSClient;
  readonly credentialsRoleArn: string;
  readonly durationSeconds: number;
  readonly collectWithinSeconds: number;
  readonly operations: CredentialOperation[];
  /** The clock (tests move it past the window). */
  readonly now?: () => Date;
}

/** The parts of a function URL event the handler reads. */
export interface CollectEvent {
  readonly rawPath?: string;
  readonly requestContext?: { readonly http?: { readonly method?: string }; readonly authorizer?: { readonly iam?: { readonly userArn?: string } } };
}

export interface CollectResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The session tag that carries the request id into CloudTrail. */
export const REQUEST_TAG = 'guardrails:approval-request';
// The session tag naming the collecting agent's role, shared with the circuit breaker that revokes it (lib/shared/tags.ts).
export { REQUESTER_TAG, requesterTagValue };

/** Outcomes the handler writes; the workflow's window close reads CREDENTIALS_ISSUED. */
export const ISSUED = 'CREDENTIALS_ISSUED';
export const ISSUE_FAILED = 'ISSUE_FAILED';

const reply = (statusCode: number, body: unknown): CollectResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

const s = (v: string): AttributeValue => ({ S: v });

/**
 * The name STS records for the session (source identity and session name): `approval-<request id>`,
 * or a digest of a long id, within STS's 64 characters of `[\w+=,.@-]`.
 */
export function sessionNameOf(requestId: string): string {
  const plain = `approval-${requestId}`;
  if (plain.length <= 64 && /^[\w+=,.@-]+$/.test(plain)) return plain;
  return `approval-${requestId.replace(/[^\w+=,.@-]/g, '').slice(0, 30)}-${createHash('sha256').update(requestId).digest('hex').slice(0, 24)}`;
}

/**
 * The session policy: exactly the approved actions on exactly the approved resource, in the
 * resource's own region when it names one (aws:RequestedRegion is in every request's context).
 */
export function sessionPolicyOf(actions: readonly string[], target: string): Record<string, unknown> {
  const region = target.split(':')[3];
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ApprovedOperation',
        Effect: 'Allow',
        Action: [...actions],
        Resource: target,
        ...(region ? { Condition: { StringEquals: { 'aws:RequestedRegion': region } } } : {}),
      },
    ],
  };
}

const validOperations = (operations: unknown): operations is CredentialOperation[] =>
  Array.isArray(operations) &&
  operations.length > 0 &&
  operations.every(
    (o) =>
      o &&
      typeof o.operation === 'string' &&
      Array.isArray(o.resources) &&
      typeof o.resourceArn === 'string' &&
      typeof o.acceptsArn === 'boolean' &&
      Array.isArray(o.actions) &&
      o.actions.length > 0 &&
      o.actions.every((a: unknown) => typeof a === 'string' && !/[*?]/.test(a)),
  );

/** Builds the collection handler; exported for tests, which pass real clients pointed at 127.0.0.1. */
export function createCollector(config: CollectConfig): (event: CollectEvent) => Promise<CollectResult> {
  const now = config.now ?? (() => new Date());
  const ledger = new ApprovalLedger(config.dynamodb, config.tableName);
  const configured =
    validOperations(config.operations) &&
    /^arn:[a-z-]+:iam::\d{12}:role\/.+$/.test(config.credentialsRoleArn ?? '') &&
    Number.isInteger(config.durationSeconds) &&
    config.durationSeconds >= 900 &&
    config.durationSeconds <= 3600 &&
    Number.isInteger(config.collectWithinSeconds) &&
    config.collectWithinSeconds > 0;
  if (!configured) {
    return async () => reply(500, { error: 'the collection handler is misconfigured (operations, role, duration or window); nothing is issued' });
  }
  return async (event) => {
    const caller = callerIdentity(event.requestContext?.authorizer?.iam?.userArn);
    if (!caller || !caller.session) {
      return reply(403, { error: 'no IAM-authenticated role session; call the function URL SigV4-signed with the agent session that requested' });
    }
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    const path = (event.rawPath ?? '/').replace(/\/+$/, '') || '/';
    const match = /^\/requests\/([^/]+)\/collect$/.exec(path);
    if (!match || method !== 'POST') {
      return reply(404, { error: `no route ${inertText(method, 20)} ${inertText(path, 200)}; use POST /requests/<request id>/collect` });
    }
    // Any execution name is a request id; the path carries it encoded (requestIdPath), as the approval handler takes it.
    const requestId = requestIdFromPath(match[1]);
    const problem = requestId === undefined ? 'the path does not carry an encoded request id' : requestIdProblem(requestId);
    if (requestId === undefined || problem) {
      return reply(400, {
        error: `invalid request id in the path: ${problem}`,
        received: inertText(match[1], 200),
        fix: 'ids outside [A-Za-z0-9_-] travel as ~ and their base64url (requestIdPath), e.g. POST /requests/~cmVxIDE/collect for "req 1"',
      });
    }
    const request = await ledger.getRequest(requestId);
    if (!request) return reply(404, { error: `no request ${inertText(requestId, 100)}`, path: requestIdPath(requestId) });

    // The list is every role granted to request, not the session that asked: with more than one role, who asked is unknown,
    // and the credentials go to nobody (synth refuses such a gate; this holds for a ledger written before that check).
    const requesters = new Set(request.requesters.map((r) => principalOf(r) ?? '<unreadable>'));
    if (requesters.size !== 1 || !requesters.has(caller.principal)) {
      await ledger.appendEvent(requestId, {
        event: 'COLLECT_REFUSED',
        principal: caller.principal,
        callerArn: caller.arn,
        reason: requesters.size !== 1 ? 'the requester is not one known role' : 'not a requester',
      });
      return reply(403, { error: `${caller.arn} did not request ${inertText(requestId, 100)}; only the requesting agent collects` });
    }
    const refusal = refusalOf(config, request, now());
    if (refusal) {
      await ledger.appendEvent(requestId, { event: 'COLLECT_REFUSED', principal: caller.principal, callerArn: caller.arn, reason: refusal.reason });
      return reply(refusal.status, { error: refusal.reason, requestId });
    }
    const operation = config.operations.find((o) => o.operation === request.operation)!;
    const binding = checkBinding([operation], request.operation, request.resource, parametersOf(request.canonical));
    if (!binding.target || binding.refusal) {
      return reply(409, { error: `the recorded request does not bind to an allowed resource (${binding.refusal}); nothing is issued` });
    }

    // One token per call: after a retried write the token read back tells our own collection from another's.
    const token = randomUUID();
    const collected = await recordCollection(config, request, caller.arn, token, now());
    if (!collected) {
      const again = await ledger.getRequest(requestId);
      const reason = again ? (refusalOf(config, again, now())?.reason ?? 'the request changed meanwhile') : 'the request is gone';
      await ledger.appendEvent(requestId, { event: 'COLLECT_REFUSED', principal: caller.principal, callerArn: caller.arn, reason });
      return reply(409, { error: reason, requestId });
    }

    const policy = sessionPolicyOf(operation.actions, binding.target);
    const name = sessionNameOf(requestId);
    let issued;
    try {
      issued = await config.sts.send(
        new AssumeRoleCommand({
          RoleArn: config.credentialsRoleArn,
          RoleSessionName: name,
          SourceIdentity: name,
          DurationSeconds: config.durationSeconds,
          Policy: JSON.stringify(policy),
          Tags: [
            { Key: REQUEST_TAG, Value: requestTagValue(requestId) },
            { Key: REQUESTER_TAG, Value: requesterTagValue(caller.principal.split('/').pop()!) },
          ],
        }),
      );
    } catch (e) {
      const error = (e as Error).name ?? 'Error';
      // The collection is consumed: a second issue could hand out a second live session.
      await finish(config, requestId, ISSUE_FAILED, `STS refused or failed: ${error}`);
      await ledger.appendEvent(requestId, { event: ISSUE_FAILED, principal: caller.principal, callerArn: caller.arn, error });
      return reply(502, { error: `the collection is recorded but STS failed (${error}); nothing was issued and the approval is used up`, requestId });
    }
    const credentials = issued.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken) {
      await finish(config, requestId, ISSUE_FAILED, 'STS returned no credentials');
      return reply(502, { error: 'STS returned no credentials; nothing was issued and the approval is used up', requestId });
    }
    const expiration = credentials.Expiration?.toISOString() ?? '';
    await finish(config, requestId, ISSUED, JSON.stringify({ session: issued.AssumedRoleUser?.Arn ?? '', expiration, policy }));
    await ledger.appendEvent(requestId, {
      event: ISSUED,
      principal: caller.principal,
      callerArn: caller.arn,
      session: issued.AssumedRoleUser?.Arn ?? '',
      expiration,
    });
    return reply(200, {
      requestId,
      operation: request.operation,
      resource: binding.target,
      actions: operation.actions,
      sourceIdentity: name,
      expiration,
      credentials: { accessKeyId: credentials.AccessKeyId, secretAccessKey: credentials.SecretAccessKey, sessionToken: credentials.SessionToken },
    });
  };
}

/** The digested parameters; unreadable means none (and the binding check refuses). */
function parametersOf(canonical: string): unknown {
  try {
    const parsed = JSON.parse(canonical);
    return Array.isArray(parsed) ? parsed[2] : undefined;
  } catch {
    return undefined;
  }
}

/** Why a request cannot be collected now, or undefined. Fail closed: anything unexpected refuses. */
function refusalOf(config: CollectConfig, request: LedgerRequest, at: Date): { status: number; reason: string } | undefined {
  const r = request as LedgerRequest & { collectableAt?: string; collectedAt?: string };
  if (!config.operations.some((o) => o.operation === request.operation)) {
    return { status: 409, reason: `${request.operation} is performed by the gate, not collected` };
  }
  if (r.collectedAt) return { status: 409, reason: `request ${request.requestId} was already collected at ${r.collectedAt}` };
  if (request.outcome) return { status: 409, reason: `request ${request.requestId} is closed: ${request.outcome}` };
  if (request.status !== 'APPROVED' || !request.acceptedAt || !r.collectableAt) {
    return { status: 409, reason: `request ${request.requestId} is not approved for collection (status ${request.status})` };
  }
  if (requestDigest(request.canonical) !== request.digest) {
    return { status: 409, reason: 'the ledger record does not match its digest; nothing is issued' };
  }
  const opened = Date.parse(r.collectableAt);
  if (!Number.isFinite(opened) || at.getTime() >= opened + config.collectWithinSeconds * 1000) {
    return { status: 410, reason: `the approval of ${request.requestId} expired: it was collectable for ${config.collectWithinSeconds} seconds` };
  }
  return undefined;
}

/**
 * The collection write: applies only while the request is approved, accepted, collectable within its
 * window, uncollected and open. The SDK retries a write whose answer was lost; its retry then fails
 * the condition, and the token read back says the collection is ours.
 */
async function recordCollection(config: CollectConfig, request: LedgerRequest, callerArn: string, token: string, at: Date): Promise<boolean> {
  const key = { requestId: s(request.requestId), record: s('REQUEST') };
  const earliest = new Date(at.getTime() - config.collectWithinSeconds * 1000).toISOString();
  try {
    await config.dynamodb.send(
      new UpdateItemCommand({
        TableName: config.tableName,
        Key: key,
        UpdateExpression: 'SET collectedAt = :now, collectedBy = :by, collectToken = :tok',
        ConditionExpression:
          '#s = :approved AND digest = :digest AND attribute_exists(acceptedAt) AND attribute_exists(collectableAt) AND collectableAt > :earliest ' +
          'AND attribute_not_exists(collectedAt) AND attribute_not_exists(outcome)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':approved': s('APPROVED'),
          ':digest': s(request.digest),
          ':earliest': s(earliest),
          ':now': s(at.toISOString()),
          ':by': s(callerArn),
          ':tok': s(token),
        },
      }),
    );
    return true;
  } catch (e) {
    if ((e as Error)?.name !== 'ConditionalCheckFailedException') throw e;
    const out = await config.dynamodb.send(new GetItemCommand({ TableName: config.tableName, Key: key, ConsistentRead: true }));
    return out.Item?.collectToken?.S === token;
  }
}

/** Records the outcome of a collection (idempotent: the same outcome again is a no-op). */
async function finish(config: CollectConfig, requestId: string, outcome: string, detail: string): Promise<void> {
  try {
    await config.dynamodb.send(
      new UpdateItemCommand({
        TableName: config.tableName,
        Key: { requestId: s(requestId), record: s('REQUEST') },
        UpdateExpression: 'SET outcome = :o, outcomeDetail = :d, finishedAt = :t',
        ConditionExpression: 'attribute_exists(collectedAt) AND (attribute_not_exists(outcome) OR outcome = :o)',
        ExpressionAttributeValues: { ':o': s(outcome), ':d': s(detail), ':t': s(new Date().toISOString()) },
      }),
    );
  } catch (e) {
    // Closed by an operator meanwhile: the ledger keeps that outcome; the events record ours.
    if ((e as Error)?.name !== 'ConditionalCheckFailedException') throw e;
  }
}

let collector: ((event: CollectEvent) => Promise<CollectResult>) | undefined;

/** The Lambda entry point, configured from the environment the construct sets. */
export async function handler(event: CollectEvent): Promise<CollectResult> {
  if (!collector) {
    let operations: CredentialOperation[] = [];
    try {
      operations = JSON.parse(process.env.CREDENTIAL_OPERATIONS ?? '[]');
    } catch {
      operations = [];
    }
    collector = createCollector({
      dynamodb: new DynamoDBClient({}),
      tableName: process.env.LEDGER_TABLE ?? '',
      sts: new STSClient({}),
      credentialsRoleArn: process.env.CREDENTIALS_ROLE_ARN ?? '',
      durationSeconds: Number(process.env.CREDENTIALS_DURATION_SECONDS),
      collectWithinSeconds: Number(process.env.COLLECT_WITHIN_SECONDS),
      operations,
    });
  }
  return collector(event);
}
