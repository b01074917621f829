/**
 * What the approval page shows of the handler's answers, prepared on the local server: every string
 * that an agent wrote or could influence is made inert here (one line, controls and invisible
 * characters as visible escapes, cut with a marker), so the page only ever sets textContent of
 * strings that are already safe to read. The digest and request id the page sends back are
 * checked here too: the page can approve only what it was shown.
 */
import { requestIdPath, requestIdProblem } from '../../approval-gate/runtime/approval-binding';
import { inertText } from '../../shared/inert-text';

/** How much of the agent's reason is shown before it is cut (with an explicit marker). */
export const REASON_LENGTH = 1000;
/** How much of the pretty-printed parameters is shown before they are cut (with an explicit marker). */
export const PARAMETERS_LENGTH = 20_000;
/** Any other field (ARNs, identities, dates): longer values are not legitimate and are cut. */
const FIELD_LENGTH = 300;

export const DIGEST = /^[0-9a-f]{64}$/;

/** One piece of an ARN, marked when it differs from the same piece of the other ARN. */
export interface ArnPart {
  readonly text: string;
  readonly differs: boolean;
}

/** A pending request as the page shows it. Every string is inert. */
export interface DisplayRequest {
  /** The request id (an execution name) as shown: inert. */
  readonly requestId: string;
  /** The request id as one URL path segment (`requestIdPath`: [A-Za-z0-9_-], or `~` and base64url): what the page sends back. */
  readonly pathId: string;
  readonly operation: string;
  readonly resource: string;
  /** What the gate's binding derives from the parameters; undefined when it derives nothing. */
  readonly target?: string;
  /** The binding compared piece by piece: the resource the request names vs the one its parameters act on. */
  readonly resourceParts: ArnPart[];
  readonly targetParts: ArnPart[];
  readonly bindingMatches: boolean;
  readonly bindingRefusal?: string;
  /** The parameters as pretty-printed JSON, each line inert. */
  readonly parameters: string;
  readonly reason: string;
  readonly sourceIdentity: string;
  readonly requesters: string[];
  /** What approving hands out (the handler's `execution`: performed once, or a session in credentials mode); empty when not reported. */
  readonly execution: string;
  readonly requestedAt: string;
  /** ISO time after which the request can no longer be approved, when the handler reports it. */
  readonly expiresAt?: string;
  readonly approvals: string[];
  readonly requiredApprovals: number;
  readonly status: string;
  /** The digest the page sends back with an approval; empty when the handler reported none that is valid. */
  readonly digest: string;
  /** Why neither approving nor rejecting is offered (empty when both are). */
  readonly notActionable: string;
  /** Why approving is not offered (rejecting may still be). */
  readonly approveBlocked: string;
}

const field = (value: unknown): string => (value === undefined || value === null ? '' : inertText(value, FIELD_LENGTH));

/**
 * Pretty-printed JSON whose every line is inert. JSON.stringify already escapes C0 controls inside
 * strings, so its only raw line breaks are its own; what it leaves raw (bidi overrides, zero-width
 * characters, U+2028/2029) is escaped line by line.
 */
export function inertPrettyJson(value: unknown, maxLength: number = PARAMETERS_LENGTH): string {
  let text: string;
  try {
    text = JSON.stringify(value === undefined ? null : value, null, 2) ?? 'null';
  } catch {
    return '(the parameters cannot be shown as JSON)';
  }
  const points = Array.from(text);
  const cutMarker = points.length > maxLength ? `\n… (${points.length - maxLength} more characters)` : '';
  const shown = cutMarker ? points.slice(0, maxLength).join('') : text;
  return (
    shown
      .split('\n')
      // JSON's own indentation is kept; inertText shows any other run of spaces as one.
      .map((line) => /^ */.exec(line)![0] + inertText(line.trimStart(), Number.MAX_SAFE_INTEGER))
      .join('\n') + cutMarker
  );
}

/** The two ARNs cut at `:` and `/`, each piece marked when the other ARN has another piece there. */
export function diffArns(left: string, right: string): { left: ArnPart[]; right: ArnPart[] } {
  const split = (arn: string) => arn.split(/(?=[:/])/);
  const a = split(left);
  const b = split(right);
  return {
    left: a.map((text, i) => ({ text, differs: text !== b[i] })),
    right: b.map((text, i) => ({ text, differs: text !== a[i] })),
  };
}

const isIsoTime = (v: unknown): v is string => typeof v === 'string' && v.length <= 40 && !Number.isNaN(Date.parse(v));

