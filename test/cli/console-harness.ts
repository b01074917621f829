/**
 * The real approval handler behind a local stand-in for its Lambda function URL (AWS_IAM auth), for
 * the approval page's tests (test/support/sigv4-verifier.ts, as test/approval-gate/cli.test.ts uses it): a
 * server on 127.0.0.1 verifies each request's SigV4 signature against the secret of its
 * access key, as IAM does, refuses unsigned or tampered requests, and passes the authenticated caller
 * to the handler in requestContext.authorizer.iam. The ledger is on dynalite; decisions reach the
 * waiting workflow through the local Step Functions task-token endpoint (test/approval-gate/local-aws.ts).
 */
import { createApprovalHandler, createNotifier, GateTerms } from '../../lib/approval-gate/runtime';
import { ApprovalLedger } from '../../lib/approval-gate/runtime/ledger';
import { boundOperations, sessionOf } from '../approval-gate/gate-fixture';
import { LocalAws, startLocalAws } from '../approval-gate/local-aws';
import { serveFunctionUrl } from '../support/sigv4-verifier';
import { putRequestRecord } from '../approval-gate/request-record';

export const LEAD = 'arn:aws:iam::123456789012:role/security-lead';
export const SECOND = 'arn:aws:iam::123456789012:role/approver-2';
export const AGENT = 'arn:aws:iam::123456789012:role/ops-assistant-role';

/** Access keys of the local "IAM": who each one authenticates as. */
export const KEYS: Record<string, { secret: string; userArn: string }> = {
  AKIALEAD: { secret: 'lead-secret', userArn: sessionOf(LEAD, 'alice') },
  AKIASECOND: { secret: 'second-secret', userArn: sessionOf(SECOND, 'bob') },
  AKIAAGENT: { secret: 'agent-secret', userArn: sessionOf(AGENT, 'ops-assistant-1') },
};

export const PARAMETERS = { DBInstanceIdentifier: 'orders', FinalDBSnapshotIdentifier: 'orders-final' };

export interface PendingOptions {
  /** The request id (the execution's name). @default console-N */
  readonly id?: string;
  readonly parameters?: Record<string, unknown>;
  readonly reason?: string;
  readonly sourceIdentity?: string;
  readonly requiredApprovals?: number;
  /** Written to the ledger item as is (the handler passes ledger fields through to approvers). */
  readonly extra?: Record<string, string>;
  /** Register the task token through the real notifier (a workflow waiting for the decision). @default true */
  readonly waiting?: boolean;
}

export interface Pending {
  readonly id: string;
  readonly digest: string;
  /** Settles when the decision reaches the waiting workflow (success: approved; failure: rejected). */
  readonly decision: Promise<unknown>;
}

export interface ConsoleHarness {
  readonly aws: LocalAws;
  readonly ledger: ApprovalLedger;
  /** The local "function URL". */
  readonly url: string;
  /** What the front saw: the status it answered and who IAM authenticated. */
  readonly seen: Array<{ status: number; authenticated?: string }>;
  /** Lose the answers of the next `n` calls after the handler applied them (the connection is cut, as a lost response). */
  dropAnswers(n: number): void;
  /** The gate's terms the handler is configured with from now on (GATE_TERMS); undefined: none. */
  useTerms(terms: GateTerms | undefined): void;
  pendingRequest(options?: PendingOptions): Promise<Pending>;
  close(): Promise<void>;
}

/** Sets the AWS credentials the console (through the default provider chain) signs with. */
export function actAs(accessKeyId: keyof typeof KEYS | string, secret?: string): void {
  process.env.AWS_ACCESS_KEY_ID = accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = secret ?? KEYS[accessKeyId].secret;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}

/** GIVEN a gate's handler (approvers LEAD and SECOND) behind a SigV4-verifying local function URL. */
export async function startConsoleHarness(tableName: string): Promise<ConsoleHarness> {
  const aws = await startLocalAws();
  await aws.createLedger(tableName);
  const ledger = new ApprovalLedger(aws.dynamodb, tableName);
  const handlerWith = (terms?: GateTerms) =>
    createApprovalHandler({ ledger, sfn: aws.sfn, approvers: [LEAD, SECOND], requiredApprovals: 1, operations: boundOperations(), terms });
  let handler = handlerWith();
  const front = await serveFunctionUrl(KEYS, (event) => handler(event));
  const url = front.url;

  let seq = 0;
  async function pendingRequest(options: PendingOptions = {}): Promise<Pending> {
    const id = options.id ?? `console-${++seq}`;
    const parameters = options.parameters ?? PARAMETERS;
    const extra = Object.fromEntries(Object.entries(options.extra ?? {}).map(([k, v]) => [k, { S: v }]));
    const { digest } = await putRequestRecord(aws.dynamodb, tableName, id, {
      parameters,
      reason: options.reason,
      sourceIdentity: options.sourceIdentity,
      requesters: [sessionOf(AGENT, 'ops-assistant-1')],
      requiredApprovals: options.requiredApprovals,
      extra,
    });
    if (options.waiting === false) return { id, digest, decision: Promise.resolve(undefined) };
    const decision = new Promise((resolve, reject) => aws.waiters.set(`token-${id}`, { resolve, reject }));
    decision.catch(() => undefined);
    await createNotifier({ ledger, sns: aws.sns, topicArn: 't', approvalUrl: url, operations: boundOperations() })({
      taskToken: `token-${id}`,
      requestId: id,
    });
    return { id, digest, decision };
  }

  return {
    aws,
    ledger,
    url,
    seen: front.seen,
    dropAnswers: (n) => front.dropAnswers(n),
    useTerms: (terms) => (handler = handlerWith(terms)),
    pendingRequest,
    async close() {
      await front.close();
      await aws.close();
    },
  };
}
