/**
 * The approvals command against a local stand-in for a Lambda function URL with AWS_IAM auth: a
 * server on 127.0.0.1 that verifies the SigV4 signature of each request against the secret of the
 * access key (as IAM does), refuses unsigned or tampered requests, and passes the authenticated
 * caller to the real approval handler in requestContext.authorizer.iam (ledger on dynalite,
 * decisions delivered through the local Step Functions endpoint).
 */
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { main } from '../../lib/cli/main';
import { createApprovalHandler, createNotifier } from '../../lib/approval-gate/runtime';
import { ApprovalLedger } from '../../lib/approval-gate/runtime/ledger';
import { canonicalRequest, requestDigest } from '../../lib/approval-gate/runtime/approval-digest';
import { boundOperations, PROD_DB, sessionOf } from './gate-fixture';
import { LocalAws, startLocalAws } from './local-aws';
import { LocalFunctionUrl, serveFunctionUrl } from '../support/sigv4-verifier';
import { putRequestRecord } from './request-record';

const LEAD = 'arn:aws:iam::123456789012:role/security-lead';
const AGENT = 'arn:aws:iam::123456789012:role/ops-assistant-role';
const KEYS: Record<string, { secret: string; userArn: string }> = {
  AKIALEAD: { secret: 'lead-secret', userArn: sessionOf(LEAD, 'alice') },
  AKIAAGENT: { secret: 'agent-secret', userArn: sessionOf(AGENT, 'ops-assistant-1') },
};
/** The gate hands rds:DeleteDBInstance out as credentials (GATE_TERMS), so `show` must say what approving gives the agent. */
const TERMS = {
  timeoutSeconds: 7200,
  credentialsSeconds: 900,
  collectWithinSeconds: 600,
  credentials: [{ operation: 'rds:DeleteDBInstance', actions: ['rds:DeleteDBInstance'] }],
};
const PARAMETERS = { DBInstanceIdentifier: 'orders', FinalDBSnapshotIdentifier: 'orders-final' };
const DIGEST = requestDigest(canonicalRequest('rds:DeleteDBInstance', PROD_DB, PARAMETERS));

let aws: LocalAws;
let ledger: ApprovalLedger;
let front: LocalFunctionUrl;
let url: string;

beforeAll(async () => {
  aws = await startLocalAws();
  await aws.createLedger('cli-ledger');
  ledger = new ApprovalLedger(aws.dynamodb, 'cli-ledger');
  const handler = createApprovalHandler({
    ledger,
    sfn: aws.sfn,
    approvers: [LEAD],
    requiredApprovals: 1,
    operations: boundOperations(),
    terms: TERMS,
  });
  front = await serveFunctionUrl(KEYS, handler);
  url = front.url;
  delete process.env.AWS_PROFILE;
});
afterAll(async () => {
  await front.close();
  await aws.close();
});

