/**
 * The approval handler of an ApprovalGate, and its notifier.
 *
 * `handler` serves the function URL (AWS_IAM auth): the approver is whoever IAM authenticated, read
 * from `requestContext.authorizer.iam` and never from the body. `notify` is invoked by the workflow
 * (waitForTaskToken): it stores the task token in the ledger and tells the approvers.
 */
import { randomUUID } from 'crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { BindingCheck, BoundOperation, checkBinding } from './approval-binding';
import { requestDigest } from './approval-digest';
import { CallerIdentity, callerIdentity, principalOf } from './identity';
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
}

export interface NotifyConfig {
  readonly ledger: ApprovalLedger;
  readonly sns: SNSClient;
  readonly topicArn: string;
  readonly approvalUrl: string;
  /** The gated operations with their resources and parameter bindings. */
  readonly operations: BoundOperation[];
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
function view(operations: readonly BoundOperation[], request: LedgerRequest): Record<string, unknown> {
  const { taskToken: _token, ...rest } = request;
  let parameters: unknown;
  try {
    parameters = JSON.parse(request.canonical)[2];
  } catch {
    parameters = undefined;
  }
  const binding = bindingOf(operations, request);
  return { ...rest, parameters, target: binding.target ?? null, ...(binding.refusal ? { bindingRefusal: binding.refusal } : {}) };
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
      return reply(200, { requests: (await config.ledger.listPending()).map((r) => view(config.operations, r)) });
    }
    const match = /^\/requests\/([A-Za-z0-9_-]{1,80})(?:\/(approve|reject))?$/.exec(path);
    if (!match) return reply(404, { error: `no route ${method} ${path}` });
    const [, requestId, verb] = match;
    const request = await config.ledger.getRequest(requestId);
    if (!request) return reply(404, { error: `no request ${requestId}` });
    if (!verb && method === 'GET') {
      const records = (await config.ledger.records(requestId)).filter((r) => r.record !== 'REQUEST').map(({ taskToken: _t, ...r }) => r);
      return reply(200, { request: view(config.operations, request), records });
    }
    if (method !== 'POST' || !verb) return reply(405, { error: `use POST /requests/${requestId}/approve or /reject` });
    return verb === 'approve' ? approve(config, request, caller, body) : reject(config, request, caller, body);
  };
}

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
  if (current.status === 'PENDING' && !current.outcome) {
    if (current.approvals.length < required) {
      return reply(202, { requestId: request.requestId, status: 'PENDING', approvals: current.approvals.length, requiredApprovals: required });
    }
    const decided = await config.ledger.decide(request.requestId, 'APPROVED', caller.principal, required, token);
    if (!decided) return reply(404, { error: `no request ${request.requestId}` });
    current = decided.request;
  }
  return settleDecided(config, current, caller, 'APPROVE', true);
}

