import { GetItemCommand } from '@aws-sdk/client-dynamodb';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator');
import { canonicalRequest, requestDigest } from '../../lib/private/approval-digest';
import { APPROVAL_STATES } from '../../lib/private/approval-workflow';
import { PROD_DB, SynthesizedGate, sessionOf, synthGate } from './gate-fixture';
import { LocalAws, startLocalAws } from './local-aws';
import { StateMachine, UnpatchedStateMachine } from './local-stepfunctions';
import { failureOf, WorkflowHarness } from './workflow-harness';

const DELETE_DB = {
  operation: 'rds:DeleteDBInstance',
  resource: PROD_DB,
  parameters: { DBInstanceIdentifier: 'orders', SkipFinalSnapshot: false, FinalDBSnapshotIdentifier: 'orders-final' },
  reason: 'the orders database is replaced by orders-v2; the final snapshot keeps its data',
  sourceIdentity: 'ops-assistant-7f3a',
};
const digestOf = (req: typeof DELETE_DB) => requestDigest(canonicalRequest(req.operation, req.resource, req.parameters));

let aws: LocalAws;
let single: SynthesizedGate;
let dual: SynthesizedGate;

beforeAll(async () => {
  aws = await startLocalAws();
  // GIVEN a gate with one approver, and a gate requiring two distinct approvers of two
  single = synthGate();
  dual = synthGate({ requiredApprovals: 2 }, { approvers: 2 });
  // both gates synthesize the same logical ids, so they share one ledger table name
  for (const table of new Set([single, dual].map((g) => g.definition.States[APPROVAL_STATES.recordRequest].Parameters.TableName))) {
    await aws.createLedger(table);
  }
});
afterAll(async () => aws.close());

async function outcomeOf(h: WorkflowHarness, requestId: string) {
  const out = await aws.dynamodb.send(new GetItemCommand({ TableName: h.tableName, Key: { requestId: { S: requestId }, record: { S: 'REQUEST' } }, ConsistentRead: true }));
  return { status: out.Item?.status?.S, outcome: out.Item?.outcome?.S, detail: out.Item?.outcomeDetail?.S };
}

describe('the local interpreter', () => {
  test('computes States.Hash SHA-256 as AWS does only with the harness patch (upstream bug for inputs of 56+ bytes)', async () => {
    const hashState = { StartAt: 'H', States: { H: { Type: 'Pass', Parameters: { 'd.$': "States.Hash($.c, 'SHA-256')" }, End: true } } } as any;
    const canonical = canonicalRequest(DELETE_DB.operation, DELETE_DB.resource, DELETE_DB.parameters);
    const patched: any = await new StateMachine(hashState).run({ c: canonical }).result;
    const unpatched: any = await new UnpatchedStateMachine(hashState).run({ c: canonical }).result;
    expect(patched.d).toBe(requestDigest(canonical));
    expect(unpatched.d).not.toBe(requestDigest(canonical));
  });
});

