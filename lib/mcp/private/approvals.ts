/**
 * `request_approval` and `approval_status`: the agent asks an ApprovalGate, with its own
 * credentials (the default AWS credential chain of the server's process, exactly as the agent
 * would call Step Functions itself), and follows its request. The server never reads, holds or
 * prints the credentials; the gate's workflow validates everything again and a human decides.
 */
import { randomBytes } from 'crypto';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { canonicalRequest, requestDigest } from '../../approval-gate/runtime/approval-digest';
import { checkBinding } from '../../approval-gate/runtime/approval-binding';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { UNKNOWN_ACCOUNT } from '../../verify/model/template-values';
import { duration, parametersFor, requestableGates } from './gates';
import { inertJson, inertQuoted } from '../../shared/inert-text';
import { GateInfo, Knowledge } from './knowledge';
import { badInput, checkRequestId, isArnShaped } from './tool-input';

export interface RequestApprovalInput {
  readonly gate: string;
  readonly operation: string;
  readonly resource: string;
  readonly parameters: Record<string, unknown>;
  readonly reason: string;
}

export interface ApprovalRequested {
  readonly requestId: string;
  readonly gate: string;
  readonly executionArn: string;
  readonly startedAt: string;
  readonly decideBy?: string;
  readonly approversSee: {
    readonly operation: string;
    readonly resource: string;
    readonly parameters: Record<string, unknown>;
    readonly reason: string;
    readonly sourceIdentity: string;
    readonly requestedBy: string;
    readonly digest: string;
  };
  readonly requiredApprovals?: number;
  readonly timeoutSeconds?: number;
}

export type ApprovalState = 'pending' | 'performed' | 'rejected' | 'timed-out' | 'refused' | 'failed' | 'aborted';

export interface ApprovalStatus {
  readonly requestId: string;
  readonly gate: string;
  readonly status: ApprovalState;
  readonly detail: string;
  readonly decidedBy: string[];
  readonly startedAt?: string;
  readonly stoppedAt?: string;
  readonly next: string;
}

export interface ApprovalOptions {
  /** What the request states as the session's source identity (the verified one is in CloudTrail). */
  readonly sourceIdentity?: string;
  /** A factory for the Step Functions client (tests point it at a local endpoint through AWS_ENDPOINT_URL_SFN). */
  readonly sfn?: (region: string) => SFNClient;
}

const MAX_REASON = 1000;
const MAX_PARAMETERS = 8000;

function client(options: ApprovalOptions, region: string): SFNClient {
  return options.sfn ? options.sfn(region) : new SFNClient({ region, maxAttempts: 3 });
}

function remote(what: string, e: unknown): GuardrailsError {
  const err = e as Error & { name?: string };
  // The SDK's message names the service's refusal (AccessDenied, ...); it never carries credentials.
  const message = `Step Functions ${what} failed: ${inertQuoted(`${err.name ?? 'Error'}: ${err.message}`, 300)}`;
  return new GuardrailsError(GuardrailsErrorKind.REMOTE, message, {
    code: 'Mcp.Remote',
    fix: 'check that the server runs with the agent\'s AWS credentials and region, and that the gate is deployed; then call again',
  });
}

function findGate(k: Knowledge, raw: string): GateInfo {
  const usable = requestableGates(k);
  const gate = usable.find((g) => g.id === raw || g.stateMachineName === raw || g.stateMachineArn === raw);
  if (gate) return gate;
  const known = k.gates.find((g) => g.id === raw || g.stateMachineName === raw || g.stateMachineArn === raw);
  const ids = usable.map((g) => g.id);
  throw badInput(known ? 'GateNotRequestable' : 'UnknownGate',
    known ? `${k.agent.name} may not request through approval gate ${known.id}` : 'no approval gate of this app has that name', raw,
    ids.length > 0 ? `use one of the gates this agent may request through: ${ids.join(', ')} (check_action names the gate for an action)`
      : 'this agent may request through no approval gate; ask the person you work for');
}

function deployedArn(gate: GateInfo): string {
  if (gate.stateMachineArn.split(':')[4] === UNKNOWN_ACCOUNT) {
    throw new GuardrailsError(GuardrailsErrorKind.USAGE, `the account of approval gate ${gate.id} is not known offline (its stack has no env)`, {
      code: 'Mcp.GateAccountUnknown', received: gate.stateMachineArn,
      fix: 'give the gate\'s stack an env (account and region) and run `cdk synth`, or start the server with --live --role-arn ARN',
    });
  }
  return gate.stateMachineArn;
}

