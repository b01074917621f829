/**
 * What approvers read (issue 11 class 4, issue 13 chat notifications): the real notifier and the real
 * approval handler publish to the local SNS endpoint (query protocol, SNS's own checks of Subject and
 * MessageStructure json) with the real SNS client; the ledger is dynalite. Hostile agent text must
 * forge no field line and send no control byte, in the email form and in the AWS Chatbot form.
 */
import { execFileSync } from 'child_process';
import { createApprovalHandler, createNotifier, FunctionUrlEvent, GateTerms } from '../../lib/approval-gate/runtime';
import { ApprovalLedger } from '../../lib/approval-gate/runtime/ledger';
import { boundOperations, PROD_DB, sessionOf } from './gate-fixture';
import { formsOf, LocalAws, PublishedMessage, startLocalAws } from './local-aws';
import { putRequestRecord } from './request-record';

const TABLE = 'rendering-ledger';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:approvals';
const URL_ = 'https://abc.lambda-url.us-east-1.on.aws/';
const LEAD = 'arn:aws:iam::123456789012:role/security-lead';
const SRE = 'arn:aws:iam::123456789012:role/sre-oncall';
const AGENT = 'arn:aws:iam::123456789012:role/ops-assistant-role';

/** Control, line-breaking, reordering and invisible characters: none may reach a reader. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\u{e0000}-\u{e007f}]/u;

const HOSTILE_REASON =
  'cleanup\nActs on:         arn:aws:rds:us-east-1:123456789012:db:scratch\r\nDigest:          ' +
  '0'.repeat(64) +
  '\u001b[2J\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007 \u202eesrever\u2028Approvals:       0 required ' +
  '<!here> <@U123|boss> `code` [link](https://evil.example) *urgent* @channel \u{e0041}';
const HOSTILE_IDENTITY = 'ops-1\nRequested by:    arn:aws:iam::123456789012:role/security-lead\u2029Source identity: trusted';
const HOSTILE_PARAMETERS = { DBInstanceIdentifier: 'orders', Note: 'x\nOperation:       s3:GetObject\u0085\u200b' };

const EMAIL_LABELS = [
  'Operation',
  'Acts on',
  'Parameters',
  "Agent's reason",
  'Source identity',
  'May be requested by',
  'If approved',
  'Digest',
  'Approvals',
];

let aws: LocalAws;
let ledger: ApprovalLedger;
let seq = 0;

beforeAll(async () => {
  aws = await startLocalAws();
  await aws.createLedger(TABLE);
  ledger = new ApprovalLedger(aws.dynamodb, TABLE);
});
afterAll(async () => aws.close());

/** GIVEN a pending request as the workflow records it, announced by the real notifier. */
async function pendingRequest(
  options: {
    id?: string;
    reason?: string;
    sourceIdentity?: string;
    parameters?: Record<string, unknown>;
    requiredApprovals?: number;
    terms?: GateTerms;
  } = {},
): Promise<{ id: string; digest: string; decision: Promise<unknown> }> {
  const id = options.id ?? `render-${++seq}`;
  const parameters = options.parameters ?? { DBInstanceIdentifier: 'orders' };
  const { digest } = await putRequestRecord(aws.dynamodb, TABLE, id, { ...options, parameters, requesters: [AGENT] });
  const decision = new Promise((resolve, reject) => aws.waiters.set(`token-${id}`, { resolve, reject }));
  decision.catch(() => undefined);
  await createNotifier({ ledger, sns: aws.sns, topicArn: TOPIC, approvalUrl: URL_, operations: boundOperations(), terms: options.terms })({
    taskToken: `token-${id}`,
    requestId: id,
  });
  return { id, digest, decision };
}

function handlerFor(requiredApprovals: number, terms?: GateTerms) {
  return createApprovalHandler({
    ledger,
    sfn: aws.sfn,
    approvers: [LEAD, SRE],
    requiredApprovals,
    operations: boundOperations(),
    announce: { sns: aws.sns, topicArn: TOPIC, approvalUrl: URL_ },
    terms,
  });
}

/** GATE_TERMS of a gate that hands out the operation as credentials (review HIGH-2: approvers are told). */
const CREDENTIALS_TERMS: GateTerms = {
  timeoutSeconds: 3600,
  credentialsSeconds: 900,
  collectWithinSeconds: 1800,
  credentials: [{ operation: 'rds:DeleteDBInstance', actions: ['rds:DeleteDBInstance', 'rds:DescribeDBInstances'] }],
};
const PERFORM_TERMS: GateTerms = { timeoutSeconds: 3600, credentials: [] };

