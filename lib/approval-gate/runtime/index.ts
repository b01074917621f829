/**
 * The approval handler of an ApprovalGate, and its notifier.
 *
 * `handler` serves the function URL (AWS_IAM auth): the approver is whoever IAM authenticated, read
 * from `requestContext.authorizer.iam` and never from the body. `notify` is invoked by the workflow
 * (waitForTaskToken): it stores the task token in the ledger and tells the approvers.
 */
import { createHash, randomUUID } from 'crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient, SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { inertMarkdown, inertText } from '../../shared/inert-text';
import {
  BindingCheck,
  BoundOperation,
  checkBinding,
  requestIdFromPath,
  requestIdPath,
  requestIdProblem,
  requestTagValue,
} from './approval-binding';
import { requestDigest } from './approval-digest';
import { CallerIdentity, callerIdentity, principalOf } from './identity';
import { BREAK_GLASS_REQUEST_ID } from './break-glass';
import { ApprovalLedger, LedgerRequest } from './ledger';

export interface ApprovalConfig {
  readonly ledger: ApprovalLedger;
  readonly sfn: SFNClient;
  /** ARNs of the roles and users allowed to decide. */
  readonly approvers: string[];
  readonly requiredApprovals: number;
  /** The gated operations with their resources and parameter bindings; nothing else can be approved. */
  readonly operations: BoundOperation[];
  /**
   * How long to wait for the ledger to show that the workflow took a decision, when Step Functions
   * answers that it no longer waits for the token (our own earlier attempt may have been accepted).
   */
  readonly settle?: { readonly attempts: number; readonly intervalMs: number };
  /** Where decisions are announced (every approver learns when another one decided); none: decisions are not announced. */
  readonly announce?: AnnounceConfig;
  /** How the gate carries out requests (timeout, credentials mode); unknown without it, and said so. */
  readonly terms?: GateTerms;
}

/** What the construct tells the handlers about how requests are carried out (the GATE_TERMS environment). */
export interface GateTerms {
  /** How long a request waits for a decision. */
  readonly timeoutSeconds?: number;
  /** Credentials mode: how long an issued session lasts. */
  readonly credentialsSeconds?: number;
  /** Credentials mode: how long an approval stays collectable. */
  readonly collectWithinSeconds?: number;
  /** The credentials-mode operations, each with every action its session allows. */
  readonly credentials?: ReadonlyArray<{ readonly operation: string; readonly actions: readonly string[] }>;
}

/** The actions a credentials-mode operation's session allows; undefined for an operation the gate performs. */
const credentialsActionsOf = (terms: GateTerms | undefined, operation: string) => terms?.credentials?.find((c) => c.operation === operation)?.actions;

/** Whether the request is (or, by its ledger fields, was treated as) credentials mode. */
const isCredentialsRequest = (terms: GateTerms | undefined, request: LedgerRequest) =>
  credentialsActionsOf(terms, request.operation) !== undefined || request.collectableAt !== undefined || request.collectedAt !== undefined;

/**
 * What approving the request means, in one sentence a person reads before deciding (review HIGH-2):
 * in credentials mode the approver hands out a session, and the parameters bind nothing.
 */
export function executionTerms(terms: GateTerms | undefined, request: LedgerRequest, target: string): string {
  const actions = credentialsActionsOf(terms, request.operation);
  if (actions) {
    const lifetime = terms?.credentialsSeconds ? `${Math.round(terms.credentialsSeconds / 60)} minutes` : 'the session lifetime';
    return (
      `credentials mode: the agent receives a session allowed ${actions.join(', ')} on ${target} for ${lifetime}; ` +
      'the parameters are its stated intent and are not enforced'
    );
  }
  if (request.collectableAt || request.collectedAt) {
    return (
      `credentials mode: the agent receives a session allowed ${request.operation} (and the gate's further actions) on ${target}; ` +
      'the parameters are not enforced'
    );
  }
  if (!terms?.credentials)
    return 'unknown: this handler was not told how the gate carries out requests (GATE_TERMS); ask its operator before approving';
  return 'the gate performs this one call itself, once, with exactly these parameters';
}

/** Who the requester list is: the roles granted to request, not the session that started this execution (review HIGH-1). */
export const REQUESTERS_ARE = 'may be requested by: the roles granted to request on this gate (the starting session is not verified here)';

/** When the request stops being decidable (pending: requested + timeout) or collectable (credentials mode: window opened + window). */
export function expiresAtOf(terms: GateTerms | undefined, request: LedgerRequest): string | undefined {
  const plus = (iso: string | undefined, seconds: number | undefined) => {
    const at = Date.parse(iso ?? '');
    return Number.isFinite(at) && Number.isFinite(seconds) && seconds! > 0 ? new Date(at + seconds! * 1000).toISOString() : undefined;
  };
  if (request.outcome) return undefined;
  if (request.collectableAt) return plus(request.collectableAt, Number(request.collectWithinSeconds ?? terms?.collectWithinSeconds));
  // The wait starts a moment after the request is recorded: this errs early, never late.
  if (request.status === 'PENDING') return plus(request.requestedAt, terms?.timeoutSeconds);
  return undefined;
}

/** The approvers' topic, for announcements. */
export interface AnnounceConfig {
  readonly sns: SNSClient;
  readonly topicArn: string;
  /** The approval handler's function URL, shown in the commands of a notification. */
  readonly approvalUrl: string;
  /** How the gate carries out requests, told in the notices. */
  readonly terms?: GateTerms;
}

export interface NotifyConfig {
  readonly ledger: ApprovalLedger;
  readonly sns: SNSClient;
  readonly topicArn: string;
  readonly approvalUrl: string;
  /** The gated operations with their resources and parameter bindings. */
  readonly operations: BoundOperation[];
  /** How the gate carries out requests, told in the request notice. */
  readonly terms?: GateTerms;
}

/** The parts of a function URL event the handler reads. */
export interface FunctionUrlEvent {
  readonly rawPath?: string;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: { readonly http?: { readonly method?: string }; readonly authorizer?: { readonly iam?: { readonly userArn?: string } } };
}

export interface HttpResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The workflow's error name for a rejection (matched by the Catch of the wait state). */
export const REJECTED_ERROR = 'Rejected';

const reply = (statusCode: number, body: unknown): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * Re-derives what the recorded request acts on: the canonical (digested) form must carry the
 * recorded operation and resource, and its parameters must name exactly that resource, one the
 * gate allows. Fail closed: an unreadable record is a refusal.
 */
function bindingOf(operations: readonly BoundOperation[], request: LedgerRequest): BindingCheck {
  let canonical: unknown;
  try {
    canonical = JSON.parse(request.canonical);
  } catch {
    return { refusal: 'the recorded request is unreadable' };
  }
  if (!Array.isArray(canonical) || canonical.length !== 3 || canonical[0] !== request.operation || canonical[1] !== request.resource) {
    return { refusal: 'the recorded operation or resource is not the digested one' };
  }
  return checkBinding(operations, request.operation, request.resource, canonical[2]);
}

