/**
 * Reconciliation (issue 11 class 3): every execution's final state is reflected in the ledger, ghost
 * requests are closed, and a performed operation is never recorded as "not performed". The real
 * handler code talks to dynalite, the local Step Functions endpoint (DescribeExecution) and the local
 * SNS endpoint, each through a fault proxy, with the SDK's default retries.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { GateEvent, reconcileExecution, ReconcileConfig, sweepGate } from '../../lib/approval-gate/runtime';
import { canonicalRequest } from '../../lib/approval-gate/runtime/approval-digest';
import { ApprovalLedger } from '../../lib/approval-gate/runtime/ledger';
import { Fault, FaultProxy, FaultRule, startFaultProxy } from '../support/fault-proxy';
import { boundOperations, PROD_DB } from './gate-fixture';
import { formsOf, LOCAL_CLIENT, LocalAws, LocalExecution, startLocalAws } from './local-aws';
import { putRequestRecord } from './request-record';

const TABLE = 'reconcile-ledger';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:approvals';
const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:gate';
const OTHER_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:other';
const LEAD = 'arn:aws:iam::123456789012:role/security-lead';
const PARAMETERS = { DBInstanceIdentifier: 'orders' };
const CANONICAL = canonicalRequest('rds:DeleteDBInstance', PROD_DB, PARAMETERS);

let aws: LocalAws;
let proxies: { dynamodb: FaultProxy; sfn: FaultProxy; sns: FaultProxy };
let clients: { dynamodb: DynamoDBClient; sfn: SFNClient; sns: SNSClient };
let config: ReconcileConfig;
let seq = 0;

beforeAll(async () => {
  aws = await startLocalAws();
  await aws.createLedger(TABLE);
  proxies = {
    dynamodb: await startFaultProxy(aws.endpoints.dynamodb),
    sfn: await startFaultProxy(aws.endpoints.sfn),
    sns: await startFaultProxy(aws.endpoints.sns),
  };
  // Default retries (standard mode, 3 attempts), as in Lambda.
  clients = {
    dynamodb: new DynamoDBClient({ ...LOCAL_CLIENT, endpoint: proxies.dynamodb.endpoint }),
    sfn: new SFNClient({ ...LOCAL_CLIENT, endpoint: proxies.sfn.endpoint }),
    sns: new SNSClient({ ...LOCAL_CLIENT, endpoint: proxies.sns.endpoint }),
  };
  config = {
    ledger: new ApprovalLedger(clients.dynamodb, TABLE),
    sfn: clients.sfn,
    approvers: [LEAD],
    requiredApprovals: 1,
    operations: boundOperations(),
    stateMachineArn: STATE_MACHINE,
    announce: { sns: clients.sns, topicArn: TOPIC, approvalUrl: 'https://abc.lambda-url.us-east-1.on.aws/' },
    minAgeMs: 0,
  };
});
let logged: jest.SpyInstance;
beforeEach(() => {
  // The handler logs one JSON line per ignored event or failed notice (CloudWatch Logs in Lambda).
  logged = jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  for (const p of Object.values(proxies)) p.rule = undefined;
  logged.mockRestore();
});
afterAll(async () => {
  for (const c of Object.values(clients)) c.destroy();
  await Promise.all(Object.values(proxies).map((p) => p.close()));
  await aws.close();
});

const executionOf = (id: string, machine = STATE_MACHINE) => `${machine.replace(':stateMachine:', ':execution:')}:${id}`;

/** GIVEN a request as the workflow left it (optionally decided and accepted), and its execution as Step Functions reports it. */
async function openRequest(
  state: { status?: 'PENDING' | 'APPROVED'; accepted?: boolean; requestedAt?: string },
  execution?: Omit<LocalExecution, 'stateMachineArn'>,
): Promise<string> {
  const id = `rec-${++seq}-${Date.now()}`;
  await putRequestRecord(aws.dynamodb, TABLE, id, {
    canonical: CANONICAL,
    status: state.status,
    requesters: ['arn:aws:iam::123456789012:role/agent'],
    executionArn: executionOf(id),
    requestedAt: state.requestedAt ?? new Date(Date.now() - 600_000).toISOString(),
    extra: {
      taskToken: { S: `token-${id}` },
      ...(state.status === 'APPROVED' ? { approvals: { SS: [LEAD] }, decidedBy: { S: LEAD } } : {}),
      ...(state.accepted ? { acceptedAt: { S: new Date().toISOString() } } : {}),
    },
  });
  if (execution) aws.executions.set(executionOf(id), { stateMachineArn: STATE_MACHINE, ...execution });
  return id;
}