async function reject(config: ApprovalConfig, request: LedgerRequest, caller: CallerIdentity, body: Record<string, unknown>): Promise<HttpResult> {
  const pre = await precheck(config, request, caller);
  if (pre) return pre;
  if (request.status !== 'PENDING' || request.outcome) return settleDecided(config, request, caller, 'REJECT');
  const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
  if (reason.length === 0) return reply(400, { error: 'a rejection needs a reason' });
  const decided = await config.ledger.decide(request.requestId, 'REJECTED', caller.principal, 0, randomUUID(), reason.slice(0, 1000));
  if (!decided) return reply(404, { error: `no request ${request.requestId}` });
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

/** Builds the notifier the workflow invokes with its task token. */
export function createNotifier(config: NotifyConfig): (event: { taskToken?: string; requestId?: string }) => Promise<void> {
  return async (event) => {
    if (typeof event.taskToken !== 'string' || typeof event.requestId !== 'string') {
      throw new Error('notify: taskToken and requestId are required');
    }
    if (!validOperations(config.operations)) throw new Error('notify: no valid OPERATIONS configured; nobody is asked');
    const recorded = await config.ledger.getRequest(event.requestId);
    if (!recorded) throw new Error(`notify: request ${event.requestId} is not a pending request without a token`);
    // Nobody is asked about a request whose parameters act on another resource than the one shown.
    const binding = bindingOf(config.operations, recorded);
    if (!binding.target || binding.refusal) {
      throw new Error(`notify: request ${event.requestId} refused: ${binding.refusal}`);
    }
    if (!(await config.ledger.registerToken(event.requestId, event.taskToken))) {
      // Fail: the workflow's catch records the error; no approver is asked about an unknown request.
      throw new Error(`notify: request ${event.requestId} is not a pending request without a token`);
    }
    const request = recorded;
    const parameters = JSON.parse(request.canonical)[2];
    const message = [
      `An AI agent asks for approval of a high-risk operation (request ${request.requestId}).`,
      '',
      `Operation:       ${request.operation}`,
      `Acts on:         ${binding.target}  (derived from the parameters; the request names the same resource)`,
      `Parameters:      ${JSON.stringify(parameters, null, 2)}`,
      `Agent's reason:  ${request.reason}`,
      `Source identity: ${request.sourceIdentity} (as stated by the requester; CloudTrail's StartExecution event for ${request.executionArn} shows ` +
        `the verified one)`,
      `Requested by:    ${request.requesters.join(', ')}`,
      `Digest:          ${request.digest}`,
      `Approvals:       ${request.requiredApprovals} distinct approver(s) required`,
      '',
      'Decide with your own AWS credentials:',
      `  npx cdk-agent-guardrails approvals show ${request.requestId} --url ${config.approvalUrl}`,
      `  npx cdk-agent-guardrails approvals approve ${request.requestId} --digest ${request.digest} --url ${config.approvalUrl}`,
      `  npx cdk-agent-guardrails approvals reject ${request.requestId} --reason "..." --url ${config.approvalUrl}`,
      '',
      'No answer before the timeout means rejected.',
    ].join('\n');
    await config.sns.send(
      new PublishCommand({ TopicArn: config.topicArn, Subject: `Approval needed: ${request.operation}`.slice(0, 99), Message: message }),
    );
  };
}

/** The gate's operations from the environment; unreadable means none (and nothing can be decided). */
function parseOperations(): BoundOperation[] {
  try {
    return JSON.parse(process.env.OPERATIONS ?? '[]');
  } catch {
    return [];
  }
}

function ledgerFromEnv(): ApprovalLedger {
  return new ApprovalLedger(new DynamoDBClient({}), process.env.LEDGER_TABLE ?? '');
}

let approvalHandler: ((event: FunctionUrlEvent) => Promise<HttpResult>) | undefined;
let notifier: ((event: { taskToken?: string; requestId?: string }) => Promise<void>) | undefined;

export async function handler(event: FunctionUrlEvent): Promise<HttpResult> {
  approvalHandler ??= createApprovalHandler({
    ledger: ledgerFromEnv(),
    sfn: new SFNClient({}),
    approvers: JSON.parse(process.env.APPROVERS ?? '[]'),
    requiredApprovals: Number(process.env.REQUIRED_APPROVALS),
    operations: parseOperations(),
  });
  return approvalHandler(event);
}

/** The scheduled sweep: redelivers recorded decisions that a failed delivery left behind. */
export async function sweep(): Promise<Array<{ requestId: string; statusCode: number }>> {
  return redeliverDecisions({
    ledger: ledgerFromEnv(),
    sfn: new SFNClient({}),
    approvers: JSON.parse(process.env.APPROVERS ?? '[]'),
    requiredApprovals: Number(process.env.REQUIRED_APPROVALS),
    operations: parseOperations(),
  });
}

export async function notify(event: { taskToken?: string; requestId?: string }): Promise<void> {
  notifier ??= createNotifier({
    ledger: ledgerFromEnv(),
    sns: new SNSClient({}),
    topicArn: process.env.TOPIC_ARN ?? '',
    approvalUrl: process.env.APPROVAL_URL ?? '',
    operations: parseOperations(),
  });
  return notifier(event);
}