/** What approvers see of a request: everything but the task token, with the target its parameters act on. */
function view(operations: readonly BoundOperation[], request: LedgerRequest, terms?: GateTerms): Record<string, unknown> {
  const { taskToken: _token, ...rest } = request;
  let parameters: unknown;
  try {
    parameters = JSON.parse(request.canonical)[2];
  } catch {
    parameters = undefined;
  }
  const binding = bindingOf(operations, request);
  const expiresAt = expiresAtOf(terms, request);
  const actions = credentialsActionsOf(terms, request.operation);
  return {
    ...rest,
    parameters,
    target: binding.target ?? null,
    ...(binding.refusal ? { bindingRefusal: binding.refusal } : {}),
    mode: isCredentialsRequest(terms, request) ? 'CREDENTIALS' : terms?.credentials ? 'PERFORM' : 'UNKNOWN',
    ...(actions ? { sessionActions: actions } : {}),
    execution: executionTerms(terms, request, binding.target ?? request.resource),
    requestersAre: REQUESTERS_ARE,
    ...(expiresAt ? { expiresAt } : {}),
  };
}

const validOperations = (operations: unknown): operations is BoundOperation[] =>
  Array.isArray(operations) &&
  operations.length > 0 &&
  operations.every(
    (o) =>
      o && typeof o.operation === 'string' && Array.isArray(o.resources) && typeof o.resourceArn === 'string' && typeof o.acceptsArn === 'boolean',
  );

