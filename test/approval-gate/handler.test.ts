import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createApprovalHandler, createNotifier, FunctionUrlEvent } from '../../lib/approval-gate/runtime';
import { ApprovalLedger } from '../../lib/approval-gate/runtime/ledger';
import { canonicalRequest, requestDigest } from '../../lib/approval-gate/runtime/approval-digest';
import { boundOperations, PROD_DB, sessionOf } from './gate-fixture';
import { LocalAws, startLocalAws } from './local-aws';
import { putRequestRecord } from './request-record';

const TABLE = 'approval-ledger';
const LEAD = 'arn:aws:iam::123456789012:role/teams/security-lead';
const SRE = 'arn:aws:iam::123456789012:role/sre-oncall';
const AGENT = 'arn:aws:iam::123456789012:role/ops-assistant-role';
const AUDITOR_USER = 'arn:aws:iam::123456789012:user/auditors/carol';
const PARAMETERS = { DBInstanceIdentifier: 'orders', FinalDBSnapshotIdentifier: 'orders-final' };
const CANONICAL = canonicalRequest('rds:DeleteDBInstance', PROD_DB, PARAMETERS);
const DIGEST = requestDigest(CANONICAL);

let aws: LocalAws;
let ledger: ApprovalLedger;
let seq = 0;

beforeAll(async () => {
  aws = await startLocalAws();
  await aws.createLedger(TABLE);
  ledger = new ApprovalLedger(aws.dynamodb, TABLE);
});
afterAll(async () => aws.close());

/** GIVEN a pending request as the workflow records it, with its task token stored by the real notifier. */
async function pendingRequest(requiredApprovals = 1): Promise<{ id: string; token: string; decision: Promise<unknown> }> {
  const id = `req-${++seq}`;
  await putRequestRecord(aws.dynamodb, TABLE, id, { canonical: CANONICAL, requesters: [AGENT], requiredApprovals, onlyIfAbsent: true });
  const token = `token-${id}`;
  const decision = new Promise((resolve, reject) => aws.waiters.set(token, { resolve, reject }));
  decision.catch(() => undefined);
  await createNotifier({
    ledger,
    sns: aws.sns,
    topicArn: 'arn:aws:sns:us-east-1:123456789012:approvals',
    approvalUrl: 'https://x.lambda-url.us-east-1.on.aws/',
    operations: boundOperations(),
  })({ taskToken: token, requestId: id });
  return { id, token, decision };
}

function handlerFor(requiredApprovals = 1) {
  return createApprovalHandler({ ledger, sfn: aws.sfn, approvers: [LEAD, SRE, AUDITOR_USER], requiredApprovals, operations: boundOperations() });
}

function event(userArn: string | undefined, method: string, path: string, body?: unknown): FunctionUrlEvent {
  return {
    rawPath: path,
    body: body === undefined ? undefined : JSON.stringify(body),
    requestContext: { http: { method }, authorizer: userArn ? { iam: { userArn } } : undefined },
  };
}

describe('the approval handler identifies the approver from the authenticated context only', () => {
  test('fails when there is no IAM-authenticated caller, whatever the body claims', async () => {
    const { id } = await pendingRequest();
    const res = await handlerFor()(
      event(undefined, 'POST', `/requests/${id}/approve`, { digest: DIGEST, userArn: sessionOf(LEAD, 'alice'), approver: LEAD }),
    );
    expect(res.statusCode).toBe(403);
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING', approvals: [] });
  });

  test('fails when the agent calls with a body naming an approver', async () => {
    const { id } = await pendingRequest();
    const res = await handlerFor()(
      event(sessionOf(AGENT, 'ops-assistant-1'), 'POST', `/requests/${id}/approve`, { digest: DIGEST, userArn: sessionOf(LEAD, 'alice') }),
    );
    expect(res.statusCode).toBe(403);
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING', approvals: [] });
  });

  test('fails when the requesting agent is also configured as an approver: self-approval refused and recorded', async () => {
    const { id } = await pendingRequest();
    const handler = createApprovalHandler({ ledger, sfn: aws.sfn, approvers: [AGENT, LEAD], requiredApprovals: 1, operations: boundOperations() });
    const res = await handler(event(sessionOf(AGENT, 'ops-assistant-1'), 'POST', `/requests/${id}/approve`, { digest: DIGEST }));
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body).error).toMatch(/self-approval refused/);
    const records = await ledger.records(id);
    expect(records.filter((r) => r.event === 'REFUSED' && r.principal === AGENT)).toHaveLength(1);
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING' });
  });

  test.each([
    ['the account root', 'arn:aws:iam::123456789012:root'],
    ['a role that is not an approver', sessionOf('arn:aws:iam::123456789012:role/developer', 'dave')],
    ['an approver role of another account', sessionOf('arn:aws:iam::999999999999:role/security-lead', 'mallory')],
    ['a federated user', 'arn:aws:sts::123456789012:federated-user/alice'],
  ])('fails when %s decides', async (_what, caller) => {
    const { id } = await pendingRequest();
    const res = await handlerFor()(event(caller, 'POST', `/requests/${id}/reject`, { reason: 'no' }));
    expect(res.statusCode).toBe(403);
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING' });
  });

  test('an approver role with a path and an IAM user approver are recognized from their authenticated ARNs', async () => {
    const a = await pendingRequest();
    expect(
      (
        await handlerFor()(
          event(sessionOf('arn:aws:iam::123456789012:role/security-lead', 'alice'), 'POST', `/requests/${a.id}/approve`, { digest: DIGEST }),
        )
      ).statusCode,
    ).toBe(200);
    await expect(a.decision).resolves.toEqual({ decision: 'APPROVED', digest: DIGEST, approvers: ['arn:aws:iam::123456789012:role/security-lead'] });
    const b = await pendingRequest();
    expect((await handlerFor()(event(AUDITOR_USER, 'POST', `/requests/${b.id}/reject`, { reason: 'needs a snapshot first' }))).statusCode).toBe(200);
    await expect(b.decision).rejects.toMatchObject({ name: 'Rejected' });
  });
});