function as(accessKeyId: string, secret: string): void {
  process.env.AWS_ACCESS_KEY_ID = accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = secret;
  delete process.env.AWS_SESSION_TOKEN;
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['approvals', ...args, '--url', url, '--region', 'us-east-1'], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let seq = 0;
async function pendingRequest(
  hostile: { id?: string; reason?: string; sourceIdentity?: string } = {},
): Promise<{ id: string; decision: Promise<unknown> }> {
  const id = hostile.id ?? `cli-${++seq}`;
  await putRequestRecord(aws.dynamodb, 'cli-ledger', id, {
    parameters: PARAMETERS,
    reason: hostile.reason,
    sourceIdentity: hostile.sourceIdentity,
    requesters: [AGENT],
  });
  const decision = new Promise((resolve, reject) => aws.waiters.set(`token-${id}`, { resolve, reject }));
  decision.catch(() => undefined);
  await createNotifier({ ledger, sns: aws.sns, topicArn: 't', approvalUrl: url, operations: boundOperations() })({
    taskToken: `token-${id}`,
    requestId: id,
  });
  return { id, decision };
}

describe('approvals show: credentials mode, the collection and break-glass records (review HIGH-1, HIGH-2)', () => {
  test('shows what approving hands out, who may request, the deadline, the collection window and who collected', async () => {
    const { id } = await pendingRequest();
    as('AKIALEAD', 'lead-secret');
    const pending = await cli('show', id);
    expect(pending.code).toBe(0);
    expect(pending.out).toContain(
      `  if approved:      credentials mode: the agent receives a session allowed rds:DeleteDBInstance on ${PROD_DB} for 15 minutes; ` +
        'the parameters are its stated intent and are not enforced',
    );
    expect(pending.out).toContain(`  may be requested by: ${AGENT} (roles granted to request; the starting session is not verified)`);
    expect(pending.out).not.toMatch(/requested by: {4}/);
    const requestedAt = (await ledger.getRequest(id))!.requestedAt;
    expect(pending.out).toContain(
      `  expires at:       ${new Date(Date.parse(requestedAt) + 7_200_000).toISOString()} (no decision by then means rejected)`,
    );
    // WHEN the request is approved, made collectable and collected (as the workflow and the collector record it)
    const opened = new Date().toISOString();
    await aws.dynamodb.send(
      new UpdateItemCommand({
        TableName: 'cli-ledger',
        Key: { requestId: { S: id }, record: { S: 'REQUEST' } },
        UpdateExpression: 'SET #s = :a, collectableAt = :o, collectWithinSeconds = :w, collectedAt = :o, collectedBy = :by',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':a': { S: 'APPROVED' },
          ':o': { S: opened },
          ':w': { N: '600' },
          ':by': { S: sessionOf(AGENT, 'ops\u001b[2J-1') },
        },
      }),
    );
    const collected = await cli('show', id);
    expect(collected.out).toContain(`  expires at:       ${new Date(Date.parse(opened) + 600_000).toISOString()} (end of the collection window)`);
    expect(collected.out).toContain(`  collectable:      from ${opened} for 600 s`);
    // THEN the collecting session is shown inert
    expect(collected.out).toContain(`  collected:        at ${opened} by arn:aws:sts::123456789012:assumed-role/ops-assistant-role/ops\\u001b[2J-1`);
    expect(collected.out).not.toContain('\u001b');
  });

  test('shows the break-glass uses as recorded, inert', async () => {
    await aws.dynamodb.send(
      new PutItemCommand({
        TableName: 'cli-ledger',
        Item: {
          requestId: { S: 'BREAK_GLASS' },
          record: { S: 'EVENT#2026-11-30T10:00:00Z#e1' },
          event: { S: 'BREAK_GLASS' },
          at: { S: '2026-11-30T10:00:00Z' },
          roleArn: { S: 'arn:aws:iam::123456789012:role/break-glass' },
          assumedBy: { S: 'arn:aws:sts::123456789012:assumed-role/oncall/bob' },
          sessionName: { S: 'bob\nroleArn: forged' },
          sourceIdentity: { S: 'bob' },
          sourceIp: { S: '198.51.100.7' },
          result: { S: 'assumed' },
        },
      }),
    );
    as('AKIALEAD', 'lead-secret');
    const show = await cli('show', 'BREAK_GLASS');
    expect(show.code).toBe(0);
    expect(show.out.split('\n')).toEqual([
      'Break-glass uses: 1',
      '  - 2026-11-30T10:00:00Z assumed arn:aws:iam::123456789012:role/break-glass by arn:aws:sts::123456789012:assumed-role/oncall/bob ' +
        'session bob\\nroleArn: forged source identity bob from 198.51.100.7',
    ]);
  });
});