function checkRequest(gate: GateInfo, input: RequestApprovalInput): { operation: string; parameters: Record<string, unknown>; reason: string } {
  const op = gate.operations.find((o) => o.operation.toLowerCase() === input.operation.toLowerCase());
  if (!op) {
    throw badInput('OperationNotGated', `approval gate ${gate.id} does not perform that operation`, input.operation,
      `use one of: ${gate.operations.map((o) => o.operation).join(', ')}`);
  }
  if (!isArnShaped(input.resource)) {
    throw badInput('MalformedArn', 'the resource is not an ARN (arn:partition:service:region:account:resource)', input.resource,
      `pass the ARN of the resource, one of: ${op.resources.join(', ')}`);
  }
  if (input.parameters === null || typeof input.parameters !== 'object' || Array.isArray(input.parameters)) {
    throw badInput('BadParameters', 'parameters must be an object: the API parameters the gate sends when approved', input.parameters,
      `pass for example ${inertJson(parametersFor(op.resourceArn, input.resource) ?? {})}`);
  }
  if (JSON.stringify(input.parameters).length > MAX_PARAMETERS) {
    throw badInput('ParametersTooLarge', `parameters must stay under ${MAX_PARAMETERS} characters of JSON (the gate digests the request)`,
      input.parameters, 'send only the parameters the API needs');
  }
  const reason = input.reason.trim();
  if (reason.length === 0 || reason.length > MAX_REASON) {
    throw badInput('BadReason', `the reason must be 1 to ${MAX_REASON} characters: approvers decide on it`, input.reason,
      'say in a sentence or two what you need done and why');
  }
  if (op.resourceArn) {
    const binding = checkBinding([op], op.operation, input.resource, input.parameters);
    if (binding.refusal) {
      const suggested = parametersFor(op.resourceArn, input.resource);
      throw badInput('RequestWouldBeRefused', `the gate would refuse this request: ${inertQuoted(binding.refusal, 400)}`, input.parameters,
        suggested ? `name the resource in the parameters exactly: ${inertJson({ ...input.parameters, ...suggested })}`
          : `request a resource the gate covers (${op.resources.join(', ')}), named by the parameters as ${op.resourceArn}`);
    }
  }
  return { operation: op.operation, parameters: input.parameters, reason };
}