const statusEvent = (id: string, status: string, machine = STATE_MACHINE): GateEvent => ({
  'source': 'aws.states',
  'detail-type': 'Step Functions Execution Status Change',
  'detail': { executionArn: executionOf(id, machine), stateMachineArn: machine, status, name: id },
});

const outcomeNotices = (id: string) =>
  aws.published.filter((m) => m.MessageStructure === 'json' && formsOf(m).chat.metadata.eventType.startsWith('OUTCOME#') && m.Message.includes(id));

function when(operation: string, marker: string, fault: Fault, times = 1): FaultRule {
  let left = times;
  return (r) => {
    if (!r.operation.endsWith(operation) || !r.body.includes(marker) || left <= 0) return undefined;
    left--;
    return fault;
  };
}

describe('a status-change event makes the ledger reflect how the execution ended', () => {
  test.each([
    ['TIMED_OUT', 'PENDING'],
    ['ABORTED', 'PENDING'],
    ['FAILED', 'APPROVED'],
  ] as const)('fails when a %s execution leaves its %s request open: closed with that status, nothing performed', async (status, recorded) => {
    // GIVEN a request the ledger shows open, whose execution ended without writing an outcome, never accepted
    const id = await openRequest({ status: recorded }, { status, error: status === 'FAILED' ? 'States.DataLimitExceeded' : undefined });
    // WHEN the status-change event arrives
    const result = await reconcileExecution(config, statusEvent(id, status));
    // THEN the request is closed with the execution's status, and says nothing was performed
    expect(result).toEqual({ requestId: id, action: 'recorded', outcome: status });
    const record = await config.ledger.getRequest(id);
    expect(record).toMatchObject({ outcome: status });
    expect(record!.outcomeDetail).toMatch(/never passed the ledger check, so nothing was performed/);
    expect((await config.ledger.listPending()).map((r) => r.requestId)).not.toContain(id);
    expect((await config.ledger.listUndelivered()).map((r) => r.requestId)).not.toContain(id);
    // AND the approvers are told once
    expect(outcomeNotices(id)).toHaveLength(1);
    expect(formsOf(outcomeNotices(id)[0]).email).toContain(`ended: ${status}`);
  });

  test('fails when a performed operation whose outcome write was lost is not recorded as performed (SUCCEEDED, output read back)', async () => {
    const id = await openRequest(
      { status: 'APPROVED', accepted: true },
      { status: 'SUCCEEDED', output: JSON.stringify({ request: {}, result: { DBInstance: { DBInstanceStatus: 'deleting' } } }) },
    );
    const result = await reconcileExecution(config, statusEvent(id, 'SUCCEEDED'));
    expect(result).toMatchObject({ action: 'recorded', outcome: 'EXECUTED' });
    expect(await config.ledger.getRequest(id)).toMatchObject({
      outcome: 'EXECUTED',
      outcomeDetail: '{"DBInstance":{"DBInstanceStatus":"deleting"}}',
    });
    expect(formsOf(outcomeNotices(id)[0]).email).toContain('the operation was performed');
  });

  test.each([
    ['FAILED', undefined],
    ['TIMED_OUT', undefined],
    ['SUCCEEDED', JSON.stringify({ something: 'else' })],
  ])('fails when an accepted request whose execution ended %s is recorded as "not performed": OUTCOME_UNKNOWN', async (status, output) => {
    // GIVEN the workflow accepted the decision (it may have performed), then ended without an outcome
    const id = await openRequest({ status: 'APPROVED', accepted: true }, { status: status as LocalExecution['status'], output });
    const result = await reconcileExecution(config, statusEvent(id, status));
    expect(result).toMatchObject({ action: 'recorded', outcome: 'OUTCOME_UNKNOWN' });
    const record = await config.ledger.getRequest(id);
    expect(record!.outcomeDetail).toMatch(/whether the operation ran is not known/);
    expect(record!.outcomeDetail).not.toMatch(/nothing was performed/);
  });

  test('fails when a redelivered status event changes anything or tells the approvers twice', async () => {
    const id = await openRequest({}, { status: 'TIMED_OUT' });
    const event = statusEvent(id, 'TIMED_OUT');
    await reconcileExecution(config, event);
    const recorded = await config.ledger.getRequest(id);
    // WHEN EventBridge delivers the same event twice more
    const again = [await reconcileExecution(config, event), await reconcileExecution(config, event)];
    expect(again).toEqual([
      { requestId: id, action: 'already-recorded', outcome: 'TIMED_OUT' },
      { requestId: id, action: 'already-recorded', outcome: 'TIMED_OUT' },
    ]);
    expect(await config.ledger.getRequest(id)).toEqual(recorded);
    expect(outcomeNotices(id)).toHaveLength(1);
  });

  test('fails when an outcome the workflow recorded itself is overwritten', async () => {
    const id = await openRequest({}, { status: 'FAILED', error: 'Rejected' });
    await config.ledger.decide(id, 'REJECTED', LEAD, 0, 'tok', 'no');
    await config.ledger.closeUndeliverable(id, 'recorded by the workflow');
    const result = await reconcileExecution(config, statusEvent(id, 'FAILED'));
    expect(result).toMatchObject({ action: 'already-recorded', outcome: 'UNDELIVERABLE' });
  });
});