/** A request of the handler's answer (GET /requests) as the page shows it, at `now`. */
export function displayRequest(r: any, now: Date = new Date()): DisplayRequest {
  const resource = field(r?.resource);
  const target = typeof r?.target === 'string' && r.target ? field(r.target) : undefined;
  const parts = diffArns(resource, target ?? '');
  const bindingRefusal = r?.bindingRefusal ? field(r.bindingRefusal) : undefined;
  const validId = requestIdProblem(r?.requestId) === undefined;
  const pathId = validId ? requestIdPath(r.requestId) : '';
  const digest = typeof r?.digest === 'string' && DIGEST.test(r.digest) ? r.digest : '';
  const status = field(r?.status);
  const expiresAt = isIsoTime(r?.expiresAt) ? new Date(r.expiresAt).toISOString() : undefined;
  const expired = expiresAt !== undefined && Date.parse(expiresAt) <= now.getTime();
  const requiredApprovals = Number.isInteger(r?.requiredApprovals) && r.requiredApprovals > 0 ? r.requiredApprovals : 0;
  const notActionable = !validId
    ? 'the handler reported no valid request id'
    : expired
      ? `expired at ${expiresAt}: it can no longer be approved or rejected`
      : status !== 'PENDING' || r?.outcome
        ? `the request is ${status}${r?.outcome ? ` / ${field(r.outcome)}` : ''}, not pending`
        : '';
  const approveBlocked =
    notActionable ||
    (bindingRefusal
      ? `the gate refuses this request (${bindingRefusal}); do not approve, reject it`
      : !target || target !== resource
        ? 'the parameters do not act on the resource the request names; do not approve, reject it'
        : !digest
          ? 'the handler reported no valid digest, so an approval could not be bound to what you see'
          : requiredApprovals === 0
            ? 'the handler reported no valid number of required approvals'
            : '');
  return {
    requestId: field(r?.requestId),
    pathId,
    operation: field(r?.operation),
    resource,
    target,
    resourceParts: parts.left,
    targetParts: target ? parts.right : [],
    bindingMatches: !bindingRefusal && target !== undefined && target === resource,
    bindingRefusal,
    parameters: inertPrettyJson(r?.parameters),
    reason: r?.reason === undefined ? '' : inertText(r.reason, REASON_LENGTH),
    sourceIdentity: field(r?.sourceIdentity),
    requesters: Array.isArray(r?.requesters) ? r.requesters.slice(0, 20).map(field) : [],
    execution: typeof r?.execution === 'string' ? inertText(r.execution, REASON_LENGTH) : '',
    requestedAt: field(r?.requestedAt),
    expiresAt,
    approvals: Array.isArray(r?.approvals) ? r.approvals.slice(0, 50).map(field) : [],
    requiredApprovals,
    status,
    digest,
    notActionable,
    approveBlocked,
  };
}

/** What the page tells the person after an action: never "done" unless the handler said so. */
export interface ActionResult {
  /** waiting: recorded, more approvals needed; decided: the decision is recorded (and how far delivered); not-done: nothing counted. */
  readonly kind: 'waiting' | 'decided' | 'not-done';
  readonly headline: string;
  readonly detail: string;
  /** The handler's HTTP status (0 when it was not reached). */
  readonly status: number;
}

/** The handler's reply to approve/reject, told truthfully. Anything not understood is "not done". */
export function actionResult(verb: 'approve' | 'reject', id: string, response: { status: number; json: any }): ActionResult {
  const requestId = field(id);
  const j = response.json ?? {};
  const { status } = response;
  if (verb === 'approve' && status === 202 && j.status === 'PENDING' && Number.isInteger(j.approvals) && Number.isInteger(j.requiredApprovals)) {
    return {
      kind: 'waiting',
      status,
      headline: `Approval recorded: ${j.approvals} of ${j.requiredApprovals}, waiting for more approvers`,
      detail: `Request ${requestId} is still pending: nothing is performed until ${j.requiredApprovals} distinct approvers approved it.`,
    };
  }
  const decidedAs = verb === 'approve' ? 'APPROVED' : 'REJECTED';
  if (status === 200 && j.status === decidedAs) {
    const approvers = Array.isArray(j.approvers) && j.approvers.length ? ` (approvers: ${j.approvers.map(field).join(', ')})` : '';
    return {
      kind: 'decided',
      status,
      headline: `${verb === 'approve' ? 'Approved' : 'Rejected'}: request ${requestId} is ${decidedAs}${j.outcome ? ` / ${field(j.outcome)}` : ''}`,
      detail: `${j.delivery ? `${inertText(j.delivery)}.` : 'The handler did not say how far the decision was delivered.'}${approvers}`,
    };
  }
  if (status === 503 && j.status === decidedAs) {
    // The handler recorded the decision but could not confirm its delivery: not performed yet, and it says how to redeliver.
    return {
      kind: 'not-done',
      status,
      headline: `Not done yet: your ${verb === 'approve' ? 'approval' : 'rejection'} is recorded, its delivery to the workflow is not confirmed`,
      detail: inertText(j.error ?? 'no detail given'),
    };
  }
  const message = j.error ?? j.message ?? (status >= 200 && status < 300 ? 'the reply was not understood' : JSON.stringify(j));
  return {
    kind: 'not-done',
    status,
    headline: `Not done: the handler answered ${status}`,
    detail: `${inertText(message)} — run \`approvals show ${requestId}\` to see the request's state.`,
  };
}

/** Connection errors that mean the request never reached the handler. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * No answer from the handler. Either it was never reached (nothing can have counted), or the answer
 * was lost (the decision may have counted): never shown as done, and never as "nothing happened"
 * when that is not known.
 */
export function unreachable(id: string, error: unknown): ActionResult {
  const requestId = field(id);
  const e = error as { message?: string; code?: string; cause?: { code?: string; message?: string } } | undefined;
  const code = e?.cause?.code ?? e?.code;
  const message = inertText([e?.message ?? String(error), e?.cause?.message].filter(Boolean).join(': '));
  const show = `\`approvals show${requestId ? ` ${requestId}` : ' ID'}\``;
  if (code && NOT_SENT.has(code)) {
    return {
      kind: 'not-done',
      status: 0,
      headline: 'Not done: the approval handler could not be reached',
      detail: `${message}. Nothing was sent, so nothing counted.`,
    };
  }
  return {
    kind: 'not-done',
    status: 0,
    headline: 'Not confirmed: no answer from the approval handler',
    detail: `${message}. It may have counted or not: ${show} tells. Nothing is shown as done until the handler confirms it.`,
  };
}