describe('approvers are told how an approval is carried out (review HIGH-1, HIGH-2)', () => {
  const SESSION_TEXT =
    `credentials mode: the agent receives a session allowed rds:DeleteDBInstance, rds:DescribeDBInstances on ${PROD_DB} for 15 minutes; ` +
    'the parameters are its stated intent and are not enforced';

  test('fails when a credentials request is announced, shown or approved as if the gate performed exactly the approved call', async () => {
    // GIVEN a pending credentials-mode request, announced by the real notifier
    const { id, digest } = await pendingRequest({ terms: CREDENTIALS_TERMS });
    const { email, chat } = formsOf(publishedFor(id)[0]);
    // THEN the notice says what the agent receives and that the parameters are not enforced, in both forms
    expect(email.split('\n').filter((l) => l.startsWith('If approved:'))).toEqual([`If approved:     ${SESSION_TEXT}`]);
    expect(chat.content.description).toContain(`*If approved:* \`${SESSION_TEXT}\``);
    // AND the requester list is called what it is
    expect(email).toContain(`May be requested by: ${AGENT} (the roles granted to request; the starting session is not verified here)`);
    expect(email).not.toMatch(/^Requested by/m);
    // AND the handler's view says the same, with the decision deadline
    const handler = handlerFor(1, CREDENTIALS_TERMS);
    const shown = JSON.parse((await handler(call(sessionOf(LEAD, 'alice'), 'GET', `/requests/${id}`))).body).request;
    expect(shown).toMatchObject({ mode: 'CREDENTIALS', execution: SESSION_TEXT, requestersAre: expect.stringMatching(/^may be requested by/) });
    expect(Date.parse(shown.expiresAt) - Date.parse(shown.requestedAt)).toBe(3_600_000);
    // WHEN the quorum is reached, THEN the notice says a collection window opens, not that the gate performs it
    expect((await handler(call(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest }))).statusCode).toBe(200);
    const approved = publishedFor(id)
      .map((m) => formsOf(m).email)
      .find((e) => e.startsWith('Approved by'))!;
    expect(approved).toContain(`quorum reached, the workflow checks the ledger and opens the collection window for 30 minutes: ${SESSION_TEXT}`);
    expect(approved).not.toContain('performs it');
  });

  test('a perform-mode request says the gate performs the one call, and a handler without terms says it cannot tell', async () => {
    const performed = await pendingRequest({ terms: PERFORM_TERMS });
    expect(formsOf(publishedFor(performed.id)[0]).email).toContain(
      'If approved:     the gate performs this one call itself, once, with exactly these parameters',
    );
    const unknown = await pendingRequest();
    expect(formsOf(publishedFor(unknown.id)[0]).email).toMatch(
      /If approved: {5}unknown: this handler was not told how the gate carries out requests/,
    );
  });
});

const call = (userArn: string, method: string, path: string, body?: unknown): FunctionUrlEvent => ({
  rawPath: path,
  body: body === undefined ? undefined : JSON.stringify(body),
  requestContext: { http: { method }, authorizer: { iam: { userArn } } },
});

/** The messages published about one request (found by its thread in the chat form). */
function publishedFor(id: string): PublishedMessage[] {
  return aws.published.filter((m) => m.MessageStructure === 'json' && formsOf(m).chat.content.description.includes(`\`${id}\``));
}

