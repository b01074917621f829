/**
 * The approval handler of an ApprovalGate, and its notifier.
 *
 * `handler` serves the function URL (AWS_IAM auth): the approver is whoever IAM authenticated, read
 * from `requestContext.authorizer.iam` and never from the body. `notify` is invoked by the workflow
 * (waitForTaskToken): it stores the task token in the ledger and tells the approvers.
 */
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
  if (request.status !== 'PENDING' || request.outcome) {
    return reply(409, { error: `request ${request.requestId} is already ${request.outcome ?? request.status}` });
  }
  if (!request.taskToken) {
    return reply(409, { error: `request ${request.requestId} is not yet waiting for a decision; try again shortly` });
  }
  return undefined;
}

async function approve(config: ApprovalConfig, request: LedgerRequest, caller: CallerIdentity, body: Record<string, unknown>): Promise<HttpResult> {
  const pre = await precheck(config, request, caller);
  if (pre) return pre;
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
  if (!(await config.ledger.recordApproval(request.requestId, caller.principal, caller.arn, request.digest))) {
    return reply(409, {
      error: `${caller.principal} has already approved request ${request.requestId}; approvals are counted per distinct approver`,
    });
  }
  const updated = await config.ledger.addApprover(request.requestId, caller.principal);
  if (!updated) return tooLate(config, request, caller, 'APPROVE');
  if (updated.approvals.length < required) {
    return reply(202, { requestId: request.requestId, status: 'PENDING', approvals: updated.approvals.length, requiredApprovals: required });
  }
  const decided = await config.ledger.decide(request.requestId, 'APPROVED', caller.principal, required);
  if (!decided) return tooLate(config, request, caller, 'APPROVE');
  return deliver(
    config,
    decided,
    () =>
      new SendTaskSuccessCommand({
        taskToken: decided.taskToken!,
        output: JSON.stringify({ decision: 'APPROVED', digest: decided.digest, approvers: decided.approvals }),
      }),
  );
}

async function reject(config: ApprovalConfig, request: LedgerRequest, caller: CallerIdentity, body: Record<string, unknown>): Promise<HttpResult> {
  const pre = await precheck(config, request, caller);
  if (pre) return pre;
  const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
  if (reason.length === 0) return reply(400, { error: 'a rejection needs a reason' });
  const decided = await config.ledger.decide(request.requestId, 'REJECTED', caller.principal, 0, reason.slice(0, 1000));
  if (!decided) return tooLate(config, request, caller, 'REJECT', reason);
  return deliver(
    config,
    decided,
    () =>
      new SendTaskFailureCommand({
        taskToken: decided.taskToken!,
        error: REJECTED_ERROR,
        cause: JSON.stringify({ rejectedBy: caller.principal, reason: reason.slice(0, 1000) }),
      }),
  );
}

/** A decision that lost the race to another one: recorded, never applied. */
async function tooLate(
  config: ApprovalConfig,
  request: LedgerRequest,
  caller: CallerIdentity,
  decision: string,
  reason?: string,
): Promise<HttpResult> {
  await config.ledger.appendEvent(request.requestId, {
    event: 'TOO_LATE',
    decision,
    principal: caller.principal,
    callerArn: caller.arn,
    ...(reason ? { reason } : {}),
  });
  const now = await config.ledger.getRequest(request.requestId);
  return reply(409, {
    error:
      `request ${request.requestId} was decided meanwhile (${now?.status ?? 'unknown'}); your ${decision.toLowerCase()} is recorded but did ` +
      `not count`,
  });
}

/** Hands the decision to the waiting workflow; a failure to deliver is recorded, and means "not done". */
async function deliver(
  config: ApprovalConfig,
  decided: LedgerRequest,
  command: () => SendTaskSuccessCommand | SendTaskFailureCommand,
): Promise<HttpResult> {
  try {
    await config.sfn.send(command() as any);
  } catch (e) {
    await config.ledger.appendEvent(decided.requestId, { event: 'DELIVERY_FAILED', decision: decided.status, error: (e as Error).name ?? 'Error' });
    return reply(502, {
      error:
        `the decision was recorded but the workflow did not accept it (${(e as Error).name}); the request has most likely timed out and ` +
        `nothing will be performed`,
    });
  }
  await config.ledger.appendEvent(decided.requestId, {
    event: decided.status,
    principal: decided.decidedBy ?? '',
    approvers: decided.approvals.join(','),
  });
  return reply(200, { requestId: decided.requestId, status: decided.status, approvers: decided.approvals });
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