describe('cdk-agent-guardrails approvals', () => {
  test('an approver lists, shows and approves a request with their own signed credentials', async () => {
    const { id, decision } = await pendingRequest();
    as('AKIALEAD', 'lead-secret');
    const list = await cli('list');
    expect(list.code).toBe(0);
    expect(list.out).toContain(id);
    const show = await cli('show', id);
    expect(show.code).toBe(0);
    expect(show.out).toContain(DIGEST);
    expect(show.out).toContain(`acts on:          ${PROD_DB} (derived from the parameters)`);
    expect(show.out).toContain('"DBInstanceIdentifier":"orders"');
    // and what the approvers were told, confirmed by SNS
    expect(show.out).toMatch(/^ {2}- \S+ notice REQUESTED sent$/m);
    const approve = await cli('approve', id, '--digest', DIGEST);
    expect(approve).toMatchObject({ code: 0 });
    expect(approve.out).toContain('approved');
    await expect(decision).resolves.toMatchObject({ decision: 'APPROVED', digest: DIGEST, approvers: [LEAD] });
    // the handler saw the identity IAM authenticated
    expect(front.seen.at(-1)).toEqual({ status: 200, authenticated: sessionOf(LEAD, 'alice') });
  });

  test('an approver rejects with a reason', async () => {
    const { id, decision } = await pendingRequest();
    as('AKIALEAD', 'lead-secret');
    const reject = await cli('reject', id, '--reason', 'take a snapshot first');
    expect(reject.code).toBe(0);
    await expect(decision).rejects.toMatchObject({ name: 'Rejected' });
  });

  test('fails when the agent uses the command with its own credentials', async () => {
    const { id } = await pendingRequest();
    as('AKIAAGENT', 'agent-secret');
    const approve = await cli('approve', id, '--digest', DIGEST);
    expect(approve.code).toBe(4);
    expect(approve.err).toMatch(/refused \(403\)/);
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING' });
  });

  test('fails when the credentials are wrong: the signature does not verify', async () => {
    const { id } = await pendingRequest();
    as('AKIALEAD', 'not-the-secret');
    const approve = await cli('approve', id, '--digest', DIGEST);
    expect(approve.code).toBe(4);
    expect(front.seen.at(-1)).toEqual({ status: 403 });
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING' });
  });

  test.each([
    [['approve', 'x'], /--digest/],
    [['approve', 'x', '--digest', 'abc'], /64-hex-digit/],
    [['reject', 'x'], /--reason/],
    [['show'], /usage/],
    [['delete', 'x'], /usage/],
    [['show', '../../etc'], /not valid/],
  ])('fails with a usage error for %j', async (args, message) => {
    const result = await cli(...args);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(message);
  });

  test.each([
    [['list', '--digset', DIGEST], /unknown option "--digset"[\s\S]*did you mean --digest\?/],
    [['approve', 'x', 'y'], /unexpected argument "y"/],
    [['list', 'x'], /list takes no request ID/],
    [['reject', 'x', '--reason'], /--reason needs a value/],
  ])('fails with a usage error naming what was wrong for %j', async (args, message) => {
    const result = await cli(...args);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    expect(result.err).toMatch(message);
    expect(result.err).toMatch(/\nfix: /);
  });

  test.each([['--help'], ['-h'], ['approve', 'x', '--help']])('%j prints the usage to stdout and exits 0', async (...args) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['approvals', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/^usage: cdk-agent-guardrails approvals /);
    expect(err).toEqual([]);
  });

  test('fails when asked to send signed requests over plain http to a remote host', async () => {
    const out: string[] = [];
    const code = await main(['approvals', 'list', '--url', 'http://abc.lambda-url.us-east-1.on.aws/'], {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
    });
    expect(code).toBe(2);
    expect(out.join('\n')).toMatch(/plain http/);
  });
});

/** Bytes that move a terminal's cursor, clear it, retitle it, or reorder or hide text. */
const TERMINAL_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;
const FIELDS = [
  'operation',
  'resource',
  'acts on',
  'parameters',
  'reason',
  'source identity',
  'may be requested by',
  'requested at',
  'if approved',
  'approvals',
  'digest',
];