/** Every string anywhere in a JSON value. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsOf);
  return [];
}

describe("the approvers' notification is structured and agent text in it is inert", () => {
  test('fails when the notification is not an SNS json message with an AWS Chatbot custom notification and a plain email form', async () => {
    const { id, digest } = await pendingRequest();
    const [message] = publishedFor(id);
    expect(message.MessageStructure).toBe('json');
    expect(message.Subject).toBe('Approval needed: rds:DeleteDBInstance');
    const { email, chat } = formsOf(message);
    // the Chatbot custom notification schema: version 1.0, source custom, client-markdown content, metadata
    expect(chat).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown', title: 'Approval needed: rds:DeleteDBInstance', keywords: ['rds:DeleteDBInstance'] },
      metadata: { threadId: expect.stringMatching(/^approval-[0-9a-f]{32}$/), eventType: 'APPROVAL_REQUESTED' },
    });
    expect(chat.content.description).toContain(`*Digest:* \`${digest}\``);
    expect(chat.content.nextSteps.join('\n')).toContain(`approvals approve ${id} --digest ${digest}`);
    expect(email).toContain(`Acts on:         ${PROD_DB}  (derived from the parameters`);
    expect(email).toContain(`Digest:          ${digest}`);
  });

  test('fails when a reason, a source identity or a parameter forges a field line or carries a control byte', async () => {
    // GIVEN a request whose agent-written text carries line breaks, escapes, bidi overrides, chat markup and mentions
    const { id, digest } = await pendingRequest({ reason: HOSTILE_REASON, sourceIdentity: HOSTILE_IDENTITY, parameters: HOSTILE_PARAMETERS });
    const [message] = publishedFor(id);
    const { email, chat } = formsOf(message);
    // THEN the email: every field line exactly once, no control or invisible character, the digest line is the real one
    expect(email).not.toMatch(UNSAFE);
    const lines = email.split('\n');
    for (const label of EMAIL_LABELS) expect(lines.filter((l) => l.startsWith(`${label}:`))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('Digest:'))).toEqual([`Digest:          ${digest}`]);
    expect(lines.filter((l) => l.includes('db:scratch'))).toEqual([expect.stringMatching(/^Agent's reason: {2}cleanup\\nActs on:/)]);
    // AND the chat form: every string inert, each description line a fixed label, agent values inside code spans
    for (const text of stringsOf(chat)) expect(text).not.toMatch(UNSAFE);
    const description: string[] = chat.content.description.split('\n');
    for (const line of description) expect(line).toMatch(/^\*[A-Za-z' ()]+:\* `[^`]*`$/);
    expect(description.filter((l) => l.startsWith('*Digest:*'))).toEqual([`*Digest:* \`${digest}\``]);
    // no mention or Slack control sequence can form (links and markup stay inside the code span, where they render as text)
    expect(chat.content.description).not.toMatch(/[<>@]/);
    expect(chat.content.description).toContain('‹!here›');
    // AND the ledger keeps the raw values
    await expect(ledger.getRequest(id)).resolves.toMatchObject({ reason: HOSTILE_REASON, sourceIdentity: HOSTILE_IDENTITY });
    expect(aws.refusedPublishes).toEqual([]);
  });

  test('fails when a request id Step Functions accepts ("o\'brien(1)!") breaks the command lines approvers copy into a shell', async () => {
    // GIVEN an execution name with a quote, parentheses and a bang (all accepted by StartExecution)
    const { id, digest } = await pendingRequest({ id: `o'brien(1)!-${++seq}` });
    const { email, chat } = formsOf(aws.published.filter((m) => m.Message.includes('brien')).at(-1)!);
    const line = email.split('\n').find((l) => l.includes('approvals approve'))!;
    expect(chat.content.nextSteps.join('\n')).toContain('approvals approve');
    // WHEN a shell parses the command line as shown (its arguments printed instead of run)
    const words = execFileSync('bash', ['-c', `printf '%s\\n' ${line.trim().replace(/^npx /, '')}`], { encoding: 'utf8' })
      .trim()
      .split('\n');
    // THEN the id reaches the CLI as one argument, exactly, followed by the digest flag
    expect(words).toEqual(['cdk-agent-guardrails', 'approvals', 'approve', id, '--digest', digest, '--url', URL_]);
  });

  test('fails when a very long reason is published whole or cut without saying so', async () => {
    const { id } = await pendingRequest({ reason: 'y'.repeat(3000) });
    const { email, chat } = formsOf(publishedFor(id)[0]);
    expect(email).toContain(`${'y'.repeat(1000)}… (2000 more characters)`);
    expect(chat.content.description).toContain(`${'y'.repeat(500)}… (2500 more characters)`);
  });
});

describe('every approver is told when another one decided (issue 13)', () => {
  test('approved by X (1 of 2), then approved by Y (2 of 2) with the quorum reached; a repeated call tells nobody twice', async () => {
    // GIVEN a request needing two approvals
    const { id, digest, decision } = await pendingRequest({ requiredApprovals: 2 });
    const handler = handlerFor(2);
    // WHEN the first approver approves (and calls again, as after a lost reply)
    const first = await handler(call(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest }));
    expect(first.statusCode).toBe(202);
    expect(JSON.parse(first.body)).toMatchObject({ approvals: 1, othersNotified: true });
    expect((await handler(call(sessionOf(LEAD, 'alice-again'), 'POST', `/requests/${id}/approve`, { digest }))).statusCode).toBe(409);
    // AND the second approves
    const second = await handler(call(sessionOf(SRE, 'bob'), 'POST', `/requests/${id}/approve`, { digest }));
    expect(second.statusCode).toBe(200);
    await expect(decision).resolves.toMatchObject({ decision: 'APPROVED' });
    // THEN exactly three notices: the request, 1 of 2 by the lead, 2 of 2 by the SRE with the quorum
    const notices = publishedFor(id).map((m) => ({ subject: m.Subject, ...formsOf(m) }));
    expect(notices.map((n) => n.subject)).toEqual([
      'Approval needed: rds:DeleteDBInstance',
      'Approved (1 of 2): rds:DeleteDBInstance',
      'Approved (2 of 2): rds:DeleteDBInstance',
    ]);
    expect(notices[1].email).toMatch(new RegExp(`^Approved by ${LEAD} \\(1 of 2\\)\\.`));
    expect(notices[1].email).toContain('Waiting for 1 more approval(s)');
    expect(notices[2].email).toMatch(new RegExp(`^Approved by ${SRE} \\(2 of 2\\): quorum reached`));
    // all of one request in one chat thread
    expect(new Set(notices.map((n) => n.chat.metadata.threadId)).size).toBe(1);
  });

  test('fails when a notice says "quorum reached" of a request a concurrent rejection decided, or "rejected" of an approved one', async () => {
    for (let round = 0; round < 6; round++) {
      // GIVEN one of two approvals given
      const { id, digest, decision } = await pendingRequest({ requiredApprovals: 2 });
      const handler = handlerFor(2);
      expect((await handler(call(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest }))).statusCode).toBe(202);
      // WHEN the second approval and a rejection race
      await Promise.all([
        handler(call(sessionOf(SRE, 'bob'), 'POST', `/requests/${id}/approve`, { digest })),
        handler(call(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/reject`, { reason: 'wait' })),
      ]);
      await decision.catch(() => undefined);
      // THEN the notices agree with the one decision the ledger holds
      const status = (await ledger.getRequest(id))!.status;
      const subjects = publishedFor(id).map((m) => m.Subject);
      if (status === 'APPROVED') {
        expect(subjects).not.toContain('Rejected: rds:DeleteDBInstance');
        expect(subjects).toContain('Approved (2 of 2): rds:DeleteDBInstance');
      } else {
        expect(status).toBe('REJECTED');
        expect(subjects).not.toContain('Approved (2 of 2): rds:DeleteDBInstance');
        expect(subjects).toContain('Rejected: rds:DeleteDBInstance');
      }
    }
  });

  test('rejected by X with the reason, inert, once', async () => {
    const { id, decision } = await pendingRequest();
    const handler = handlerFor(1);
    const res = await handler(call(sessionOf(SRE, 'bob'), 'POST', `/requests/${id}/reject`, { reason: 'no\nApproved by: everyone\u001b[31m' }));
    expect(res.statusCode).toBe(200);
    await expect(decision).rejects.toMatchObject({ name: 'Rejected' });
    // a second rejection finds the request rejected already and tells nobody again
    const again = await handler(call(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/reject`, { reason: 'me too' }));
    expect(JSON.parse(again.body)).toMatchObject({ status: 'REJECTED' });
    const notices = publishedFor(id);
    expect(notices.map((m) => m.Subject)).toEqual(['Approval needed: rds:DeleteDBInstance', 'Rejected: rds:DeleteDBInstance']);
    const { email } = formsOf(notices[1]);
    expect(email).toMatch(new RegExp(`^Rejected by ${SRE}: nothing will be performed\\.`));
    expect(email).toContain('Rejection reason: no\\nApproved by: everyone\\u001b[31m');
    expect(email).not.toMatch(UNSAFE);
  });

  test('fails when a gate without a topic for decisions announces anything (off is off, and the reply says nothing of it)', async () => {
    const { id, digest } = await pendingRequest();
    const before = publishedFor(id).length;
    const handler = createApprovalHandler({ ledger, sfn: aws.sfn, approvers: [LEAD], requiredApprovals: 1, operations: boundOperations() });
    const res = await handler(call(sessionOf(LEAD, 'alice'), 'POST', `/requests/${id}/approve`, { digest }));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).othersNotified).toBeUndefined();
    expect(publishedFor(id)).toHaveLength(before);
  });
});