function parseBody(event: FunctionUrlEvent): Record<string, unknown> {
  if (!event.body) return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const parsed = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Builds the function URL handler; exported for tests, which pass real clients pointed at 127.0.0.1. */
export function createApprovalHandler(config: ApprovalConfig): (event: FunctionUrlEvent) => Promise<HttpResult> {
  const approvers = new Set(config.approvers.map((a) => principalOf(a)).filter((a): a is string => a !== undefined));
  if (approvers.size === 0 || !Number.isInteger(config.requiredApprovals) || config.requiredApprovals < 1 || !validOperations(config.operations)) {
    // Misconfigured: nobody can decide (fail closed), and say why.
    return async () => reply(500, { error: 'the approval handler has no valid approvers, requiredApprovals or operations; nothing can be decided' });
  }
  return async (event) => {
    // Identity comes only from what IAM authenticated. The body is never consulted for it.
    const caller = callerIdentity(event.requestContext?.authorizer?.iam?.userArn);
    if (!caller)
      return reply(403, { error: 'no IAM-authenticated caller; call the function URL with SigV4-signed requests as an approver role or user' });
    if (!approvers.has(caller.principal)) return reply(403, { error: `${caller.arn} is not an approver of this gate` });

    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    const path = (event.rawPath ?? '/').replace(/\/+$/, '') || '/';
    let body: Record<string, unknown>;
    try {
      body = parseBody(event);
    } catch (e) {
      return reply(400, { error: `invalid body: ${(e as Error).message}` });
    }
    if (method === 'GET' && path === '/requests') {
      return reply(200, { requests: (await config.ledger.listPending()).map((r) => view(config.operations, r, config.terms)) });
    }
    const match = /^\/requests\/([^/]+)(?:\/(approve|reject))?$/.exec(path);
    if (!match) return reply(404, { error: `no route ${method} ${inertText(path, 200)}` });
    const [, segment, verb] = match;
    // Any execution name is a request id; the path carries it encoded (requestIdPath), never raw.
    const requestId = requestIdFromPath(segment);
    const problem = requestId === undefined ? 'the path does not carry an encoded request id' : requestIdProblem(requestId);
    if (requestId === undefined || problem) {
      return reply(400, {
        error: `invalid request id in the path: ${problem}`,
        received: inertText(segment, 200),
        fix: 'use the id as `approvals list` shows it; the CLI encodes it (ids outside [A-Za-z0-9_-] travel as ~ and base64url)',
      });
    }
    const request = await config.ledger.getRequest(requestId);
    if (!request && !verb && method === 'GET' && requestId === BREAK_GLASS_REQUEST_ID) {
      // Break-glass uses are recorded under their own id, without a request: shown as records.
      return reply(200, { breakGlass: (await config.ledger.records(requestId)).map(({ message: _m, ...r }) => r) });
    }
    if (!request) return reply(404, { error: `no request ${inertText(requestId, 100)}` });
    if (!verb && method === 'GET') {
      const records = (await config.ledger.records(requestId)).filter((r) => r.record !== 'REQUEST').map(({ taskToken: _t, message: _m, ...r }) => r);
      return reply(200, { request: view(config.operations, request, config.terms), records });
    }
    if (method !== 'POST' || !verb) return reply(405, { error: `use POST /requests/${requestIdPath(requestId)}/approve or /reject` });
    return verb === 'approve' ? approve(config, request, caller, body) : reject(config, request, caller, body);
  };
}

/** The announce settings with the gate's terms (the announce config may carry none of its own). */
const withTerms = (config: ApprovalConfig): AnnounceConfig => ({ ...config.announce!, terms: config.announce!.terms ?? config.terms });

async function refuse(config: ApprovalConfig, request: LedgerRequest, caller: CallerIdentity, status: number, reason: string): Promise<HttpResult> {
  await config.ledger.appendEvent(request.requestId, { event: 'REFUSED', principal: caller.principal, callerArn: caller.arn, reason });
  return reply(status, { error: reason });
}

/** Checks common to both decisions; undefined when the caller may decide. */
async function precheck(config: ApprovalConfig, request: LedgerRequest, caller: CallerIdentity): Promise<HttpResult | undefined> {
  const requesters = new Set(request.requesters.map((r) => principalOf(r) ?? r));
  if (requesters.has(caller.principal) || request.requesters.includes('<unreadable>')) {
    return refuse(config, request, caller, 403, 'self-approval refused: the caller is the requesting agent');
  }
  // The ledger must still hold what the workflow digested.
  if (requestDigest(request.canonical) !== request.digest) {
    return refuse(config, request, caller, 409, 'the ledger record does not match its digest; refusing to decide');
  }
  if (!request.taskToken) {
    return reply(409, { error: `request ${request.requestId} is not yet waiting for a decision; try again shortly` });
  }
  return undefined;
}

async function approve(config: ApprovalConfig, request: LedgerRequest, caller: CallerIdentity, body: Record<string, unknown>): Promise<HttpResult> {
  const pre = await precheck(config, request, caller);
  if (pre) return pre;
  // A decided request is not decided again: its recorded decision is delivered if it is not yet.
  if (request.status !== 'PENDING' || request.outcome) {
    return settleDecided(config, request, caller, 'APPROVE', request.approvals.includes(caller.principal));
  }
  if (typeof body.digest !== 'string' || body.digest !== request.digest) {
    return refuse(
      config,
      request,
      caller,
      409,
      `digest mismatch: you approved ${JSON.stringify(body.digest)} but the request's digest is ${request.digest}; review the request again`,
    );
  }
  // The workflow refused such requests already; checked again here so that no approval ever counts
  // for a request whose parameters act on another resource than the one shown.
  const binding = bindingOf(config.operations, request);
  if (binding.refusal) {
    return refuse(config, request, caller, 409, `resource mismatch: ${binding.refusal}; refusing to approve (reject the request)`);
  }
  const required = Math.max(config.requiredApprovals, request.requiredApprovals);
  // One token per call: every write of this call can be told from an earlier call's after a retry.
  const token = randomUUID();
  const recording = await config.ledger.recordApproval(request.requestId, caller.principal, caller.arn, request.digest, token);
  if (recording === 'already-recorded' && request.approvals.includes(caller.principal)) {
    return reply(409, {
      error: `${caller.principal} has already approved request ${request.requestId}; approvals are counted per distinct approver`,
    });
  }
  // Also reached when an earlier call of this approver recorded the approval but failed before
  // counting it: adding to the set is idempotent, so the approval is counted exactly once.
  const added = await config.ledger.addApprover(request.requestId, caller.principal);
  if (!added.request || !added.counted) return settleDecided(config, added.request ?? request, caller, 'APPROVE');
  let current = added.request;
  // Every approver learns of each counted approval, once per approver (a retried call finds the notice
  // stored). The approval that reaches the quorum is announced after the decision is recorded, so
  // that "quorum reached" is only ever said of an approved request.
  const tell = (r: LedgerRequest) =>
    announce(config.ledger, config.announce, r, `APPROVED#${caller.principal}`, () =>
      decisionNotice(withTerms(config), r, 'approved', caller.principal, r.approvals.length, required),
    );
  if (current.status === 'PENDING' && !current.outcome) {
    if (current.approvals.length < required) {
      const told = await tell(current);
      return reply(202, {
        requestId: request.requestId,
        status: 'PENDING',
        approvals: current.approvals.length,
        requiredApprovals: required,
        ...announced(told),
      });
    }
    const decided = await config.ledger.decide(request.requestId, 'APPROVED', caller.principal, required, token);
    if (!decided) return reply(404, { error: `no request ${request.requestId}` });
    current = decided.request;
  }
  const told: Announcement = current.status === 'APPROVED' ? await tell(current) : 'off';
  return withAnnounced(await settleDecided(config, current, caller, 'APPROVE', true), told);
}

async function reject(config: ApprovalConfig, request: LedgerRequest, caller: CallerIdentity, body: Record<string, unknown>): Promise<HttpResult> {
  const pre = await precheck(config, request, caller);
  if (pre) return pre;
  if (request.status !== 'PENDING' || request.outcome) return settleDecided(config, request, caller, 'REJECT');
  const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
  if (reason.length === 0) return reply(400, { error: 'a rejection needs a reason' });
  const decided = await config.ledger.decide(request.requestId, 'REJECTED', caller.principal, 0, randomUUID(), reason.slice(0, 1000));
  if (!decided) return reply(404, { error: `no request ${request.requestId}` });
  if (decided.request.status === 'REJECTED' && decided.request.decidedBy === caller.principal) {
    await announce(config.ledger, config.announce, decided.request, 'REJECTED', () =>
      decisionNotice(withTerms(config), decided.request, 'rejected', caller.principal, 0, 0, decided.request.rejectReason ?? reason),
    );
  }
  return settleDecided(config, decided.request, caller, 'REJECT', undefined, reason);
}

/**
 * Answers for a request whose decision is recorded (or that is over), and delivers a recorded
 * decision the workflow has not yet received: the next approver call thereby redelivers what a
 * throttled or failed delivery left behind. Every reply says what the ledger shows, nothing more.
 */
async function settleDecided(
  config: ApprovalConfig,
  current: LedgerRequest,
  caller: CallerIdentity,
  decision: 'APPROVE' | 'REJECT',
  counted?: boolean,
  reason?: string,
): Promise<HttpResult> {
  const own =
    (decision === 'APPROVE' && current.status === 'APPROVED' && counted === true) || (decision === 'REJECT' && current.status === 'REJECTED');
  if (current.status === 'PENDING' && !current.outcome) {
    // Not decided and yet our write did not apply: nothing counted; say so.
    return reply(503, { error: `request ${current.requestId} is still pending and your ${decision.toLowerCase()} did not count; try again` });
  }
  let result: HttpResult;
  if (current.outcome || current.acceptedAt || current.deliveredAt) {
    result = reply(own ? 200 : 409, stateOf(current));
  } else {
    result = await deliver(config, current);
  }
  if (own) return result;
  await config.ledger.appendEvent(current.requestId, {
    event: 'TOO_LATE',
    decision,
    principal: caller.principal,
    callerArn: caller.arn,
    ...(reason ? { reason } : {}),
  });
  const over = current.outcome ? `ended: ${current.outcome}` : `${current.status} by ${current.decidedBy ?? 'unknown'}`;
  return reply(409, {
    error: `request ${current.requestId} is already ${over}; your ${decision.toLowerCase()} is recorded but did not count`,
    state: JSON.parse(result.body),
  });
}

/** What the ledger says about a decided request, for replies. */
function stateOf(r: LedgerRequest): Record<string, unknown> {
  const delivery = r.outcome
    ? `the request is over: ${r.outcome}`
    : r.acceptedAt
      ? 'the workflow accepted the decision and checked it against the ledger'
      : r.deliveredAt
        ? 'the decision was delivered to the workflow, which checks it against the ledger before acting'
        : 'the decision is recorded and not yet delivered';
  return { requestId: r.requestId, status: r.status, ...(r.outcome ? { outcome: r.outcome } : {}), approvers: r.approvals, delivery };
}

/** Step Functions' answers for a token it no longer waits on: accepted earlier, timed out or stopped. */
const TOKEN_GONE = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Hands the recorded decision to the waiting workflow. The SDK retries: when a first attempt was
 * accepted but its answer lost, the retry hears "task timed out", so that answer is checked against
 * the ledger before anything is said. Any other failure leaves the decision recorded for redelivery.
 */
async function deliver(config: ApprovalConfig, decided: LedgerRequest): Promise<HttpResult> {
  const command =
    decided.status === 'APPROVED'
      ? new SendTaskSuccessCommand({
          taskToken: decided.taskToken!,
          output: JSON.stringify({ decision: 'APPROVED', digest: decided.digest, approvers: decided.approvals }),
        })
      : new SendTaskFailureCommand({
          taskToken: decided.taskToken!,
          error: REJECTED_ERROR,
          cause: JSON.stringify({ rejectedBy: decided.decidedBy, reason: decided.rejectReason ?? '' }),
        });
  try {
    await config.sfn.send(command as any);
  } catch (e) {
    const name = (e as Error).name ?? 'Error';
    if (!TOKEN_GONE.has(name)) {
      // Throttled, 5xx or unreachable after the SDK's retries: the workflow may still be waiting.
      await config.ledger.appendEvent(decided.requestId, { event: 'DELIVERY_PENDING', decision: decided.status, error: name });
      return reply(503, {
        error:
          `the decision ${decided.status} is recorded but its delivery to the workflow is not confirmed (${name}); call approve or reject ` +
          'again to redeliver it (the sweep redelivers it too). Nothing is performed unless the workflow accepts it before its timeout; ' +
          '`approvals show` tells the outcome',
        status: decided.status,
      });
    }
    const settled = await settledState(config, decided.requestId);
    if (settled && (settled.outcome || settled.acceptedAt || settled.deliveredAt)) return reply(200, stateOf(settled));
    // Not accepted: close it so that the workflow's own check can never accept it later.
    const closed = await config.ledger.closeUndeliverable(decided.requestId, `the workflow no longer waits for the decision (${name})`);
    if (closed && closed.outcome !== 'UNDELIVERABLE') return reply(200, stateOf(closed));
    await config.ledger.appendEvent(decided.requestId, { event: 'DELIVERY_FAILED', decision: decided.status, error: name });
    return reply(502, {
      error:
        `the decision was recorded but the workflow no longer waits for it (${name}) and never accepted it: the request has timed out ` +
        'or was stopped, it is closed as UNDELIVERABLE and nothing will be performed',
    });
  }
  try {
    await config.ledger.markDelivered(decided.requestId);
  } catch {
    // Delivered all the same; the mark only spares redeliveries, which Step Functions refuses harmlessly.
  }
  await config.ledger.appendEvent(decided.requestId, {
    event: decided.status,
    principal: decided.decidedBy ?? '',
    approvers: decided.approvals.join(','),
  });
  return reply(200, stateOf({ ...decided, deliveredAt: new Date().toISOString() }));

  async function settledState(c: ApprovalConfig, requestId: string): Promise<LedgerRequest | undefined> {
    const { attempts, intervalMs } = c.settle ?? { attempts: 6, intervalMs: 500 };
    let now = await c.ledger.getRequest(requestId);
    for (let i = 1; i < attempts && now && !now.outcome && !now.acceptedAt && !now.deliveredAt; i++) {
      await sleep(intervalMs);
      now = await c.ledger.getRequest(requestId);
    }
    return now;
  }
}

/** Redelivers every recorded decision the workflow has not received (run on a schedule). */
export async function redeliverDecisions(config: ApprovalConfig): Promise<Array<{ requestId: string; statusCode: number }>> {
  const out: Array<{ requestId: string; statusCode: number }> = [];
  for (const request of await config.ledger.listUndelivered()) {
    out.push({ requestId: request.requestId, statusCode: (await deliver(config, request)).statusCode });
  }
  return out;
}

/** A notification as published: the subject, the plain text (email) and the chat form (AWS Chatbot custom notification). */
export interface Notice {
  readonly subject: string;
  readonly text: string;
  readonly chat: ChatNotification;
}

/**
 * An AWS Chatbot (Amazon Q Developer in chat applications) custom notification: `version` 1.0,
 * `source` custom, `content` with `textType` client-markdown. Agent text in it is rendered by
 * `inertMarkdown` (one line, in a code span, nothing that can format, link or mention).
 */
export interface ChatNotification {
  readonly version: '1.0';
  readonly source: 'custom';
  readonly id: string;
  readonly content: {
    readonly textType: 'client-markdown';
    readonly title: string;
    readonly description: string;
    readonly nextSteps?: string[];
    readonly keywords?: string[];
  };
  readonly metadata: {
    readonly threadId: string;
    readonly summary: string;
    readonly eventType: string;
    readonly relatedResources?: string[];
    readonly additionalContext?: Record<string, string>;
  };
}

/** What publishing a notice did, as the approver's reply reports it. */
/** `failed`: not published, stored for the sweep to publish; `lost`: neither published nor stored, so nothing retries it. */
export type Announcement = 'sent' | 'already-sent' | 'failed' | 'lost' | 'off';

/** SNS subjects: ASCII, no line breaks or control characters, under 100 characters. */
function subjectOf(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 99);
}

