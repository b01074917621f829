/**
 * SNS and ledger faults while approvers are told (issue 11, invariant 10): the real notifier and
 * handler publish through a fault proxy in front of the local SNS endpoint, the ledger is dynalite
 * behind another, SDK retries on. A notification failure never blocks, loses or double-counts a
 * decision; an unsent notice is retried by the sweep and the reply says it was not sent.
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { createApprovalHandler, createNotifier, FunctionUrlEvent, sweepGate } from '../../lib/approval-gate/runtime';
import { canonicalRequest, requestDigest } from '../../lib/approval-gate/runtime/approval-digest';
import { ApprovalLedger } from '../../lib/approval-gate/runtime/ledger';
import { Fault, FaultProxy, FaultRule, startFaultProxy } from '../support/fault-proxy';
import { boundOperations, PROD_DB, sessionOf } from './gate-fixture';
import { formsOf, LOCAL_CLIENT, LocalAws, startLocalAws } from './local-aws';
import { putRequestRecord } from './request-record';

const TABLE = 'notify-faults-ledger';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:approvals';
const URL_ = 'https://abc.lambda-url.us-east-1.on.aws/';
const LEAD = 'arn:aws:iam::123456789012:role/security-lead';
const SRE = 'arn:aws:iam::123456789012:role/sre-oncall';
const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:gate';
const CANONICAL = canonicalRequest('rds:DeleteDBInstance', PROD_DB, { DBInstanceIdentifier: 'orders' });
const DIGEST = requestDigest(CANONICAL);

let aws: LocalAws;
let snsProxy: FaultProxy;
let dynamoProxy: FaultProxy;
let sns: SNSClient;
let dynamodb: DynamoDBClient;
let ledger: ApprovalLedger;
let seq = 0;

beforeAll(async () => {
  aws = await startLocalAws();
  await aws.createLedger(TABLE);
  snsProxy = await startFaultProxy(aws.endpoints.sns);
  dynamoProxy = await startFaultProxy(aws.endpoints.dynamodb);
  sns = new SNSClient({ ...LOCAL_CLIENT, endpoint: snsProxy.endpoint });
  dynamodb = new DynamoDBClient({ ...LOCAL_CLIENT, endpoint: dynamoProxy.endpoint });
  ledger = new ApprovalLedger(dynamodb, TABLE);
});
let logged: jest.SpyInstance;
beforeEach(() => {
  logged = jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  snsProxy.rule = undefined;
  dynamoProxy.rule = undefined;
  logged.mockRestore();
});
afterAll(async () => {
  sns.destroy();
  dynamodb.destroy();
  await Promise.all([snsProxy.close(), dynamoProxy.close()]);
  await aws.close();
});

function when(operation: string, marker: string, fault: Fault, times = 1): FaultRule {
  let left = times;
  return (r) => {
    if (!r.operation.endsWith(operation) || !r.body.includes(marker) || left <= 0) return undefined;
    left--;
    return fault;
  };
}

/** GIVEN a pending request as the workflow records it, announced by the real notifier (through the proxies). */
async function pendingRequest(requiredApprovals: number): Promise<{ id: string; decision: Promise<unknown> }> {
  const id = `nf-${++seq}-${Date.now()}`;
  await putRequestRecord(aws.dynamodb, TABLE, id, { canonical: CANONICAL, requesters: ['arn:aws:iam::123456789012:role/agent'], requiredApprovals });
  const decision = new Promise((resolve, reject) => aws.waiters.set(`token-${id}`, { resolve, reject }));
  decision.catch(() => undefined);
  await createNotifier({ ledger, sns, topicArn: TOPIC, approvalUrl: URL_, operations: boundOperations() })({
    taskToken: `token-${id}`,
    requestId: id,
  });
  return { id, decision };
}

const handler = (required: number) =>
  createApprovalHandler({
    ledger,
    sfn: aws.sfn,
    approvers: [LEAD, SRE],
    requiredApprovals: required,
    operations: boundOperations(),
    announce: { sns, topicArn: TOPIC, approvalUrl: URL_ },
  });

const approve = (h: (e: FunctionUrlEvent) => Promise<{ statusCode: number; body: string }>, role: string, id: string, session = 'alice') =>
  h({
    rawPath: `/requests/${id}/approve`,
    body: JSON.stringify({ digest: DIGEST }),
    requestContext: { http: { method: 'POST' }, authorizer: { iam: { userArn: sessionOf(role, session) } } },
  });

const noticesOf = (id: string) => aws.published.filter((m) => m.MessageStructure === 'json' && m.Message.includes(`\`${id}\``));
const sweep = () =>
  sweepGate({
    ledger,
    sfn: aws.sfn,
    approvers: [LEAD, SRE],
    requiredApprovals: 2,
    operations: boundOperations(),
    stateMachineArn: STATE_MACHINE,
    announce: { sns, topicArn: TOPIC, approvalUrl: URL_ },
    // only notices: no request here is old enough to be judged a ghost
    minAgeMs: 3_600_000,
  });
/** Notices are stored before they are published; the sweep republishes those older than a minute, so the test ages them. */
async function ageNotices(id: string): Promise<void> {
  for (const r of await ledger.records(id)) {
    if (!String(r.record).startsWith('NOTICE#') || r.state === 'SENT') continue;
    await aws.dynamodb.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: Object.fromEntries(
          Object.entries({ ...r, createdAt: new Date(Date.now() - 120_000).toISOString() }).map(([k, v]) => [k, { S: String(v) }]),
        ),
      }),
    );
  }
}