describe('the approval handler binds decisions to the request', () => {
  test('fails when the approval names another digest', async () => {
    const { id } = await pendingRequest();
    const res = await handlerFor()(
      event(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, {
        digest: requestDigest(canonicalRequest('rds:DeleteDBInstance', PROD_DB, { DBInstanceIdentifier: 'orders', SkipFinalSnapshot: true })),
      }),
    );
    expect(res.statusCode).toBe(409);
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING', approvals: [] });
    expect(aws.waiters.has(`token-${id}`)).toBe(true);
  });

  test('fails when the ledger record was altered after the workflow digested it', async () => {
    const { id } = await pendingRequest();
    await aws.dynamodb.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { requestId: { S: id }, record: { S: 'REQUEST' } },
        UpdateExpression: 'SET canonical = :c',
        ExpressionAttributeValues: { ':c': { S: canonicalRequest('rds:DeleteDBInstance', PROD_DB, { DBInstanceIdentifier: 'billing' }) } },
      }),
    );
    const res = await handlerFor()(event(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest: DIGEST }));
    expect(res.statusCode).toBe(409);
    expect(JSON.parse(res.body).error).toMatch(/does not match its digest/);
  });

  test('fails when a rejection has no reason', async () => {
    const { id } = await pendingRequest();
    expect((await handlerFor()(event(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/reject`, {}))).statusCode).toBe(400);
  });

  test('requires requiredApprovals distinct approvers; two sessions of one role are one approver', async () => {
    const { id, decision } = await pendingRequest(2);
    const handler = handlerFor(2);
    expect((await handler(event(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest: DIGEST }))).statusCode).toBe(202);
    expect((await handler(event(sessionOf(LEAD, 'mallory'), 'POST', `/requests/${id}/approve`, { digest: DIGEST }))).statusCode).toBe(409);
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING', approvals: ['arn:aws:iam::123456789012:role/security-lead'] });
    expect((await handler(event(sessionOf(SRE, 'bob'), 'POST', `/requests/${id}/approve`, { digest: DIGEST }))).statusCode).toBe(200);
    await expect(decision).resolves.toMatchObject({ decision: 'APPROVED', digest: DIGEST });
    expect((await ledger.getRequest(id))!.approvals.sort()).toEqual(['arn:aws:iam::123456789012:role/security-lead', SRE]);
  });

  test('fails when the decision can no longer reach the workflow (timed out): recorded, reported, nothing done', async () => {
    const { id, token } = await pendingRequest();
    aws.waiters.delete(token); // the task timed out: Step Functions no longer knows the token
    const res = await handlerFor()(event(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest: DIGEST }));
    expect(res.statusCode).toBe(502);
    expect((await ledger.records(id)).some((r) => r.event === 'DELIVERY_FAILED')).toBe(true);
  });

  test('list and show never reveal the task token', async () => {
    const { id } = await pendingRequest();
    const list = await handlerFor()(event(sessionOf(LEAD, 'alice'), 'GET', '/requests'));
    const show = await handlerFor()(event(sessionOf(LEAD, 'alice'), 'GET', `/requests/${id}`));
    expect(list.statusCode).toBe(200);
    expect(show.statusCode).toBe(200);
    expect(JSON.parse(list.body).requests.map((r: any) => r.requestId)).toContain(id);
    expect(JSON.parse(show.body).request).toMatchObject({ requestId: id, digest: DIGEST, parameters: PARAMETERS });
    expect(list.body + show.body).not.toContain('token-');
  });
});

describe('the approval handler re-checks that the parameters act on the resource shown', () => {
  const STAGING = `${PROD_DB}-staging`;
  const operations = boundOperations({ 'rds:DeleteDBInstance': [PROD_DB, STAGING] });
  /** GIVEN a recorded request that names staging while its (digested) parameters name production, as if the workflow's check were bypassed. */
  async function mismatchedRequest(): Promise<{ id: string; digest: string }> {
    const id = `req-${++seq}`;
    const canonical = canonicalRequest('rds:DeleteDBInstance', STAGING, { DBInstanceIdentifier: 'orders', SkipFinalSnapshot: true });
    const record = { resource: STAGING, canonical, reason: 'staging is unused', requesters: [AGENT] };
    const { digest } = await putRequestRecord(aws.dynamodb, TABLE, id, record);
    return { id, digest };
  }

  test('fails when the notifier is asked about it: nobody is told, no token is stored', async () => {
    const { id } = await mismatchedRequest();
    const before = aws.published.length;
    const notify = createNotifier({ ledger, sns: aws.sns, topicArn: 't', approvalUrl: 'u', operations });
    await expect(notify({ taskToken: `token-${id}`, requestId: id })).rejects.toThrow(
      new RegExp(`act on ${PROD_DB} but the request names ${STAGING}`),
    );
    expect(aws.published.length).toBe(before);
    expect((await ledger.getRequest(id))?.taskToken).toBeUndefined();
  });

  test('fails when an approver approves it with the right digest: refused and recorded, the workflow hears nothing', async () => {
    const { id, digest } = await mismatchedRequest();
    await ledger.registerToken(id, `token-${id}`);
    const decision = new Promise((resolve, reject) => aws.waiters.set(`token-${id}`, { resolve, reject }));
    decision.catch(() => undefined);
    const handler = createApprovalHandler({ ledger, sfn: aws.sfn, approvers: [LEAD], requiredApprovals: 1, operations });
    // THEN the approver sees what the parameters act on, and that the request is refused
    const show = JSON.parse((await handler(event(sessionOf(LEAD, 'alice'), 'GET', `/requests/${id}`))).body).request;
    expect(show).toMatchObject({ resource: STAGING, target: PROD_DB });
    expect(show.bindingRefusal).toMatch(/act on .*:db:orders but the request names .*:db:orders-staging/);
    // AND an approval of exactly its digest does not count
    const res = await handler(event(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest }));
    expect(res.statusCode).toBe(409);
    expect(JSON.parse(res.body).error).toMatch(/resource mismatch/);
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING', approvals: [] });
    expect((await ledger.records(id)).filter((r) => r.event === 'REFUSED' && /resource mismatch/.test(String(r.reason)))).toHaveLength(1);
    expect(aws.waiters.has(`token-${id}`)).toBe(true);
  });

  test('fails when the parameters also hold another spelling of the identifier member: nobody is told', async () => {
    const id = `req-${++seq}`;
    const canonical = canonicalRequest('rds:DeleteDBInstance', STAGING, { DBInstanceIdentifier: 'orders-staging', dbInstanceIdentifier: 'orders' });
    await putRequestRecord(aws.dynamodb, TABLE, id, { resource: STAGING, canonical, reason: 'staging is unused', requesters: [AGENT] });
    const before = aws.published.length;
    const notify = createNotifier({ ledger, sns: aws.sns, topicArn: 't', approvalUrl: 'u', operations });
    await expect(notify({ taskToken: `token-${id}`, requestId: id })).rejects.toThrow(/hold dbInstanceIdentifier besides DBInstanceIdentifier/);
    expect(aws.published.length).toBe(before);
    // AND the handler refuses to count an approval of it
    await ledger.registerToken(id, `token-${id}`);
    const handler = createApprovalHandler({ ledger, sfn: aws.sfn, approvers: [LEAD], requiredApprovals: 1, operations });
    const res = await handler(event(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest: requestDigest(canonical) }));
    expect(res.statusCode).toBe(409);
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING', approvals: [] });
  });

  test('fails when the handler has no operations configured: nothing can be decided', async () => {
    const { id } = await pendingRequest();
    const handler = createApprovalHandler({ ledger, sfn: aws.sfn, approvers: [LEAD], requiredApprovals: 1, operations: [] });
    expect((await handler(event(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest: DIGEST }))).statusCode).toBe(500);
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING', approvals: [] });
  });

  test('an approval of a consistent request on the same gate counts (the check is not refusing everything)', async () => {
    const { id, decision } = await pendingRequest();
    const handler = createApprovalHandler({ ledger, sfn: aws.sfn, approvers: [LEAD], requiredApprovals: 1, operations });
    expect((await handler(event(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest: DIGEST }))).statusCode).toBe(200);
    await expect(decision).resolves.toMatchObject({ decision: 'APPROVED', digest: DIGEST });
  });
});

describe('the notifier', () => {
  test('fails when asked about an unknown request, or to replace a stored token', async () => {
    const notify = createNotifier({ ledger, sns: aws.sns, topicArn: 't', approvalUrl: 'u', operations: boundOperations() });
    await expect(notify({ taskToken: 'x', requestId: 'no-such-request' })).rejects.toThrow(/not a pending request/);
    const { id, token } = await pendingRequest();
    await expect(notify({ taskToken: 'another-token', requestId: id })).rejects.toThrow(/not a pending request without a token/);
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ taskToken: token });
  });
});

describe('concurrent decisions on one request (real DynamoDB conditional writes on dynalite)', () => {
  test('exactly one of a concurrent approve and reject wins, the workflow hears once, and both attempts are recorded', async () => {
    const handler = handlerFor();
    const outcomes: string[] = [];
    for (let i = 0; i < 15; i++) {
      const { id, token, decision } = await pendingRequest();
      let delivered = 0;
      const waiter = aws.waiters.get(token)!;
      aws.waiters.set(token, {
        resolve: (o) => {
          delivered++;
          waiter.resolve(o);
        },
        reject: (e) => {
          delivered++;
          waiter.reject(e);
        },
      });
      // WHEN an approval and a rejection arrive at the same time
      const [approve, reject] = await Promise.all([
        handler(event(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest: DIGEST })),
        handler(event(sessionOf(SRE, 'bob'), 'POST', `/requests/${id}/reject`, { reason: 'wait for the migration' })),
      ]);
      // THEN exactly one wins
      const winners = [approve, reject].filter((r) => r.statusCode === 200);
      expect(winners).toHaveLength(1);
      expect([approve, reject].filter((r) => r.statusCode === 409)).toHaveLength(1);
      const final = (await ledger.getRequest(id))!;
      const winner = approve.statusCode === 200 ? 'APPROVED' : 'REJECTED';
      expect(final.status).toBe(winner);
      // AND the workflow received exactly that decision, once
      await (winner === 'APPROVED'
        ? expect(decision).resolves.toMatchObject({ decision: 'APPROVED' })
        : expect(decision).rejects.toMatchObject({ name: 'Rejected' }));
      expect(delivered).toBe(1);
      // AND nothing is lost: the losing attempt is in the ledger too
      const records = await ledger.records(id);
      expect(records.some((r) => r.event === winner && r.principal === (winner === 'APPROVED' ? LEAD.replace('/teams', '') : SRE))).toBe(true);
      expect(records.some((r) => r.event === 'TOO_LATE' && r.decision === (winner === 'APPROVED' ? 'REJECT' : 'APPROVE'))).toBe(true);
      outcomes.push(winner);
    }
    expect(outcomes).toHaveLength(15);
  });

  test('of ten concurrent approvals by distinct approvers needing two, the workflow hears exactly once', async () => {
    const approvers = Array.from({ length: 10 }, (_, i) => `arn:aws:iam::123456789012:role/approver-${i}`);
    const handler = createApprovalHandler({ ledger, sfn: aws.sfn, approvers, requiredApprovals: 2, operations: boundOperations() });
    const { id, token } = await pendingRequest(2);
    let delivered = 0;
    const waiter = aws.waiters.get(token)!;
    aws.waiters.set(token, {
      resolve: (o) => {
        delivered++;
        waiter.resolve(o);
      },
      reject: (e) => {
        delivered++;
        waiter.reject(e);
      },
    });
    const results = await Promise.all(approvers.map((a) => handler(event(sessionOf(a, 's'), 'POST', `/requests/${id}/approve`, { digest: DIGEST }))));
    expect(delivered).toBe(1);
    const final = (await ledger.getRequest(id))!;
    expect(final.status).toBe('APPROVED');
    // AND every reply is true: the approvers counted heard 202 (still pending then) or 200 (approved), the others 409
    results.forEach((r, i) => expect(final.approvals.includes(approvers[i]) ? [200, 202] : [409]).toContain(r.statusCode));
    expect(results.filter((r) => r.statusCode === 200).every((r) => JSON.parse(r.body).status === 'APPROVED')).toBe(true);
    // every approval attempt is recorded as a decision item
    expect((await ledger.records(id)).filter((r) => String(r.record).startsWith('DECISION#'))).toHaveLength(10);
  });
});