/** A field line of the plain-text form: a fixed label, then one inert line. */
const field = (label: string, value: unknown, max?: number) => `${`${label}:`.padEnd(16)} ${inertText(value, max)}`;
/** A field of the chat form: a fixed bold label, then the value in an inert code span. */
const chatField = (label: string, value: unknown, max?: number) => `*${label}:* ${inertMarkdown(value, max)}`;

/** A shell word for a command line shown to a person (request ids may hold ' ! ( ) and the like). */
const shellWord = (word: string) => (/^[A-Za-z0-9_.:/@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`);

/** The `--url` flag of a command line; none when the URL is not configured (the CLI then reads CDK_AGENT_GUARDRAILS_APPROVAL_URL). */
const urlFlag = (url: string) => (url ? ` --url ${shellWord(url)}` : '');

/** The thread of every notice of one request, and nothing an agent chose verbatim. */
const threadOf = (requestId: string) => `approval-${createHash('sha256').update(requestId, 'utf8').digest('hex').slice(0, 32)}`;

function chat(request: LedgerRequest, kind: string, title: string, lines: string[], nextSteps: string[] = [], context = {}): ChatNotification {
  return {
    version: '1.0',
    source: 'custom',
    id: `${threadOf(request.requestId)}-${createHash('sha256').update(kind).digest('hex').slice(0, 16)}`,
    content: {
      textType: 'client-markdown',
      title,
      description: lines.join('\n'),
      ...(nextSteps.length ? { nextSteps } : {}),
      keywords: [request.operation],
    },
    metadata: {
      threadId: threadOf(request.requestId),
      summary: title,
      eventType: kind,
      additionalContext: { requestId: inertText(request.requestId, 100), operation: request.operation, ...context },
    },
  };
}

/** The notice that asks the approvers. */
function requestNotice(approvalUrl: string, request: LedgerRequest, target: string, parameters: unknown, terms?: GateTerms): Notice {
  const carriedOut = executionTerms(terms, request, target);
  const id = shellWord(request.requestId);
  const url = urlFlag(approvalUrl);
  const commands = [
    `npx cdk-agent-guardrails approvals show ${id}${url}`,
    `npx cdk-agent-guardrails approvals approve ${id} --digest ${request.digest}${url}`,
    `npx cdk-agent-guardrails approvals reject ${id} --reason "..."${url}`,
  ].map((c) => inertText(c, 400));
  const text = [
    `An AI agent asks for approval of a high-risk operation (request ${inertText(request.requestId, 100)}).`,
    '',
    field('Operation', request.operation),
    `${field('Acts on', target)}  (derived from the parameters; the request names the same resource)`,
    field('If approved', carriedOut, 1000),
    field('Parameters', parameters, 2000),
    field("Agent's reason", request.reason, 1000),
    `${field('Source identity', request.sourceIdentity, 200)} (as stated by the requester; CloudTrail's StartExecution event shows the verified one)`,
    field('May be requested by', `${request.requesters.join(', ')} (the roles granted to request; the starting session is not verified here)`, 700),
    field('Digest', request.digest),
    field('Approvals', `${request.requiredApprovals} distinct approver(s) required`),
    '',
    'Decide with your own AWS credentials:',
    ...commands.map((c) => `  ${c}`),
    '',
    'No answer before the timeout means rejected. Agent-written values are shown escaped and cut; the ledger keeps them exactly.',
  ].join('\n');
  const title = `Approval needed: ${request.operation}`;
  return {
    subject: subjectOf(title),
    text,
    chat: chat(
      request,
      'APPROVAL_REQUESTED',
      title,
      [
        chatField('Request', request.requestId, 100),
        chatField('Operation', request.operation),
        chatField('Acts on', target),
        chatField('If approved', carriedOut, 600),
        chatField('Parameters', parameters, 1000),
        chatField("Agent's reason", request.reason, 500),
        chatField('Source identity (as stated)', request.sourceIdentity, 200),
        chatField('May be requested by (roles granted)', request.requesters.join(', '), 500),
        chatField('Digest', request.digest),
        chatField('Approvals required', request.requiredApprovals),
      ],
      [...commands.map((c) => inertMarkdown(c, 400)), 'No answer before the timeout means rejected.'],
      { digest: request.digest },
    ),
  };
}

const QUORUM_REACHED = 'quorum reached, the workflow checks the ledger and performs it';
/** Credentials mode: approval hands out a session; nothing is performed by the gate (review HIGH-2). */
const quorumReachedCredentials = (terms: GateTerms | undefined, request: LedgerRequest) =>
  'quorum reached, the workflow checks the ledger and opens the collection window' +
  (terms?.collectWithinSeconds ? ` for ${Math.round(terms.collectWithinSeconds / 60)} minutes` : '') +
  `: ${executionTerms(terms, request, request.resource)}`;

/** The notice of a decision: approved by X (k of n), or rejected by X with the reason. */
function decisionNotice(
  a: AnnounceConfig,
  request: LedgerRequest,
  decision: 'approved' | 'rejected',
  by: string,
  count: number,
  required: number,
  reason?: string,
): Notice {
  const quorum = decision === 'approved' && count >= required;
  const reached = isCredentialsRequest(a.terms, request) ? inertText(quorumReachedCredentials(a.terms, request), 1000) : QUORUM_REACHED;
  const headline =
    decision === 'approved'
      ? `Approved by ${inertText(by, 300)} (${count} of ${required})${quorum ? `: ${reached}` : ''}`
      : `Rejected by ${inertText(by, 300)}: nothing will be performed`;
  const text = [
    `${headline}.`,
    '',
    field('Request', request.requestId, 100),
    field('Operation', request.operation),
    field('Resource', request.resource),
    ...(reason !== undefined ? [field('Rejection reason', reason, 1000)] : []),
    field('Digest', request.digest),
    '',
    quorum || decision === 'rejected'
      ? 'A final notice follows when the workflow ends.'
      : `Waiting for ${required - count} more approval(s): npx cdk-agent-guardrails approvals show ` +
        `${inertText(shellWord(request.requestId), 100)}${inertText(urlFlag(a.approvalUrl), 300)}`,
  ].join('\n');
  const title = decision === 'approved' ? `Approved (${count} of ${required}): ${request.operation}` : `Rejected: ${request.operation}`;
  return {
    subject: subjectOf(title),
    text,
    chat: chat(
      request,
      decision === 'approved' ? `APPROVED#${by}` : 'REJECTED',
      title,
      [
        decision === 'approved' ? `Approved by ${inertMarkdown(by, 300)} (${count} of ${required})` : `Rejected by ${inertMarkdown(by, 300)}`,
        chatField('Request', request.requestId, 100),
        chatField('Resource', request.resource),
        ...(reason !== undefined ? [chatField('Rejection reason', reason, 500)] : []),
      ],
      [],
      { decision, by: inertText(by, 300) },
    ),
  };
}

/** What each outcome means for a person, in one sentence. */
const OUTCOME_MEANING: Record<string, string> = {
  EXECUTED: 'the operation was performed',
  EXECUTION_FAILED: 'the operation was attempted and AWS refused or failed it',
  REJECTED: 'rejected; nothing was performed',
  TIMED_OUT: 'no decision before the timeout; nothing was performed',
  QUORUM_NOT_MET: 'the ledger did not hold enough approvals; nothing was performed',
  DIGEST_MISMATCH: 'the decision did not match the request; nothing was performed',
  UNDELIVERABLE: 'the decision could not reach the workflow before it ended; nothing was performed',
  ERROR: 'the approval failed; nothing was performed',
  ABORTED: 'the execution was stopped before the operation; nothing was performed',
  FAILED: 'the execution failed before the operation; nothing was performed',
  EXPIRED: 'the approved credentials were not collected in time; none were issued',
  CREDENTIALS_ISSUED: 'the approved credentials were issued to the requesting agent',
  ISSUE_FAILED: 'the collection was recorded but STS issued no credentials; the approval is used up',
  OUTCOME_UNKNOWN: 'whether the operation ran is not known: check CloudTrail for the executor role',
};

/** Credentials mode: what an unknown outcome means (review LOW-8): the role that may have acted is the credentials role. */
const CREDENTIALS_UNKNOWN_MEANING =
  "whether credentials were issued is not known: check CloudTrail for sessions of the gate's credentials role (its session tag " +
  'guardrails:approval-request names the request)';

/** The final notice of a request. */
function outcomeNotice(request: LedgerRequest, terms?: GateTerms): Notice {
  const outcome = request.outcome ?? 'OUTCOME_UNKNOWN';
  const meaning =
    outcome === 'OUTCOME_UNKNOWN' && isCredentialsRequest(terms, request)
      ? CREDENTIALS_UNKNOWN_MEANING
      : (OUTCOME_MEANING[outcome] ?? 'see the ledger');
  const title = `${outcome === 'EXECUTED' ? 'Performed' : `Ended (${outcome})`}: ${request.operation}`;
  const text = [
    `Request ${inertText(request.requestId, 100)} ended: ${outcome}, ${meaning}.`,
    '',
    field('Operation', request.operation),
    field('Resource', request.resource),
    field('Approvers', request.approvals.join(', ') || 'none', 1000),
    field('Detail', request.outcomeDetail ?? '', 500),
  ].join('\n');
  return {
    subject: subjectOf(title),
    text,
    chat: chat(
      request,
      `OUTCOME#${outcome}`,
      title,
      [
        `${outcome}: ${meaning}`,
        chatField('Request', request.requestId, 100),
        chatField('Resource', request.resource),
        chatField('Approvers', request.approvals.join(', ') || 'none', 500),
        chatField('Detail', request.outcomeDetail ?? '', 300),
      ],
      [],
      { outcome },
    ),
  };
}

/** The SNS message with a form per protocol: chat (default, for AWS Chatbot) and plain text (email). */
function snsMessage(notice: Notice): string {
  return JSON.stringify({ 'default': JSON.stringify(notice.chat), 'email': notice.text, 'email-json': JSON.stringify(notice.chat) });
}

async function publish(sns: SNSClient, topicArn: string, subject: string, message: string): Promise<void> {
  await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, MessageStructure: 'json', Message: message }));
}

