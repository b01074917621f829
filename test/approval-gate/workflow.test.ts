import { GetItemCommand } from '@aws-sdk/client-dynamodb';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator');
import { canonicalRequest, requestDigest } from '../../lib/approval-gate/runtime/approval-digest';
import { APPROVAL_STATES } from '../../lib/approval-gate/private/approval-workflow';
import { GatedOperation } from '../../lib/approval-gate/approval-gate';
import { PROD_DB, PROD_STACK, SynthesizedGate, sessionOf, synthGate } from './gate-fixture';
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

const STAGING_DB = `${PROD_DB}-staging`;
/** The attack of the security review: approvers read "staging", the parameters name production. */
const STAGING_LABEL_PRODUCTION_PARAMETERS = {
  ...DELETE_DB,
  resource: STAGING_DB,
  parameters: { DBInstanceIdentifier: 'orders', SkipFinalSnapshot: true },
  reason: 'staging is no longer needed',
};
const PRODUCTION_STACK_ARN = PROD_STACK.replace('/*', '/0a1b2c3d-0000-11ef-8000-0a1b2c3d4e5f');
const UPDATE_STACK = {
  operation: 'cloudformation:UpdateStack',
  resource: PROD_STACK,
  parameters: { StackName: 'Production', UsePreviousTemplate: true, Parameters: [{ ParameterKey: 'DesiredCount', ParameterValue: '4' }] },
  reason: 'scale out for the sale',
  sourceIdentity: 'ops-assistant-7f3a',
};

let aws: LocalAws;
let single: SynthesizedGate;
let dual: SynthesizedGate;
let twoDatabases: SynthesizedGate;

beforeAll(async () => {
  aws = await startLocalAws();
  // GIVEN a gate with one approver, and a gate requiring two distinct approvers of two
  single = synthGate();
  dual = synthGate({ requiredApprovals: 2 }, { approvers: 2 });
  // and the gate of the security review: one operation covering production and staging
  twoDatabases = synthGate({ operations: [GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB, STAGING_DB] })] });
  // the gates synthesize the same logical ids, so they share one ledger table name
  for (const table of new Set([single, dual, twoDatabases].map((g) => g.definition.States[APPROVAL_STATES.recordRequest].Parameters.TableName))) {
    await aws.createLedger(table);
  }
});
afterAll(async () => aws.close());

