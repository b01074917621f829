/**
 * The approval gate under ordinary AWS faults (threat model, invariant 10). The real handler, the
 * real notifier and the synthesized workflow (aws-local-stepfunctions) talk to dynalite and the
 * local Step Functions endpoint through a fault proxy; the SDK clients keep their default retries.
 * Whatever is injected: nothing counts twice, nothing is lost, nothing sticks, no reply lies, and
 * nothing is performed unless the ledger holds the quorum's approval of exactly that digest.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { canonicalRequest, requestDigest } from '../../lib/approval-gate/runtime/approval-digest';
import { reconcileExecution, redeliverDecisions } from '../../lib/approval-gate/runtime';
import { ApprovalLedger } from '../../lib/approval-gate/runtime/ledger';
import { APPROVAL_STATES } from '../../lib/approval-gate/private/approval-workflow';
import { all, Fault, FaultProxy, FaultRule, randomFaults, startFaultProxy } from '../support/fault-proxy';
import { PROD_DB, SynthesizedGate, sessionOf, synthGate } from './gate-fixture';
import { LOCAL_CLIENT, LocalAws, startLocalAws } from './local-aws';
import { failureOf, WorkflowHarness } from './workflow-harness';

const DELETE_DB = {
  operation: 'rds:DeleteDBInstance',
  resource: PROD_DB,
  parameters: { DBInstanceIdentifier: 'orders', SkipFinalSnapshot: false, FinalDBSnapshotIdentifier: 'orders-final' },
  reason: 'the orders database is replaced by orders-v2',
  sourceIdentity: 'ops-assistant-7f3a',
};
const DIGEST = requestDigest(canonicalRequest(DELETE_DB.operation, DELETE_DB.resource, DELETE_DB.parameters));

let aws: LocalAws;
let single: SynthesizedGate;
let dual: SynthesizedGate;
let dynamoProxy: FaultProxy;
let sfnProxy: FaultProxy;
let dynamodb: DynamoDBClient;
let sfn: SFNClient;

beforeAll(async () => {
  aws = await startLocalAws();
  single = synthGate();
  dual = synthGate({ requiredApprovals: 2 }, { approvers: 2 });
  for (const table of new Set([single, dual].map((g) => g.definition.States[APPROVAL_STATES.recordRequest].Parameters.TableName))) {
    await aws.createLedger(table);
  }
  dynamoProxy = await startFaultProxy(aws.endpoints.dynamodb);
  sfnProxy = await startFaultProxy(aws.endpoints.sfn);
  // Default retries (standard mode, 3 attempts): the faults meet the SDK as they would in AWS.
  dynamodb = new DynamoDBClient({ ...LOCAL_CLIENT, endpoint: dynamoProxy.endpoint });
  sfn = new SFNClient({ ...LOCAL_CLIENT, endpoint: sfnProxy.endpoint });
});
afterEach(() => {
  dynamoProxy.rule = undefined;
  sfnProxy.rule = undefined;
});
afterAll(async () => {
  dynamodb.destroy();
  sfn.destroy();
  await Promise.all([dynamoProxy.close(), sfnProxy.close()]);
  await aws.close();
});

const harness = (gate: SynthesizedGate, definition?: any) =>
  new WorkflowHarness(aws, gate, definition, { dynamodb, sfn, settle: { attempts: 10, intervalMs: 100 }, retryIntervalMs: 20 });

/** Faults the first `times` requests of `operation` whose body contains `marker`. */
function when(operation: string, marker: string, fault: Fault, times = 1): FaultRule {
  let left = times;
  return (r) => {
    if (!r.operation.endsWith(operation) || !r.body.includes(marker) || left <= 0) return undefined;
    left--;
    return fault;
  };
}

async function recordOf(h: WorkflowHarness, requestId: string): Promise<Record<string, string | string[] | undefined>> {
  const out = await aws.dynamodb.send(
    new GetItemCommand({ TableName: h.tableName, Key: { requestId: { S: requestId }, record: { S: 'REQUEST' } }, ConsistentRead: true }),
  );
  const item = out.Item ?? {};
  return { status: item.status?.S, outcome: item.outcome?.S, approvals: item.approvals?.SS, acceptedAt: item.acceptedAt?.S };
}