/**
 * Publishes a notice once per request and kind. The rendered message is stored first (the first
 * rendering wins), then published, then marked sent. A failed publish never fails the decision: the
 * notice stays pending for the sweep to publish, and the caller's reply says it was not sent. A
 * publish whose mark is lost is published again by the sweep (told twice, never told falsely).
 */
async function announce(
  store: ApprovalLedger,
  a: AnnounceConfig | undefined,
  request: LedgerRequest,
  kind: string,
  render: () => Notice,
): Promise<Announcement> {
  if (!a?.topicArn) return 'off';
  const notice = render();
  const message = snsMessage(notice);
  let ledger: ApprovalLedger | undefined = store;
  try {
    const claim = await ledger.claimNotice(request.requestId, kind, notice.subject, message);
    if (claim === 'sent') return 'already-sent';
  } catch (e) {
    // The ledger is unreachable: tell people anyway (a later retry may tell them again).
    log('notice not stored', request.requestId, kind, e);
    ledger = undefined;
  }
  try {
    await publish(a.sns, a.topicArn, notice.subject, message);
  } catch (e) {
    log('notice not published', request.requestId, kind, e);
    await ledger
      ?.appendEvent(request.requestId, { event: 'NOTIFY_FAILED', notice: kind, error: (e as Error).name ?? 'Error' })
      .catch(() => undefined);
    return ledger ? 'failed' : 'lost';
  }
  await ledger?.markNoticeSent(request.requestId, kind).catch((e) => log('notice sent, mark not stored', request.requestId, kind, e));
  return 'sent';
}