describe('the synthesized approval workflow', () => {
  test('is valid Amazon States Language', () => {
    for (const gate of [single, dual]) {
      const { isValid, errorsText } = aslValidator(gate.definition);
      expect(isValid ? '' : errorsText('\n')).toBe('');
    }
  });

  test('the wait state waits for a task token, bounded by the timeout', () => {
    const wait = single.definition.States[APPROVAL_STATES.wait];
    expect(wait.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(wait.TimeoutSeconds).toBe(4 * 3600);
    expect(wait.Parameters.Payload['taskToken.$']).toBe('$$.Task.Token');
  });

  test('approved: the operation is performed once, with exactly the approved parameters, by the executor role', async () => {
    const h = new WorkflowHarness(aws, single);
    // WHEN the agent requests deleting the production database
    const run = h.start(DELETE_DB);
    await run.waiting;
    expect(aws.published.at(-1)!.Message).toContain(digestOf(DELETE_DB));
    expect(aws.published.at(-1)!.Message).toContain(DELETE_DB.reason);
    expect(aws.published.at(-1)!.Message).toContain(DELETE_DB.sourceIdentity);
    expect(h.performed).toEqual([]);
    // AND the security lead approves that digest
    const decision = await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/approve`, { digest: digestOf(DELETE_DB) });
    expect(decision.statusCode).toBe(200);
    // THEN the execution succeeds, and the executor made exactly the approved call, once
    await expect(run.result).resolves.toBeDefined();
    expect(h.performed).toEqual([{ state: APPROVAL_STATES.execute({ iamAction: 'rds:DeleteDBInstance' } as any), parameters: DELETE_DB.parameters }]);
    const perform = single.definition.States[h.performed[0].state];
    expect(perform.Resource).toBe('arn:aws:states:::aws-sdk:rds:deleteDBInstance');
    expect(perform.Credentials.RoleArn).toBe(`arn:aws:iam::123456789012:role/${single.ids.executor.toLowerCase()}`);
    expect(perform.Retry).toBeUndefined();
    // AND the ledger holds the request, the decision and the result
    await expect(outcomeOf(h, run.requestId)).resolves.toMatchObject({ status: 'APPROVED', outcome: 'EXECUTED' });
  });

  test('fails when an approver rejects: nothing is performed and the rejection is recorded', async () => {
    const h = new WorkflowHarness(aws, single);
    const run = h.start(DELETE_DB);
    await run.waiting;
    const decision = await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/reject`, { reason: 'restore the replica first' });
    expect(decision.statusCode).toBe(200);
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'Rejected' });
    expect(h.performed).toEqual([]);
    const outcome = await outcomeOf(h, run.requestId);
    expect(outcome).toMatchObject({ status: 'REJECTED', outcome: 'REJECTED' });
    expect(outcome.detail).toContain('restore the replica first');
  });

  test('fails when nobody decides before the timeout: rejected, nothing performed', async () => {
    // GIVEN the synthesized workflow with its wait shortened to one second (the real timer of the
    // local interpreter fires; no state is stubbed to pretend a timeout)
    const definition = JSON.parse(JSON.stringify(single.definition));
    definition.States[APPROVAL_STATES.wait].TimeoutSeconds = 1;
    const h = new WorkflowHarness(aws, single, definition);
    const run = h.start(DELETE_DB);
    await run.waiting;
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'TimedOut' });
    expect(h.performed).toEqual([]);
    await expect(outcomeOf(h, run.requestId)).resolves.toMatchObject({ status: 'PENDING', outcome: 'TIMED_OUT' });
    // AND a late approval is refused: the request is over
    const late = await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/approve`, { digest: digestOf(DELETE_DB) });
    expect(late.statusCode).toBe(409);
    expect(h.performed).toEqual([]);
  });

  test.each([
    ['an operation the gate does not allow', { ...DELETE_DB, operation: 'rds:DeleteDBCluster' }],
    ['a resource outside the gated ones', { ...DELETE_DB, resource: 'arn:aws:rds:us-east-1:123456789012:db:billing' }],
    ['a wildcard resource', { ...DELETE_DB, resource: 'arn:aws:rds:us-east-1:123456789012:db:*' }],
    ['no parameters', { ...DELETE_DB, parameters: undefined }],
    ['parameters that are not an object', { ...DELETE_DB, parameters: 'DBInstanceIdentifier=orders' }],
    ['no reason', { ...DELETE_DB, reason: undefined }],
    ['no source identity', { ...DELETE_DB, sourceIdentity: undefined }],
  ])('fails when the request names %s: refused before anything is recorded or anyone is told', async (_what, input) => {
    const h = new WorkflowHarness(aws, single);
    const before = aws.published.length;
    const run = h.start(JSON.parse(JSON.stringify(input)));
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'RequestRefused' });
    expect(aws.published.length).toBe(before);
    expect(h.performed).toEqual([]);
    await expect(outcomeOf(h, run.requestId)).resolves.toEqual({ status: undefined, outcome: undefined, detail: undefined });
  });

  test('fails when the requesting agent approves its own request: refused, nothing performed', async () => {
    const h = new WorkflowHarness(aws, single);
    const run = h.start(DELETE_DB);
    await run.waiting;
    // WHEN a session of the agent's own role calls the approval handler
    const self = await h.call(sessionOf(single.agentRoleArn, 'ops-assistant-7f3a'), 'POST', `/requests/${run.requestId}/approve`, { digest: digestOf(DELETE_DB) });
    // THEN it is refused (the agent is not an approver; and it is the requester)
    expect(self.statusCode).toBe(403);
    expect(h.performed).toEqual([]);
    await expect(outcomeOf(h, run.requestId)).resolves.toMatchObject({ status: 'PENDING' });
    await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/reject`, { reason: 'not now' });
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'Rejected' });
    expect(h.performed).toEqual([]);
  });

  test('the same approver twice counts once: two distinct approvers are needed', async () => {
    const h = new WorkflowHarness(aws, dual);
    const run = h.start(DELETE_DB);
    await run.waiting;
    const [first, second] = dual.approverRoleArns;
    // WHEN the first approver approves twice, from two sessions of the same role
    expect((await h.call(sessionOf(first, 'alice'), 'POST', `/requests/${run.requestId}/approve`, { digest: digestOf(DELETE_DB) })).statusCode).toBe(202);
    expect((await h.call(sessionOf(first, 'alice-again'), 'POST', `/requests/${run.requestId}/approve`, { digest: digestOf(DELETE_DB) })).statusCode).toBe(409);
    // THEN nothing is performed yet
    await expect(outcomeOf(h, run.requestId)).resolves.toMatchObject({ status: 'PENDING' });
    expect(h.performed).toEqual([]);
    // WHEN a second, distinct approver approves
    expect((await h.call(sessionOf(second, 'bob'), 'POST', `/requests/${run.requestId}/approve`, { digest: digestOf(DELETE_DB) })).statusCode).toBe(200);
    // THEN the operation is performed once
    await run.result;
    expect(h.performed).toHaveLength(1);
    expect(h.performed[0].parameters).toEqual(DELETE_DB.parameters);
  });

  test('fails when the approval names another digest: the handler refuses it', async () => {
    const h = new WorkflowHarness(aws, single);
    const run = h.start(DELETE_DB);
    await run.waiting;
    const other = digestOf({ ...DELETE_DB, parameters: { ...DELETE_DB.parameters, SkipFinalSnapshot: true } });
    const refused = await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/approve`, { digest: other });
    expect(refused.statusCode).toBe(409);
    expect(JSON.parse(refused.body).error).toMatch(/digest mismatch/);
    await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/reject`, { reason: 'digest mismatch seen' });
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'Rejected' });
    expect(h.performed).toEqual([]);
  });

  test('fails when a decision reaches the workflow for another digest: the workflow itself refuses to perform', async () => {
    // GIVEN a decision that bypassed the handler's check (a compromised or buggy approval path)
    const h = new WorkflowHarness(aws, single);
    const run = h.start(DELETE_DB);
    await run.waiting;
    const token = [...aws.waiters.keys()].find((t) => t.includes(run.requestId))!;
    aws.waiters.get(token)!.resolve({ decision: 'APPROVED', digest: '0'.repeat(64) });
    aws.waiters.delete(token);
    // THEN the workflow compares the digest with its own and performs nothing
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'DigestMismatch' });
    expect(h.performed).toEqual([]);
    await expect(outcomeOf(h, run.requestId)).resolves.toMatchObject({ outcome: 'DIGEST_MISMATCH' });
  });

  test('fails when the approved operation fails: the error is recorded and the execution fails', async () => {
    const h = new WorkflowHarness(aws, single);
    const error = new Error('Cannot delete protected DB Instance, please disable deletion protection and try again.');
    error.name = 'Rds.InvalidParameterCombinationException';
    h.executorError = error;
    const run = h.start(DELETE_DB);
    await run.waiting;
    await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/approve`, { digest: digestOf(DELETE_DB) });
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'ExecutionFailed' });
    expect(h.performed).toHaveLength(1);
    const outcome = await outcomeOf(h, run.requestId);
    expect(outcome).toMatchObject({ status: 'APPROVED', outcome: 'EXECUTION_FAILED' });
    expect(outcome.detail).toContain('Rds.InvalidParameterCombinationException');
  });
});