describe("events that are not this gate's, not final, or forged are ignored", () => {
  test.each([
    ['another state machine', (id: string) => statusEvent(id, 'ABORTED', OTHER_MACHINE)],
    [
      "an execution ARN of another machine under this machine's ARN",
      (id: string) => ({
        ...statusEvent(id, 'ABORTED'),
        detail: { ...statusEvent(id, 'ABORTED').detail, executionArn: executionOf(id, OTHER_MACHINE) },
      }),
    ],
    ['a status that is not final', (id: string) => statusEvent(id, 'RUNNING')],
    ['an unknown request', () => statusEvent('never-recorded', 'ABORTED')],
  ])('fails when %s changes the ledger', async (_what, eventFor) => {
    const id = await openRequest({}, { status: 'ABORTED' });
    const result = await reconcileExecution(config, eventFor(id) as GateEvent);
    expect(result.action).toBe('ignored');
    if (_what !== 'a status that is not final') expect(logged).toHaveBeenCalledWith(expect.stringContaining('"what":"ignored: '));
    expect((await config.ledger.getRequest(id))!.outcome).toBeUndefined();
  });

  test("fails when the event's own status is trusted: Step Functions says RUNNING, nothing is closed", async () => {
    // GIVEN anyone able to invoke the handler sends "ABORTED" for a live execution
    const id = await openRequest({}, { status: 'RUNNING' });
    const result = await reconcileExecution(config, statusEvent(id, 'ABORTED'));
    expect(result).toMatchObject({ action: 'running' });
    expect((await config.ledger.getRequest(id))!.outcome).toBeUndefined();
  });

  test('fails when a handler without the state machine ARN trusts any event: it throws (EventBridge retries, the DLQ alarms)', async () => {
    const id = await openRequest({}, { status: 'ABORTED' });
    await expect(reconcileExecution({ ...config, stateMachineArn: '' }, statusEvent(id, 'ABORTED'))).rejects.toThrow(/STATE_MACHINE_ARN/);
  });
});

describe('under faults (fault proxy, SDK retries on)', () => {
  test("fails when the reconciling write applies but its answer is lost: recorded once, as this call's own", async () => {
    const id = await openRequest({}, { status: 'TIMED_OUT' });
    proxies.dynamodb.rule = when('UpdateItem', 'reconcileToken', { kind: 'drop-response' });
    const result = await reconcileExecution(config, statusEvent(id, 'TIMED_OUT'));
    expect(proxies.dynamodb.injected.at(-1)).toMatchObject({ fault: 'drop-response' });
    expect(result).toEqual({ requestId: id, action: 'recorded', outcome: 'TIMED_OUT' });
    expect(outcomeNotices(id)).toHaveLength(1);
  });

  test('fails when a write that keeps failing is swallowed: the event handler throws, and the redelivery records it', async () => {
    const id = await openRequest({}, { status: 'ABORTED' });
    // throttled on every attempt the SDK makes
    proxies.dynamodb.rule = when('UpdateItem', 'reconcileToken', { kind: 'throttle' }, 1000);
    await expect(reconcileExecution(config, statusEvent(id, 'ABORTED'))).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect((await config.ledger.getRequest(id))!.outcome).toBeUndefined();
    // WHEN EventBridge retries the event once the throttling passed
    proxies.dynamodb.rule = undefined;
    expect(await reconcileExecution(config, statusEvent(id, 'ABORTED'))).toMatchObject({ action: 'recorded', outcome: 'ABORTED' });
  });

  test('fails when DescribeExecution is unavailable and the request is closed on a guess: it throws and nothing changes', async () => {
    const id = await openRequest({ status: 'APPROVED', accepted: true }, { status: 'SUCCEEDED', output: '{"result":{}}' });
    proxies.sfn.rule = when('DescribeExecution', '', { kind: '5xx' }, 1000);
    await expect(reconcileExecution(config, statusEvent(id, 'SUCCEEDED'))).rejects.toBeDefined();
    expect((await config.ledger.getRequest(id))!.outcome).toBeUndefined();
    proxies.sfn.rule = undefined;
    expect(await reconcileExecution(config, statusEvent(id, 'SUCCEEDED'))).toMatchObject({ outcome: 'EXECUTED' });
  });

  test('fails when SNS fails the outcome notice and the ledger write is undone or the notice lost: the sweep publishes it', async () => {
    const id = await openRequest({}, { status: 'TIMED_OUT' });
    proxies.sns.rule = when('Publish', '', { kind: '5xx' }, 1000);
    expect(await reconcileExecution(config, statusEvent(id, 'TIMED_OUT'))).toMatchObject({ action: 'recorded' });
    proxies.sns.rule = undefined;
    expect(outcomeNotices(id)).toHaveLength(0);
    expect((await config.ledger.records(id)).filter((r) => r.event === 'NOTIFY_FAILED')).toHaveLength(1);
    // WHEN the scheduled sweep runs
    const report = await sweepGate(config);
    expect(report.notices).toContainEqual({ requestId: id, notice: 'OUTCOME', sent: true });
    expect(outcomeNotices(id)).toHaveLength(1);
    // AND a later sweep publishes nothing again
    await sweepGate(config);
    expect(outcomeNotices(id)).toHaveLength(1);
  });
});