describe('SNS faults while approvers are told', () => {
  test('fails when Publish throttled past the SDK retries blocks or double-counts the deciding approval; the sweep tells them once', async () => {
    // GIVEN a request needing two approvals, one given
    const { id, decision } = await pendingRequest(2);
    const h = handler(2);
    expect((await approve(h, LEAD, id)).statusCode).toBe(202);
    // WHEN every Publish attempt of the second approval's notice is throttled
    snsProxy.rule = when('Publish', 'Approved', { kind: 'throttle' }, 1000);
    const res = await approve(h, SRE, id, 'bob');
    snsProxy.rule = undefined;
    // THEN the decision counted once and reached the workflow; the reply says the others were not told
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'APPROVED', othersNotified: false });
    await expect(decision).resolves.toMatchObject({ decision: 'APPROVED', approvers: expect.arrayContaining([LEAD, SRE]) });
    expect((await ledger.getRequest(id))!.approvals).toHaveLength(2);
    expect(noticesOf(id).map((m) => m.Subject)).toEqual(['Approval needed: rds:DeleteDBInstance', 'Approved (1 of 2): rds:DeleteDBInstance']);
    expect((await ledger.records(id)).filter((r) => r.event === 'NOTIFY_FAILED')).toHaveLength(1);
    // WHEN the sweep runs (the notice aged past its minute)
    await ageNotices(id);
    const report = await sweep();
    // THEN the stored notice is published once, unchanged, and never again
    expect(report.notices).toContainEqual({ requestId: id, notice: `APPROVED#${SRE}`, sent: true });
    await sweep();
    const subjects = noticesOf(id).map((m) => m.Subject);
    expect(subjects.filter((s) => s === 'Approved (2 of 2): rds:DeleteDBInstance')).toHaveLength(1);
    expect(formsOf(noticesOf(id).at(-1)!).email).toMatch(new RegExp(`^Approved by ${SRE} \\(2 of 2\\): quorum reached`));
  });

  test('fails when a Publish whose answer is lost counts the approval twice or makes the sweep publish it again', async () => {
    const { id } = await pendingRequest(2);
    const h = handler(2);
    snsProxy.rule = when('Publish', 'Approved', { kind: 'drop-response' });
    const res = await approve(h, LEAD, id);
    expect(snsProxy.injected.at(-1)).toMatchObject({ operation: 'Publish', fault: 'drop-response' });
    // the SDK retried: SNS may hold the notice twice (standard topics have no deduplication), identical and true
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(res.body)).toMatchObject({ approvals: 1, othersNotified: true });
    const approvals = noticesOf(id).filter((m) => m.Subject === 'Approved (1 of 2): rds:DeleteDBInstance');
    expect(approvals.length).toBeGreaterThanOrEqual(1);
    expect(new Set(approvals.map((m) => m.Message)).size).toBe(1);
    expect((await ledger.getRequest(id))!.approvals).toEqual([LEAD]);
    // AND the notice is marked sent: the sweep does not add another
    await ageNotices(id);
    await sweep();
    expect(noticesOf(id).filter((m) => m.Subject === 'Approved (1 of 2): rds:DeleteDBInstance')).toHaveLength(approvals.length);
  });

  test('fails when SNS failing the request notice stops the request: it waits, can be approved, and the sweep asks the approvers', async () => {
    snsProxy.rule = when('Publish', 'APPROVAL_REQUESTED', { kind: '5xx', status: 503 }, 1000);
    const { id, decision } = await pendingRequest(1);
    snsProxy.rule = undefined;
    expect(noticesOf(id)).toHaveLength(0);
    // the token is stored: the request is decidable from `approvals list` meanwhile
    expect((await ledger.listPending()).map((r) => r.requestId)).toContain(id);
    await ageNotices(id);
    const report = await sweep();
    expect(report.notices).toContainEqual({ requestId: id, notice: 'REQUESTED', sent: true });
    expect(noticesOf(id).map((m) => m.Subject)).toEqual(['Approval needed: rds:DeleteDBInstance']);
    expect((await approve(handler(1), LEAD, id)).statusCode).toBe(200);
    await expect(decision).resolves.toMatchObject({ decision: 'APPROVED' });
  });

  test('fails when the ledger cannot store the notice and nobody is told, or the decision fails with it', async () => {
    const { id, decision } = await pendingRequest(1);
    dynamoProxy.rule = when('PutItem', 'NOTICE#APPROVED', { kind: 'throttle' }, 1000);
    const res = await approve(handler(1), LEAD, id);
    dynamoProxy.rule = undefined;
    expect(res.statusCode).toBe(200);
    await expect(decision).resolves.toMatchObject({ decision: 'APPROVED' });
    // told anyway (published without the stored copy)
    expect(noticesOf(id).map((m) => m.Subject)).toContain('Approved (1 of 1): rds:DeleteDBInstance');
  });

  test('fails when a notice neither published nor stored is left to nobody: the reply says so, the notifier fails the request', async () => {
    // GIVEN SNS and the ledger's notice writes both failing past the SDK's retries
    const { id, decision } = await pendingRequest(1);
    dynamoProxy.rule = when('PutItem', 'NOTICE#', { kind: 'throttle' }, 1000);
    snsProxy.rule = when('Publish', '', { kind: '5xx' }, 1000);
    // WHEN an approver approves: the decision still counts and is delivered, and the reply says nobody retries the notice
    const res = await approve(handler(1), LEAD, id);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ othersNotified: false, notice: expect.stringMatching(/nothing retries it: tell them/) });
    await expect(decision).resolves.toMatchObject({ decision: 'APPROVED' });
    // AND a new request whose approvers cannot be asked fails in the notifier (the workflow's catch ends it: nothing performed)
    await expect(pendingRequest(1)).rejects.toThrow(/could not be told \(SNS and the ledger failed\)/);
  });
});