function announced(told: Announcement): Record<string, unknown> {
  if (told === 'off') return {};
  if (told === 'failed') {
    return { othersNotified: false, notice: 'the other approvers could not be notified now (SNS failed); the sweep retries the notice' };
  }
  if (told === 'lost') {
    return {
      othersNotified: false,
      notice: 'the other approvers could not be notified (SNS and the ledger failed) and nothing retries it: tell them',
    };
  }
  return { othersNotified: true };
}

function withAnnounced(result: HttpResult, told: Announcement): HttpResult {
  if (told === 'off') return result;
  try {
    return { ...result, body: JSON.stringify({ ...JSON.parse(result.body), ...announced(told) }) };
  } catch {
    return result;
  }
}

function log(what: string, requestId: string, detail: string, error?: unknown): void {
  console.log(JSON.stringify({ level: error ? 'error' : 'info', what, requestId: inertText(requestId, 100), detail, error: (error as Error)?.name }));
}

/** Builds the notifier the workflow invokes with its task token. */
export function createNotifier(config: NotifyConfig): (event: { taskToken?: string; requestId?: string }) => Promise<void> {
  return async (event) => {
    if (typeof event.taskToken !== 'string' || typeof event.requestId !== 'string') {
      throw new Error('notify: taskToken and requestId are required');
    }
    if (!validOperations(config.operations)) throw new Error('notify: no valid OPERATIONS configured; nobody is asked');
    const recorded = await config.ledger.getRequest(event.requestId);
    if (!recorded) throw new Error(`notify: request ${inertText(event.requestId, 100)} is not a pending request without a token`);
    // Nobody is asked about a request whose parameters act on another resource than the one shown.
    const binding = bindingOf(config.operations, recorded);
    if (!binding.target || binding.refusal) {
      throw new Error(`notify: request ${inertText(event.requestId, 100)} refused: ${binding.refusal}`);
    }
    if (!(await config.ledger.registerToken(event.requestId, event.taskToken))) {
      // Fail: the workflow's catch records the error; no approver is asked about an unknown request.
      throw new Error(`notify: request ${inertText(event.requestId, 100)} is not a pending request without a token`);
    }
    const request = recorded;
    const told = await announce(
      config.ledger,
      { sns: config.sns, topicArn: config.topicArn, approvalUrl: config.approvalUrl, terms: config.terms },
      request,
      'REQUESTED',
      () => requestNotice(config.approvalUrl, request, binding.target!, JSON.parse(request.canonical)[2], config.terms),
    );
    // A stored notice is published by the sweep, and the request stays decidable through `approvals
    // list` meanwhile. A notice neither published nor stored would leave nobody asked: the workflow's
    // catch then ends the request (nothing performed) rather than wait for a decision nobody knows of.
    if (told === 'failed') log('approvers not yet notified; the sweep retries', request.requestId, 'REQUESTED');
    if (told === 'lost')
      throw new Error(`notify: the approvers of ${inertText(request.requestId, 100)} could not be told (SNS and the ledger failed)`);
  };
}

/** The final statuses of an execution (Step Functions Execution Status Change). */
const FINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/** An EventBridge event the handler receives besides function URL requests. */
export interface GateEvent {
  readonly 'source'?: string;
  readonly 'detail-type'?: string;
  readonly 'detail'?: {
    readonly executionArn?: string;
    readonly stateMachineArn?: string;
    readonly status?: string;
    readonly name?: string;
  };
}

export interface ReconcileConfig extends ApprovalConfig {
  /** The gate's state machine: status events of any other are ignored. */
  readonly stateMachineArn: string;
  /** Requests younger than this are left to their running execution (default 5 minutes). */
  readonly minAgeMs?: number;
}

/** What the reconciliation did with one execution. */
export interface Reconciled {
  readonly requestId?: string;
  readonly action: 'ignored' | 'already-recorded' | 'recorded' | 'running';
  readonly outcome?: string;
  readonly reason?: string;
}

/** The execution as Step Functions describes it now (the event's own status is not trusted: anyone who may invoke could send one). */
async function describe(sfn: SFNClient, executionArn: string): Promise<{ status: string; output?: string; error?: string; cause?: string }> {
  try {
    const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return { status: out.status ?? 'UNKNOWN', output: out.output, error: out.error, cause: out.cause };
  } catch (e) {
    if ((e as Error).name === 'ExecutionDoesNotExist') return { status: 'NOT_FOUND' };
    throw e;
  }
}

/** How long after a recorded collection the collector may still be asking STS and recording its outcome (its timeout is 30 s). */
export const COLLECTION_IN_FLIGHT_MS = 120_000;