describe("the scheduled sweep closes ghosts from Step Functions' own status", () => {
  test('fails when a ghost stays open, a live request is touched, or a young request is judged before its execution settles', async () => {
    const ghost = await openRequest({}, { status: 'ABORTED' });
    const gone = await openRequest({});
    const live = await openRequest({}, { status: 'RUNNING' });
    const young = await openRequest({ requestedAt: new Date().toISOString() }, { status: 'ABORTED' });
    const report = await sweepGate({ ...config, minAgeMs: 60_000 });
    expect(report.reconciled).toEqual(
      expect.arrayContaining([
        { requestId: ghost, action: 'recorded', outcome: 'ABORTED' },
        // an execution Step Functions no longer knows, never accepted: closed, nothing performed
        { requestId: gone, action: 'recorded', outcome: 'ABORTED' },
      ]),
    );
    expect((await config.ledger.getRequest(live))!.outcome).toBeUndefined();
    expect((await config.ledger.getRequest(young))!.outcome).toBeUndefined();
    expect((await config.ledger.getRequest(gone))!.outcomeDetail).toMatch(/NOT_FOUND/);
  });
});

describe('the Lambda entry point takes the two event kinds (the contract the construct wires)', () => {
  test('a Scheduled Event runs the sweep and a Step Functions Execution Status Change reconciles; other events are ignored', async () => {
    const id = await openRequest({}, { status: 'TIMED_OUT' });
    const ghost = await openRequest({}, { status: 'ABORTED' });
    const env = {
      LEDGER_TABLE: TABLE,
      APPROVERS: JSON.stringify([LEAD]),
      REQUIRED_APPROVALS: '1',
      OPERATIONS: JSON.stringify(boundOperations()),
      TOPIC_ARN: TOPIC,
      APPROVAL_URL: 'https://abc.lambda-url.us-east-1.on.aws/',
      STATE_MACHINE_ARN: STATE_MACHINE,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
      AWS_SECRET_ACCESS_KEY: 'local-secret',
      AWS_ENDPOINT_URL_DYNAMODB: aws.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SFN: aws.endpoints.sfn,
      AWS_ENDPOINT_URL_SNS: aws.endpoints.sns,
    };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      let entry!: typeof import('../../lib/approval-gate/runtime');
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module: the handler reads its environment once
        entry = require('../../lib/approval-gate/runtime');
      });
      expect(await entry.handler(statusEvent(id, 'TIMED_OUT') as any)).toMatchObject({ action: 'recorded', outcome: 'TIMED_OUT' });
      const swept = (await entry.handler({ 'source': 'aws.events', 'detail-type': 'Scheduled Event', 'detail': {} } as any)) as any;
      expect(swept.reconciled).toContainEqual({ requestId: ghost, action: 'recorded', outcome: 'ABORTED' });
      expect(await entry.handler({ 'source': 'aws.s3', 'detail-type': 'Object Created', 'detail': {} } as any)).toMatchObject({ action: 'ignored' });
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