describe("agent-written text reaches the approver's terminal inert (class 4)", () => {
  const REASON =
    'routine\n  acts on:          arn:aws:rds:us-east-1:123456789012:db:scratch\r  digest:           0000' +
    '\u001b[2J\u001b[H\u001b]0;ok\u0007\u202efdp.';
  const IDENTITY = 'ops\n  requested by:     arn:aws:iam::123456789012:role/security-lead\u2028approvals:        1 of 1';

  test('fails when a reason or source identity forges a field line or sends control bytes, in list, show and the reply', async () => {
    // GIVEN a request whose agent-written fields carry line breaks, escape sequences and bidi overrides
    const { id, decision } = await pendingRequest({ reason: REASON, sourceIdentity: IDENTITY });
    as('AKIALEAD', 'lead-secret');
    // WHEN the approver lists and shows it with the real CLI
    const list = await cli('list');
    const show = await cli('show', id);
    for (const output of [list.out, show.out]) {
      // THEN no control or reordering character reaches the terminal
      expect(output).not.toMatch(TERMINAL_UNSAFE);
    }
    // AND every field line appears exactly once: nothing the agent wrote starts a line of its own
    const lines = show.out.split('\n');
    for (const label of FIELDS) expect(lines.filter((l) => l.startsWith(`  ${label}:`))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('db:scratch'))).toEqual([expect.stringMatching(/^ {2}reason: {11}routine\\n/)]);
    // AND the escapes are visible, so the approver sees that something was hidden
    expect(show.out).toContain('\\u001b[2J');
    expect(show.out).toContain('\\u202efdp.');
    // AND the ledger keeps the raw value exactly
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ reason: REASON, sourceIdentity: IDENTITY });
    const approve = await cli('approve', id, '--digest', DIGEST);
    expect(approve.code).toBe(0);
    expect(approve.out).not.toMatch(TERMINAL_UNSAFE);
    await expect(decision).resolves.toMatchObject({ decision: 'APPROVED' });
  });

  test('fails when a very long reason is shown whole or cut without saying so', async () => {
    const { id } = await pendingRequest({ reason: 'x'.repeat(5000) });
    as('AKIALEAD', 'lead-secret');
    const show = await cli('show', id);
    expect(show.out).toContain(`${'x'.repeat(2000)}… (3000 more characters)`);
  });
});

describe('request ids Step Functions accepts are all routable (class 7)', () => {
  test.each([['req.1'], ['..'], ["o'brien!(1)"], ['ünïcödé-Ωμέγα'], ['\u202eevil']])(
    'fails when the id %j cannot be shown, approved or is confused with another',
    async (id) => {
      // GIVEN a request whose execution name is outside [A-Za-z0-9_-]
      const { decision } = await pendingRequest({ id: `${id}-${++seq}` });
      const requestId = `${id}-${seq}`;
      as('AKIALEAD', 'lead-secret');
      // WHEN the approver shows and approves it by its id
      const show = await cli('show', requestId);
      expect(show.code).toBe(0);
      expect(show.out).toContain(DIGEST);
      expect(show.out).not.toMatch(TERMINAL_UNSAFE);
      const approve = await cli('approve', requestId, '--digest', DIGEST);
      // THEN the decision reaches exactly that request
      expect(approve.code).toBe(0);
      await expect(decision).resolves.toMatchObject({ decision: 'APPROVED' });
      await expect(ledger.getRequest(requestId)).resolves.toMatchObject({ status: 'APPROVED' });
    },
  );

  test('fails when a path that carries no canonical id is answered as if it did', async () => {
    // The function URL hands the handler the raw path; no request id may be read from one by a second spelling.
    const handler = createApprovalHandler({ ledger, sfn: aws.sfn, approvers: [LEAD], requiredApprovals: 1, operations: boundOperations() });
    const plain = `/requests/~${Buffer.from('plain').toString('base64url')}`;
    for (const rawPath of ['/requests/req.1', '/requests/%2E%2E', '/requests/cli%2D1', plain, '/requests/~!!']) {
      const res = await handler({ rawPath, requestContext: { http: { method: 'GET' }, authorizer: { iam: { userArn: sessionOf(LEAD, 'alice') } } } });
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body).error).toMatch(/invalid request id in the path/);
    }
  });
});