async function outcomeOf(h: WorkflowHarness, requestId: string) {
  const out = await aws.dynamodb.send(
    new GetItemCommand({ TableName: h.tableName, Key: { requestId: { S: requestId }, record: { S: 'REQUEST' } }, ConsistentRead: true }),
  );
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
    const decision = await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/approve`, {
      digest: digestOf(DELETE_DB),
    });
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
    const decision = await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/reject`, {
      reason: 'restore the replica first',
    });
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
    const late = await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/approve`, {
      digest: digestOf(DELETE_DB),
    });
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
    ['parameters without the identifier of the resource', { ...DELETE_DB, parameters: { SkipFinalSnapshot: true } }],
    ['an identifier that is not a string', { ...DELETE_DB, parameters: { DBInstanceIdentifier: ['orders'] } }],
    [
      'parameters naming another database than the resource',
      { ...DELETE_DB, parameters: { ...DELETE_DB.parameters, DBInstanceIdentifier: 'billing' } },
    ],
    [
      'the database by ARN where the API takes an identifier',
      { ...DELETE_DB, parameters: { ...DELETE_DB.parameters, DBInstanceIdentifier: PROD_DB } },
    ],
    ['parameters naming another stack than the resource', { ...UPDATE_STACK, parameters: { ...UPDATE_STACK.parameters, StackName: 'Billing' } }],
    [
      'a stack ARN parameter of another stack',
      { ...UPDATE_STACK, resource: PRODUCTION_STACK_ARN, parameters: { StackName: PRODUCTION_STACK_ARN.replace('/Production/', '/Billing/') } },
    ],
  ])('fails when the request names %s: refused before anything is recorded or anyone is told', async (_what, input) => {
    const h = new WorkflowHarness(aws, single);
    const before = aws.published.length;
    const run = h.start(JSON.parse(JSON.stringify(input)));
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'RequestRefused' });
    expect(aws.published.length).toBe(before);
    expect(h.performed).toEqual([]);
    await expect(outcomeOf(h, run.requestId)).resolves.toEqual({ status: undefined, outcome: undefined, detail: undefined });
  });

  test(
    'fails when the request names an allowed staging database but its parameters name production: refused before anything is recorded or anyone ' +
      'is told',
    async () => {
      // GIVEN a gate allowing rds:DeleteDBInstance on orders and orders-staging
      const h = new WorkflowHarness(aws, twoDatabases);
      const before = aws.published.length;
      // WHEN the agent asks to delete "orders-staging" with parameters deleting "orders" without a final snapshot
      const run = h.start(STAGING_LABEL_PRODUCTION_PARAMETERS);
      // THEN the workflow refuses it: no approver is told, nothing is recorded, nothing is performed
      await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'RequestRefused' });
      expect(aws.published.length).toBe(before);
      expect(h.performed).toEqual([]);
      await expect(outcomeOf(h, run.requestId)).resolves.toEqual({ status: undefined, outcome: undefined, detail: undefined });
      // AND the same parameters under their true name are a valid request (the refusal is the mismatch, not the database)
      const honest = h.start({ ...STAGING_LABEL_PRODUCTION_PARAMETERS, resource: PROD_DB });
      await honest.waiting;
      expect(aws.published.at(-1)!.Message).toContain(`Acts on:         ${PROD_DB} `);
      await h.call(sessionOf(twoDatabases.approverRoleArn, 'alice'), 'POST', `/requests/${honest.requestId}/reject`, { reason: 'not production' });
      await expect(failureOf(honest.result)).resolves.toMatchObject({ error: 'Rejected' });
      expect(h.performed).toEqual([]);
    },
  );

  test('fails when the parameters also carry another spelling of the identifier: nobody is told, nothing is performed', async () => {
    const h = new WorkflowHarness(aws, twoDatabases);
    const before = aws.published.length;
    const run = h.start({
      ...DELETE_DB,
      resource: STAGING_DB,
      parameters: { DBInstanceIdentifier: 'orders-staging', dbInstanceIdentifier: 'orders' },
    });
    // THEN the notifier refuses (the workflow reads only the exact member name), and the error is recorded
    await expect(failureOf(run.result)).resolves.toMatchObject({ error: 'ApprovalError' });
    expect(aws.published.length).toBe(before);
    expect(h.performed).toEqual([]);
    const outcome = await outcomeOf(h, run.requestId);
    expect(outcome).toMatchObject({ status: 'PENDING', outcome: 'ERROR' });
    expect(outcome.detail).toContain('another spelling');
  });

  test('a request whose parameters name the staging database it shows is approved and performed on staging', async () => {
    const h = new WorkflowHarness(aws, twoDatabases);
    const staging = { ...DELETE_DB, resource: STAGING_DB, parameters: { DBInstanceIdentifier: 'orders-staging', SkipFinalSnapshot: true } };
    const run = h.start(staging);
    await run.waiting;
    // THEN the approvers are shown the database the parameters act on
    const message = aws.published.at(-1)!.Message!;
    expect(message).toContain(`Acts on:         ${STAGING_DB} `);
    expect(message).not.toContain(`${PROD_DB} `);
    expect(
      (await h.call(sessionOf(twoDatabases.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/approve`, { digest: digestOf(staging) }))
        .statusCode,
    ).toBe(200);
    await run.result;
    expect(h.performed).toEqual([{ state: APPROVAL_STATES.execute({ iamAction: 'rds:DeleteDBInstance' } as any), parameters: staging.parameters }]);
  });

  test.each([
    ['by name (the resource is the stack pattern of that name)', UPDATE_STACK],
    [
      'by stack ARN (StackName takes a name or an ARN)',
      { ...UPDATE_STACK, resource: PRODUCTION_STACK_ARN, parameters: { ...UPDATE_STACK.parameters, StackName: PRODUCTION_STACK_ARN } },
    ],
  ])('an UpdateStack request naming the production stack %s is approved and performed', async (_how, request) => {
    const h = new WorkflowHarness(aws, single);
    const run = h.start(request);
    await run.waiting;
    expect(aws.published.at(-1)!.Message).toContain(`Acts on:         ${request.resource} `);
    const digest = requestDigest(canonicalRequest(request.operation, request.resource, request.parameters));
    expect((await h.call(sessionOf(single.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/approve`, { digest })).statusCode).toBe(200);
    await run.result;
    expect(h.performed).toEqual([
      { state: APPROVAL_STATES.execute({ iamAction: 'cloudformation:UpdateStack' } as any), parameters: request.parameters },
    ]);
  });

  test('an explicit binding (a parameter holding the ARN) binds the same way: a mismatch is refused, the match is performed', async () => {
    // GIVEN a gate for an action without a known binding, bound explicitly to its SecretId parameter
    const secret = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders-db-AbCdEf';
    const gate = synthGate({
      operations: [GatedOperation.of({ service: 'secretsmanager', action: 'DeleteSecret', resources: [secret], resourceArn: '{SecretId}' })],
    });
    const h = new WorkflowHarness(aws, gate);
    const request = {
      operation: 'secretsmanager:DeleteSecret',
      resource: secret,
      parameters: { SecretId: secret, RecoveryWindowInDays: 30 },
      reason: 'rotated away',
      sourceIdentity: 'ops-assistant-7f3a',
    };
    // WHEN the parameters name the secret by a name (which could resolve to another secret) or another ARN: refused
    for (const SecretId of ['prod/orders-db', secret.replace('orders-db', 'billing-db')]) {
      const refused = h.start({ ...request, parameters: { ...request.parameters, SecretId } });
      await expect(failureOf(refused.result)).resolves.toMatchObject({ error: 'RequestRefused' });
    }
    expect(h.performed).toEqual([]);
    // AND the consistent request is performed once approved
    const run = h.start(request);
    await run.waiting;
    const digest = requestDigest(canonicalRequest(request.operation, request.resource, request.parameters));
    expect((await h.call(sessionOf(gate.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/approve`, { digest })).statusCode).toBe(200);
    await run.result;
    expect(h.performed).toEqual([
      { state: APPROVAL_STATES.execute({ iamAction: 'secretsmanager:DeleteSecret' } as any), parameters: request.parameters },
    ]);
  });

  test('fails when the requesting agent approves its own request: refused, nothing performed', async () => {
    const h = new WorkflowHarness(aws, single);
    const run = h.start(DELETE_DB);
    await run.waiting;
    // WHEN a session of the agent's own role calls the approval handler
    const self = await h.call(sessionOf(single.agentRoleArn, 'ops-assistant-7f3a'), 'POST', `/requests/${run.requestId}/approve`, {
      digest: digestOf(DELETE_DB),
    });
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
    expect((await h.call(sessionOf(first, 'alice'), 'POST', `/requests/${run.requestId}/approve`, { digest: digestOf(DELETE_DB) })).statusCode).toBe(
      202,
    );
    expect(
      (await h.call(sessionOf(first, 'alice-again'), 'POST', `/requests/${run.requestId}/approve`, { digest: digestOf(DELETE_DB) })).statusCode,
    ).toBe(409);
    // THEN nothing is performed yet
    await expect(outcomeOf(h, run.requestId)).resolves.toMatchObject({ status: 'PENDING' });
    expect(h.performed).toEqual([]);
    // WHEN a second, distinct approver approves
    expect((await h.call(sessionOf(second, 'bob'), 'POST', `/requests/${run.requestId}/approve`, { digest: digestOf(DELETE_DB) })).statusCode).toBe(
      200,
    );
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