/** An execution name: readable, unique, and within the gate's id alphabet. */
function newRequestId(operation: string): string {
  const slug = operation.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40);
  return `${slug}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export async function requestApproval(k: Knowledge, input: RequestApprovalInput, options: ApprovalOptions): Promise<ApprovalRequested> {
  const gate = findGate(k, input.gate);
  const { operation, parameters, reason } = checkRequest(gate, input);
  const stateMachineArn = deployedArn(gate);
  const sourceIdentity = options.sourceIdentity ?? `${k.agent.name} (stated by cdk-agent-guardrails mcp)`;
  const requestId = newRequestId(operation);
  const sfn = client(options, stateMachineArn.split(':')[3]);
  try {
    // The name makes a retried StartExecution idempotent: the same name and input start one execution.
    const started = await sfn.send(new StartExecutionCommand({
      stateMachineArn,
      name: requestId,
      input: JSON.stringify({ operation, resource: input.resource, parameters, reason, sourceIdentity }),
    }));
    const startedAt = (started.startDate ?? new Date()).toISOString();
    return {
      requestId,
      gate: gate.id,
      executionArn: started.executionArn ?? '',
      startedAt,
      ...(gate.timeoutSeconds !== undefined ? { decideBy: new Date(Date.parse(startedAt) + gate.timeoutSeconds * 1000).toISOString() } : {}),
      approversSee: {
        operation, resource: input.resource, parameters, reason, sourceIdentity, requestedBy: k.agent.roleArn,
        digest: requestDigest(canonicalRequest(operation, input.resource, parameters)),
      },
      requiredApprovals: gate.requiredApprovals,
      timeoutSeconds: gate.timeoutSeconds,
    };
  } catch (e) {
    throw remote('StartExecution', e);
  } finally {
    sfn.destroy();
  }
}

export function requestedText(a: ApprovalRequested): string {
  const see = a.approversSee;
  return [
    `REQUESTED: approval request ${a.requestId} is waiting for a human at gate ${a.gate}.`,
    `Approvers see: operation ${see.operation} on ${inertQuoted(see.resource)}, parameters ${inertJson(see.parameters)}, `
      + `your reason ${inertQuoted(see.reason, 1000)}, stated source identity ${inertQuoted(see.sourceIdentity)}, requested by ${see.requestedBy}, `
      + `digest ${see.digest} (they approve exactly this digest).`,
    `They have ${duration(a.timeoutSeconds)}${a.decideBy ? ` (until ${a.decideBy})` : ''}; ${a.requiredApprovals ?? 1} approval`
      + `${(a.requiredApprovals ?? 1) === 1 ? '' : 's'} needed. No decision in time means rejected.`,
    `Next: call approval_status with requestId ${JSON.stringify(a.requestId)} to follow it. `
      + 'Do not perform the operation yourself: the gate does it if approved.',
  ].join('\n');
}

const FAILED: Record<string, { status: ApprovalState; detail: string }> = {
  Rejected: { status: 'rejected', detail: 'an approver rejected the request; nothing was performed' },
  TimedOut: { status: 'timed-out', detail: 'no decision before the timeout, which means rejected; nothing was performed' },
  RequestRefused: { status: 'refused', detail: 'the gate refused the request before asking anyone (operation, resource or parameters not allowed)' },
  DigestMismatch: { status: 'failed', detail: 'the decision did not match the request\'s digest; nothing was performed' },
  ApprovalError: { status: 'failed', detail: 'the approval failed; nothing was performed' },
  ExecutionFailed: { status: 'failed', detail: 'approved, but the operation failed when the gate performed it (the error is in the gate\'s ledger)' },
};

function nextFor(status: ApprovalState): string {
  switch (status) {
    case 'pending': return 'Wait, and call approval_status again later; do not perform the operation yourself.';
    case 'performed': return 'The gate performed the operation; check the result before you go on.';
    case 'refused': return 'Fix the request (check_action tells the gate, operation and parameters) and request again.';
    default: return 'Nothing was performed. Do not try another way; tell the person you work for.';
  }
}

export async function approvalStatus(k: Knowledge, input: { readonly requestId: string }, options: ApprovalOptions): Promise<ApprovalStatus> {
  const requestId = checkRequestId(input.requestId);
  const gates = requestableGates(k);
  if (gates.length === 0) {
    throw badInput('NoGate', `${k.agent.name} may request through no approval gate, so it has no requests to follow`, requestId,
      'ask the person you work for');
  }
  for (const gate of gates) {
    const executionArn = `${deployedArn(gate).replace(':stateMachine:', ':execution:')}:${requestId}`;
    const sfn = client(options, executionArn.split(':')[3]);
    let described;
    try {
      described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (e) {
      if ((e as Error).name === 'ExecutionDoesNotExist') continue;
      throw remote('DescribeExecution', e);
    } finally {
      sfn.destroy();
    }
    let status: ApprovalState;
    let detail: string;
    let decidedBy: string[] = [];
    switch (described.status) {
      case 'RUNNING':
        status = 'pending';
        detail = `waiting for ${gate.requiredApprovals ?? 1} approval${(gate.requiredApprovals ?? 1) === 1 ? '' : 's'}`
          + (gate.timeoutSeconds !== undefined && described.startDate
            ? ` until ${new Date(described.startDate.getTime() + gate.timeoutSeconds * 1000).toISOString()}` : '');
        break;
      case 'SUCCEEDED': {
        status = 'performed';
        const output = safeParse(described.output);
        decidedBy = Array.isArray(output?.decision?.approvers) ? output.decision.approvers.filter((a: unknown) => typeof a === 'string') : [];
        detail = `approved${decidedBy.length > 0 ? ` by ${decidedBy.join(', ')}` : ''} and performed by the gate`;
        break;
      }
      case 'FAILED': {
        const known = FAILED[described.error ?? ''];
        status = known?.status ?? 'failed';
        detail = known?.detail ?? `the request ended with ${inertQuoted(described.error ?? 'an error')}; nothing was performed`;
        if (status === 'rejected') detail += ' (who rejected and why is in the gate\'s ledger, which approvers read with `approvals show`)';
        break;
      }
      case 'TIMED_OUT':
        status = 'timed-out';
        detail = 'the request ran out of time; nothing was performed';
        break;
      default:
        status = 'aborted';
        detail = `the request was stopped (${inertQuoted(described.status ?? 'unknown')}); nothing was performed`;
    }
    return {
      requestId, gate: gate.id, status, detail, decidedBy,
      startedAt: described.startDate?.toISOString(), stoppedAt: described.stopDate?.toISOString(),
      next: nextFor(status),
    };
  }
  throw badInput('UnknownRequest', `no request with that id at ${gates.map((g) => g.id).join(', ')}`, requestId,
    'pass the requestId that request_approval returned');
}

function safeParse(text: string | undefined): any {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

export function statusText(s: ApprovalStatus): string {
  return [
    `${s.status.toUpperCase()}: request ${s.requestId} at gate ${s.gate}: ${s.detail}.`,
    ...(s.decidedBy.length > 0 ? [`Decided by: ${s.decidedBy.join(', ')}.`] : []),
    `Next: ${s.next}`,
  ].join('\n');
}