const approve = (h: WorkflowHarness, role: string, id: string, session = 'alice') =>
  h.call(sessionOf(role, session), 'POST', `/requests/${id}/approve`, { digest: DIGEST });

const DROP: Fault = { kind: 'drop-response' };
const THROTTLE: Fault = { kind: 'throttle' };

describe('class 1: a retried write that had applied counts as applied, never as "someone else won"', () => {
  test.each([
    ['the approval item', 'PutItem', 'DECISION#'],
    ['the approver set', 'UpdateItem', 'ADD approvals'],
    ['the decision', 'UpdateItem', 'decisionToken'],
  ])('fails when DynamoDB applies %s but its answer is lost: counted once, delivered, performed once', async (_what, operation, marker) => {
    // GIVEN a request waiting for one approval
    const h = harness(single);
    const run = h.start(DELETE_DB);
    await run.waiting;
    // WHEN the approver's write applies but its answer is lost (the SDK retries it)
    dynamoProxy.rule = when(operation, marker, DROP);
    const res = await approve(h, single.approverRoleArn, run.requestId);
    // THEN the reply says approved, the workflow performs once, and the approval counts once
    expect(dynamoProxy.injected.some((i) => i.fault === 'drop-response')).toBe(true);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'APPROVED' });
    await expect(run.result).resolves.toBeDefined();
    expect(h.performed).toHaveLength(1);
    const record = await recordOf(h, run.requestId);
    expect(record).toMatchObject({ status: 'APPROVED', outcome: 'EXECUTED' });
    expect(record.approvals).toHaveLength(1);
  });

  test('fails when the first of two approvals applies with its answer lost: 202 with one approval, then the second performs', async () => {
    const h = harness(dual);
    const run = h.start(DELETE_DB);
    await run.waiting;
    const [first, second] = dual.approverRoleArns;
    dynamoProxy.rule = all(when('PutItem', 'DECISION#', DROP), when('UpdateItem', 'ADD approvals', DROP));
    const one = await approve(h, first, run.requestId);
    expect(one.statusCode).toBe(202);
    expect(JSON.parse(one.body)).toMatchObject({ approvals: 1, requiredApprovals: 2 });
    // AND the same approver again is told the truth: already counted, once
    expect((await approve(h, first, run.requestId, 'alice-again')).statusCode).toBe(409);
    expect(h.performed).toEqual([]);
    expect((await approve(h, second, run.requestId, 'bob')).statusCode).toBe(200);
    await expect(run.result).resolves.toBeDefined();
    expect(h.performed).toHaveLength(1);
    expect((await recordOf(h, run.requestId)).approvals).toHaveLength(2);
  });

  test('fails when the notifier stores the task token but the answer is lost: approvers are asked once, the request decides', async () => {
    const h = harness(single);
    const published = aws.published.length;
    dynamoProxy.rule = when('UpdateItem', 'SET taskToken', DROP);
    const run = h.start(DELETE_DB);
    await run.waiting;
    expect(aws.published.length - published).toBe(1);
    expect((await approve(h, single.approverRoleArn, run.requestId)).statusCode).toBe(200);
    await expect(run.result).resolves.toBeDefined();
    expect(h.performed).toHaveLength(1);
  });

  test('fails when SendTaskSuccess is accepted but its answer is lost: the retry hears "timed out", the reply still says approved', async () => {
    const h = harness(single);
    const run = h.start(DELETE_DB);
    await run.waiting;
    sfnProxy.rule = when('SendTaskSuccess', '', DROP);
    const res = await approve(h, single.approverRoleArn, run.requestId);
    expect(sfnProxy.injected.at(-1)).toEqual({ operation: 'AWSStepFunctions.SendTaskSuccess', fault: 'drop-response' });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).status).toBe('APPROVED');
    await expect(run.result).resolves.toBeDefined();
    expect(h.performed).toHaveLength(1);
    expect(await recordOf(h, run.requestId)).toMatchObject({ outcome: 'EXECUTED' });
  });

  test('fails when SendTaskSuccess stays throttled after the ledger recorded the approval: 503, then redelivered and performed', async () => {
    const h = harness(single);
    const run = h.start(DELETE_DB);
    await run.waiting;
    // WHEN every attempt the SDK makes is throttled
    sfnProxy.rule = when('SendTaskSuccess', '', THROTTLE, 3);
    const res = await approve(h, single.approverRoleArn, run.requestId);
    // THEN the reply says exactly that: recorded, delivery not confirmed, nothing performed yet
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body).error).toMatch(/recorded but its delivery to the workflow is not confirmed \(ThrottlingException\)/);
    expect(h.performed).toEqual([]);
    expect(await recordOf(h, run.requestId)).toMatchObject({ status: 'APPROVED', outcome: undefined });
    // WHEN the approver calls again once the throttling passed
    const again = await approve(h, single.approverRoleArn, run.requestId);
    // THEN the recorded decision is delivered (not decided twice) and performed once
    expect(again.statusCode).toBe(200);
    await expect(run.result).resolves.toBeDefined();
    expect(h.performed).toHaveLength(1);
  });

  test('fails when a rejection cannot be delivered: the sweep redelivers it, nothing is performed', async () => {
    const h = harness(single);
    const run = h.start(DELETE_DB);
    await run.waiting;
    sfnProxy.rule = when('SendTaskFailure', '', { kind: '5xx' }, 3);
    const res = await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/reject`, { reason: 'not today' });
    expect(res.statusCode).toBe(503);
    // WHEN the scheduled sweep runs
    const swept = await redeliverDecisions({
      ledger: new ApprovalLedger(dynamodb, h.tableName),
      sfn,
      approvers: [single.approverRoleArn],
      requiredApprovals: 1,
      operations: [],
      settle: { attempts: 10, intervalMs: 100 },
    });
    expect(swept).toContainEqual({ requestId: run.requestId, statusCode: 200 });
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'Rejected' });
    expect(h.performed).toEqual([]);
    expect(await recordOf(h, run.requestId)).toMatchObject({ status: 'REJECTED', outcome: 'REJECTED' });
  });

  test('fails when the execution is gone without an outcome (a ghost): the approval is refused truthfully and the request closed', async () => {
    // The local execution keeps its wait timer; shortened so that the test leaves nothing running.
    const definition = JSON.parse(JSON.stringify(single.definition));
    definition.States[APPROVAL_STATES.wait].TimeoutSeconds = 3;
    const h = harness(single, definition);
    const run = h.start(DELETE_DB);
    await run.waiting;
    // GIVEN Step Functions no longer knows the token (the execution was stopped; its outcome never written)
    const token = [...aws.waiters.keys()].find((t) => t.includes(run.requestId))!;
    aws.waiters.delete(token);
    const res = await approve(h, single.approverRoleArn, run.requestId);
    expect(res.statusCode).toBe(502);
    expect(JSON.parse(res.body).error).toMatch(/closed as UNDELIVERABLE and nothing will be performed/);
    expect(await recordOf(h, run.requestId)).toMatchObject({ outcome: 'UNDELIVERABLE' });
    expect((await h.ledger.listPending()).map((r) => r.requestId)).not.toContain(run.requestId);
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'TimedOut' });
    expect(h.performed).toEqual([]);
  });
});

describe('class 2: the workflow itself enforces the quorum and the digest against the ledger', () => {
  test('fails when a task token with the right digest arrives while the ledger still says pending: nothing performed', async () => {
    // GIVEN a gate needing two approvers, and one approval recorded
    const h = harness(dual);
    const run = h.start(DELETE_DB);
    await run.waiting;
    expect((await approve(h, dual.approverRoleArns[0], run.requestId)).statusCode).toBe(202);
    // WHEN the token is sent with the right digest by another path (anyone holding SendTaskSuccess)
    const token = [...aws.waiters.keys()].find((t) => t.includes(run.requestId))!;
    aws.waiters.get(token)!.resolve({ decision: 'APPROVED', digest: DIGEST, approvers: dual.approverRoleArns });
    aws.waiters.delete(token);
    // THEN the workflow checks the ledger, finds one approval and a pending request, and performs nothing
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'QuorumNotMet' });
    expect(h.performed).toEqual([]);
    expect(await recordOf(h, run.requestId)).toMatchObject({ status: 'PENDING', outcome: 'QUORUM_NOT_MET' });
  });

  test('the quorum check is in the synthesized definition, between the decision and the operation, with the required count', () => {
    const check = dual.definition.States[APPROVAL_STATES.checkQuorum];
    expect(check.Resource).toBe('arn:aws:states:::dynamodb:updateItem');
    expect(check.Parameters.ConditionExpression).toContain('size(approvals) >= :n');
    expect(check.Parameters.ExpressionAttributeValues[':n']).toEqual({ N: '2' });
    expect(check.Next).toBe(APPROVAL_STATES.perform);
    // A failed condition is never retried: it is the answer "no quorum"
    expect(check.Retry[0]).toMatchObject({ ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], MaxAttempts: 0 });
    expect(dual.definition.States.MatchDigest.Choices[0].Next).toBe(APPROVAL_STATES.checkQuorum);
  });

  test("fails when the workflow's own ledger writes are throttled past the SDK's retries: the state retries, performed once", async () => {
    const h = harness(single);
    // Throttle more attempts than the SDK makes (3): the Step Functions Retry takes over.
    dynamoProxy.rule = all(
      when('PutItem', 'PENDING', { kind: 'throttle', code: 'ProvisionedThroughputExceededException' }, 4),
      when('UpdateItem', 'acceptedAt = if_not_exists', THROTTLE, 4),
      when('UpdateItem', 'EXECUTED', { kind: '5xx' }, 4),
    );
    const run = h.start(DELETE_DB);
    await run.waiting;
    expect((await approve(h, single.approverRoleArn, run.requestId)).statusCode).toBe(200);
    await expect(run.result).resolves.toBeDefined();
    expect(h.performed).toHaveLength(1);
    expect(await recordOf(h, run.requestId)).toMatchObject({ status: 'APPROVED', outcome: 'EXECUTED' });
  });

  test('fails when the request record is written but its answer is lost: the retried write is recognised as its own', async () => {
    const h = harness(single);
    dynamoProxy.rule = when('PutItem', 'PENDING', DROP);
    const run = h.start(DELETE_DB);
    await run.waiting;
    expect((await approve(h, single.approverRoleArn, run.requestId)).statusCode).toBe(200);
    await expect(run.result).resolves.toBeDefined();
    expect(h.performed).toHaveLength(1);
  });
});

describe('chaos: concurrent requests under random faults', () => {
  test('fails when any request sticks, any reply lies, any approval is lost or counted twice, or anything runs unapproved or twice', async () => {
    const kinds: Fault[] = [THROTTLE, { kind: '5xx' }, DROP, { kind: 'latency', ms: 30 }];
    dynamoProxy.rule = randomFaults(11, 0.15, kinds);
    sfnProxy.rule = randomFaults(12, 0.3, kinds);
    const h = harness(dual);
    const [first, second] = dual.approverRoleArns;
    const runs = Array.from({ length: 8 }, () => h.start(DELETE_DB));
    const verdicts = await Promise.all(
      runs.map(async (run, i) => {
        try {
          await run.waiting;
        } catch {
          return { run, asked: false, replies: [] as number[] };
        }
        const replies: number[] = [];
        // People retry what the reply tells them to retry (503, or a 500 from a handler that gave up).
        const persist = async (call: () => Promise<{ statusCode: number }>) => {
          for (let attempt = 0; attempt < 8; attempt++) {
            const status = await call().then(
              (r) => r.statusCode,
              () => 500,
            );
            replies.push(status);
            if (status !== 503 && status !== 500) return status;
          }
          return 503;
        };
        if (i % 4 === 3) {
          await persist(() => h.call(sessionOf(first, 'alice'), 'POST', `/requests/${run.requestId}/reject`, { reason: 'no' }));
        } else {
          await persist(() => approve(h, first, run.requestId));
          await persist(() => approve(h, second, run.requestId, 'bob'));
        }
        return { run, asked: true, replies };
      }),
    );
    dynamoProxy.rule = undefined;
    sfnProxy.rule = undefined;
    // The faults really happened, of every kind, on both services
    expect(new Set(dynamoProxy.injected.map((f) => f.fault)).size).toBeGreaterThanOrEqual(3);
    expect(sfnProxy.injected.length).toBeGreaterThan(0);
    // A last sweep, as the schedule would run: nothing recorded stays undelivered.
    await redeliverDecisions({ ledger: h.ledger, sfn, approvers: dual.approverRoleArns, requiredApprovals: 2, operations: [] });
    const performedIds = h.performed.map((p) => p.parameters);
    expect(performedIds.length).toBeLessThanOrEqual(runs.length);
    for (const [i, { run, asked, replies }] of verdicts.entries()) {
      // THEN every execution ends (none sticks) ...
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise((r) => (timer = setTimeout(() => r('stuck'), 15_000)));
      const ended = await Promise.race([
        run.result.then(
          () => 'performed',
          () => 'failed',
        ),
        stuck,
      ]);
      clearTimeout(timer);
      expect(ended).not.toBe('stuck');
      const record = await recordOf(h, run.requestId);
      if (!asked) {
        expect(ended).toBe('failed');
        continue;
      }
      // ... its record holds its final state, and what was performed had the quorum in the ledger
      expect(record.outcome).toBeDefined();
      if (ended === 'performed') {
        expect(i % 4).not.toBe(3);
        expect(record).toMatchObject({ status: 'APPROVED', outcome: 'EXECUTED' });
        expect(record.approvals).toHaveLength(2);
        // and the last approval's final reply said approved
        expect(replies.at(-1)).toBe(200);
      } else {
        expect(record.outcome).not.toBe('EXECUTED');
        // a reply of 200 to the deciding approval would have been a lie
        if (i % 4 !== 3 && record.outcome !== 'UNDELIVERABLE') expect(replies.at(-1)).not.toBe(200);
      }
    }
    // AND nothing was performed twice: one executor call per performed execution
    const performedRuns = (
      await Promise.all(
        verdicts.map((v) =>
          v.run.result.then(
            () => 1,
            () => 0,
          ),
        ),
      )
    ).reduce((a: number, b) => a + b, 0);
    expect(h.performed).toHaveLength(performedRuns);

    // WHEN each execution's status-change event arrives, twice (EventBridge redelivers), under random faults again
    const stateMachineArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:gate';
    const before = await Promise.all(verdicts.map(({ run }) => recordOf(h, run.requestId)));
    for (const { run } of verdicts) {
      const status = await run.result.then(
        () => 'SUCCEEDED' as const,
        () => 'FAILED' as const,
      );
      aws.executions.set(`arn:aws:states:us-east-1:123456789012:execution:gate:${run.requestId}`, { stateMachineArn, status });
    }
    dynamoProxy.rule = randomFaults(13, 0.15, kinds);
    sfnProxy.rule = randomFaults(14, 0.3, kinds);
    const reconcileConfig = { ledger: h.ledger, sfn, approvers: dual.approverRoleArns, requiredApprovals: 2, operations: [], stateMachineArn };
    for (const { run } of [...verdicts, ...verdicts]) {
      const event = {
        'source': 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        'detail': { executionArn: `arn:aws:states:us-east-1:123456789012:execution:gate:${run.requestId}`, stateMachineArn, status: 'FAILED' },
      };
      // a failed write throws and EventBridge retries: the test retries as EventBridge would
      for (let attempt = 0; attempt < 5; attempt++) {
        const done = await reconcileExecution(reconcileConfig, event).then(
          () => true,
          () => false,
        );
        if (done) break;
      }
    }
    dynamoProxy.rule = undefined;
    sfnProxy.rule = undefined;
    // THEN every request has an outcome, and no outcome the workflow wrote was changed (it knew better)
    for (const [i, { run, asked }] of verdicts.entries()) {
      const after = await recordOf(h, run.requestId);
      expect(after.outcome).toBeDefined();
      if (asked || before[i].outcome) expect(after).toEqual(before[i]);
    }
  }, 120_000);
});