interface EndedOutcome {
  readonly outcome: string;
  readonly detail: string;
  /** Written only while the workflow never accepted a decision. */
  readonly notAccepted: boolean;
  /** Written only while no collection is recorded (an outcome that says no credentials were issued). */
  readonly notCollected?: boolean;
}

/**
 * The outcome an ended execution leaves for a request the ledger shows open, and the condition it is
 * written under; undefined while a collection recorded moments ago may still be issuing and recording.
 */
function outcomeOfEnded(
  request: LedgerRequest,
  run: { status: string; output?: string; error?: string; cause?: string },
  terms?: GateTerms,
): EndedOutcome | undefined {
  const why = `${run.status}${run.error ? ` (${inertText(run.error, 100)}${run.cause ? `: ${inertText(run.cause, 300)}` : ''})` : ''}`;
  if (request.acceptedAt && isCredentialsRequest(terms, request)) return credentialsOutcomeOfEnded(request, run, why);
  if (!request.acceptedAt) {
    // The workflow performs only after its ledger check set acceptedAt; without it, nothing ran.
    if (run.status === 'SUCCEEDED') {
      return {
        outcome: 'OUTCOME_UNKNOWN',
        notAccepted: true,
        detail: `the execution SUCCEEDED but the ledger shows no accepted decision; reconciled`,
      };
    }
    const outcome = run.status === 'NOT_FOUND' ? 'ABORTED' : run.status;
    return {
      outcome,
      notAccepted: true,
      detail: `the execution ended ${why} without recording an outcome; it never passed the ledger check, so nothing was performed (reconciled)`,
    };
  }
  if (run.status === 'SUCCEEDED') {
    let output: any;
    try {
      output = JSON.parse(run.output ?? 'null');
    } catch {
      output = undefined;
    }
    if (output && typeof output === 'object' && 'result' in output) {
      return { outcome: 'EXECUTED', notAccepted: false, detail: `${JSON.stringify(output.result)}`.slice(0, 4000) };
    }
  }
  return {
    outcome: 'OUTCOME_UNKNOWN',
    notAccepted: false,
    detail:
      `the execution ended ${why} after the ledger accepted the decision, without recording an outcome; ` +
      'whether the operation ran is not known here (check CloudTrail for the executor role)',
  };
}

/**
 * Credentials mode, approved and accepted: the gate performed nothing. Without a recorded collection
 * no credentials exist (the collector records before it asks STS), so the request expired or ended
 * with its execution, written only while still uncollected. With one, the collector's own outcome
 * was lost: the credentials role is the one to check (review LOW-8).
 */
function credentialsOutcomeOfEnded(request: LedgerRequest, run: { status: string; error?: string }, why: string): EndedOutcome | undefined {
  if (request.collectedAt) {
    const since = Date.now() - Date.parse(request.collectedAt);
    if (Number.isFinite(since) && since >= 0 && since < COLLECTION_IN_FLIGHT_MS) return undefined;
    return {
      outcome: 'OUTCOME_UNKNOWN',
      notAccepted: false,
      detail:
        // The tag to search for comes first: notices cut long details, and an encoded id can be long.
        `check CloudTrail for sessions of the gate's credentials role tagged guardrails:approval-request=` +
        `${inertText(requestTagValue(request.requestId), 300)}: collected by ${inertText(request.collectedBy ?? 'unknown', 300)} at ` +
        `${inertText(request.collectedAt, 40)}, and the collector recorded no outcome, so credentials were probably issued ` +
        `(the execution ended ${why})`,
    };
  }
  const windowOver = (() => {
    const opened = Date.parse(request.collectableAt ?? '');
    return Number.isFinite(opened) && Date.now() >= opened + Number(request.collectWithinSeconds ?? 0) * 1000;
  })();
  const expired = run.status === 'SUCCEEDED' || run.error === 'Expired' || windowOver;
  return {
    outcome: expired ? 'EXPIRED' : run.status === 'NOT_FOUND' ? 'ABORTED' : run.status,
    notAccepted: false,
    notCollected: true,
    detail: `the execution ended ${why} with no collection recorded: no credentials were issued (reconciled)`,
  };
}

/**
 * Brings one open request in line with its ended execution; announces the outcome. Returns the
 * request without an outcome only while a collection may still be recording its own.
 */
async function reconcileRequest(
  config: ReconcileConfig,
  request: LedgerRequest,
  run: { status: string; output?: string; error?: string; cause?: string },
): Promise<LedgerRequest> {
  let current: LedgerRequest | undefined = request;
  for (let attempt = 0; attempt < 3 && current && !current.outcome; attempt++) {
    const ended = outcomeOfEnded(current, run, config.terms);
    if (!ended) return current;
    const written = await config.ledger.recordReconciledOutcome(
      current.requestId,
      ended.outcome,
      ended.detail,
      randomUUID(),
      ended.notAccepted,
      ended.notCollected,
    );
    current = written.request;
  }
  if (!current?.outcome) throw new Error(`reconcile: the outcome of ${inertText(request.requestId, 100)} could not be recorded`);
  await announce(config.ledger, config.announce, current, 'OUTCOME', () => outcomeNotice(current!, config.terms));
  return current;
}

/**
 * Makes the ledger reflect an execution's final state (a Step Functions status-change event). An
 * event for another state machine, an execution that is not final, or an unknown request is ignored
 * and logged. A failed write throws, so that EventBridge retries (and its dead-letter queue alarms).
 */
export async function reconcileExecution(config: ReconcileConfig, event: GateEvent): Promise<Reconciled> {
  const d = event.detail ?? {};
  if (!config.stateMachineArn) throw new Error('reconcile: STATE_MACHINE_ARN is not configured; no status event can be trusted');
  if (d.stateMachineArn !== config.stateMachineArn || typeof d.executionArn !== 'string') {
    log('ignored: another state machine', String(d.name ?? ''), inertText(d.stateMachineArn ?? 'none', 200));
    return { action: 'ignored', reason: 'another state machine' };
  }
  const prefix = `${config.stateMachineArn.replace(':stateMachine:', ':execution:')}:`;
  if (!d.executionArn.startsWith(prefix)) {
    log('ignored: the execution is not of this state machine', '', inertText(d.executionArn, 300));
    return { action: 'ignored', reason: 'the execution is not of this state machine' };
  }
  const requestId = d.executionArn.slice(prefix.length);
  if (!FINAL_STATUSES.has(String(d.status))) return { requestId, action: 'ignored', reason: `status ${inertText(d.status, 40)} is not final` };
  const request = await config.ledger.getRequest(requestId);
  if (!request || request.executionArn !== d.executionArn) {
    log('ignored: no request of this execution in the ledger', requestId, 'unknown request');
    return { requestId, action: 'ignored', reason: 'unknown request' };
  }
  if (request.outcome) {
    await announce(config.ledger, config.announce, request, 'OUTCOME', () => outcomeNotice(request, config.terms));
    return { requestId, action: 'already-recorded', outcome: request.outcome };
  }
  const run = await describe(config.sfn, d.executionArn);
  if (!FINAL_STATUSES.has(run.status) && run.status !== 'NOT_FOUND')
    return { requestId, action: 'running', reason: `Step Functions says ${run.status}` };
  const current = await reconcileRequest(config, request, run);
  if (!current.outcome)
    return { requestId, action: 'running', reason: 'a collection was recorded moments ago; its outcome is awaited (the sweep rechecks)' };
  return { requestId, action: 'recorded', outcome: current.outcome };
}

/** What one sweep did. */
export interface SweepReport {
  readonly redelivered: Array<{ requestId: string; statusCode: number }>;
  readonly reconciled: Reconciled[];
  readonly notices: Array<{ requestId: string; notice: string; sent: boolean }>;
}

/**
 * The scheduled sweep: redelivers recorded decisions, closes ghost requests (open in the ledger, their
 * execution over) from Step Functions' own status, and publishes notices that were never confirmed
 * sent. Every item is tried; if any failed, the sweep throws at the end so that the failure shows.
 */
export async function sweepGate(config: ReconcileConfig): Promise<SweepReport> {
  const failures: string[] = [];
  const redelivered = await redeliverDecisions(config).catch((e) => {
    failures.push(`redelivery: ${(e as Error).name}`);
    return [];
  });
  const reconciled: Reconciled[] = [];
  const oldEnough = new Date(Date.now() - (config.minAgeMs ?? 300_000)).toISOString();
  for (const request of await config.ledger.listOpen()) {
    if (request.requestedAt > oldEnough || !request.executionArn) continue;
    try {
      const run = await describe(config.sfn, request.executionArn);
      if (!FINAL_STATUSES.has(run.status) && run.status !== 'NOT_FOUND') continue;
      const current = await reconcileRequest(config, request, run);
      if (current.outcome) reconciled.push({ requestId: request.requestId, action: 'recorded', outcome: current.outcome });
    } catch (e) {
      failures.push(`${inertText(request.requestId, 100)}: ${(e as Error).name}`);
    }
  }
  const notices: SweepReport['notices'] = [];
  if (config.announce?.topicArn) {
    const before = new Date(Date.now() - Math.min(config.minAgeMs ?? 300_000, 60_000)).toISOString();
    for (const notice of await config.ledger.listUnsentNotices(before)) {
      const kind = notice.record.slice('NOTICE#'.length);
      try {
        await publish(config.announce.sns, config.announce.topicArn, notice.subject, notice.message);
        await config.ledger.markNoticeSent(notice.requestId, kind);
        notices.push({ requestId: notice.requestId, notice: kind, sent: true });
      } catch (e) {
        notices.push({ requestId: notice.requestId, notice: kind, sent: false });
        failures.push(`notice ${kind} of ${inertText(notice.requestId, 100)}: ${(e as Error).name}`);
      }
    }
  }
  if (failures.length) throw new Error(`sweep: ${failures.length} item(s) failed and are retried next time: ${failures.join('; ')}`);
  return { redelivered, reconciled, notices };
}

/** The gate's operations from the environment; unreadable means none (and nothing can be decided). */
function parseOperations(): BoundOperation[] {
  try {
    return JSON.parse(process.env.OPERATIONS ?? '[]');
  } catch {
    return [];
  }
}

/** GATE_TERMS; unreadable means unknown (and the notices and views say so). */
function termsFromEnv(): GateTerms | undefined {
  try {
    const terms = JSON.parse(process.env.GATE_TERMS ?? 'null');
    return terms && typeof terms === 'object' && Array.isArray(terms.credentials) ? (terms as GateTerms) : undefined;
  } catch {
    return undefined;
  }
}

function ledgerFromEnv(): ApprovalLedger {
  return new ApprovalLedger(new DynamoDBClient({}), process.env.LEDGER_TABLE ?? '');
}

/** The handler configuration from its environment (LEDGER_TABLE, APPROVERS, REQUIRED_APPROVALS, OPERATIONS, TOPIC_ARN, APPROVAL_URL, ...). */
function gateFromEnv(): ReconcileConfig {
  let approvers: string[] = [];
  try {
    approvers = JSON.parse(process.env.APPROVERS ?? '[]');
  } catch {
    approvers = [];
  }
  return {
    ledger: ledgerFromEnv(),
    sfn: new SFNClient({}),
    approvers,
    requiredApprovals: Number(process.env.REQUIRED_APPROVALS),
    operations: parseOperations(),
    stateMachineArn: process.env.STATE_MACHINE_ARN ?? '',
    announce: process.env.TOPIC_ARN
      ? { sns: new SNSClient({}), topicArn: process.env.TOPIC_ARN, approvalUrl: process.env.APPROVAL_URL ?? '', terms: termsFromEnv() }
      : undefined,
    terms: termsFromEnv(),
  };
}

let gate: ReconcileConfig | undefined;
let approvalHandler: ((event: FunctionUrlEvent) => Promise<HttpResult>) | undefined;
let notifier: ((event: { taskToken?: string; requestId?: string }) => Promise<void>) | undefined;

/** Whether the event is an EventBridge event (a function URL request never has a top-level `source`). */
const isGateEvent = (event: unknown): event is GateEvent =>
  typeof event === 'object' && event !== null && typeof (event as GateEvent).source === 'string' && 'detail-type' in event;

/**
 * The approval handler's entry point: function URL requests (approvers), the scheduled sweep
 * (`aws.events` Scheduled Event) and Step Functions execution status changes (`aws.states`).
 */
export async function handler(event: FunctionUrlEvent | GateEvent): Promise<HttpResult | SweepReport | Reconciled> {
  gate ??= gateFromEnv();
  if (isGateEvent(event)) {
    if (event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event') return sweepGate(gate);
    if (event.source === 'aws.states' && event['detail-type'] === 'Step Functions Execution Status Change') return reconcileExecution(gate, event);
    log('ignored: unknown event', '', `${inertText(event.source, 100)} / ${inertText(event['detail-type'], 100)}`);
    return { action: 'ignored', reason: 'unknown event' };
  }
  approvalHandler ??= createApprovalHandler(gate);
  return approvalHandler(event as FunctionUrlEvent);
}

/** The scheduled sweep: redelivers recorded decisions, closes ghosts, republishes unsent notices. */
export async function sweep(): Promise<SweepReport> {
  gate ??= gateFromEnv();
  return sweepGate(gate);
}

export async function notify(event: { taskToken?: string; requestId?: string }): Promise<void> {
  notifier ??= createNotifier({
    ledger: ledgerFromEnv(),
    sns: new SNSClient({}),
    topicArn: process.env.TOPIC_ARN ?? '',
    approvalUrl: process.env.APPROVAL_URL ?? '',
    operations: parseOperations(),
    terms: termsFromEnv(),
  });
  return notifier(event);
}
