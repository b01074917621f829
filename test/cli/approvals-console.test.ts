/**
 * `approvals console`: the approval page in headless Chromium (Debian's chromium, driven by
 * playwright-core) against the real approval handler behind a SigV4-verifying local function URL
 * (test/cli/console-harness.ts), and the local server's refusals without a browser. The console is
 * started through its real argument parsing (`serveConsole`, the body of `run`) and signs with the
 * approver's credentials from the default AWS provider chain, as the CLI does.
 */
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { Browser, BrowserContext, Page, chromium } from 'playwright-core';
import { run, serveConsole } from '../../lib/cli/approvals-console';
import { requestIdPath } from '../../lib/approval-gate/runtime/approval-binding';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { canonicalRequest, requestDigest } from '../../lib/approval-gate/runtime/approval-digest';
import { PROD_DB, sessionOf } from '../approval-gate/gate-fixture';
import { AGENT, ConsoleHarness, LEAD, SECOND, actAs, startConsoleHarness } from './console-harness';

const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');

let harness: ConsoleHarness;
let browser: Browser;

beforeAll(async () => {
  harness = await startConsoleHarness('console-ledger');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
  });
});
afterAll(async () => {
  await browser?.close();
  await harness?.close();
});

interface RunningConsole {
  readonly url: string;
  readonly origin: string;
  readonly token: string;
  readonly out: string[];
  readonly err: string[];
  stop(): Promise<number>;
}

/** Starts `approvals console` with these arguments (plus --url and --region); stops when asked. */
async function startConsole(...args: string[]): Promise<RunningConsole> {
  const out: string[] = [];
  const err: string[] = [];
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
  const exit = serveConsole(['--url', harness.url, '--region', 'us-east-1', ...args], io, () => stopped);
  const url = await waitForUrl(out, exit);
  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    token: parsed.searchParams.get('token') ?? '',
    out,
    err,
    stop: async () => {
      stop();
      return exit;
    },
  };
}

async function waitForUrl(out: string[], exit: Promise<number>): Promise<string> {
  let done = false;
  void exit.finally(() => (done = true));
  while (!out.length) {
    if (done) throw new Error(`the console exited before printing its URL: ${await exit}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return out[0];
}

/** A raw HTTP request, with full control of Host and Origin (what a browser on another site or a rebound DNS name sends). */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request(
      { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

interface OpenPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Dialogs opened and page errors thrown: an injected script would show here. */
  readonly alarms: string[];
}

async function openPage(console: RunningConsole): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const alarms: string[] = [];
  page.on('dialog', (d) => {
    alarms.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => alarms.push(`pageerror: ${e.message}`));
  await page.goto(console.url);
  await page.waitForSelector('#requests[data-state="loaded"]');
  return { page, context, alarms };
}

const card = (page: Page, id: string) => page.locator(`article.request[data-request-id="${id}"]`);
const field = (page: Page, id: string, name: string) => card(page, id).locator(`dd.${name}`).textContent();
/** Keeps a screenshot as a test artifact (test-artifacts/approval-console-NAME.png). */
async function screenshot(page: Page, name: string): Promise<void> {
  const file = path.join(ARTIFACTS, `approval-console-${name}.png`);
  fs.rmSync(file, { force: true });
  await page.screenshot({ path: file, fullPage: true });
  expect(fs.statSync(file).size).toBeGreaterThan(10_000);
}

async function resultOf(page: Page): Promise<{ kind: string; text: string }> {
  const box = page.locator('#result[data-kind]');
  await box.waitFor();
  return { kind: (await box.getAttribute('data-kind')) ?? '', text: (await box.textContent()) ?? '' };
}

describe('the approval page in headless Chromium', () => {
  test('an approver sees the exact request and approves it: the decision reaches the workflow bound to the digest shown', async () => {
    // GIVEN a pending request and the console running with the security lead's credentials
    const { id, digest, decision } = await harness.pendingRequest();
    actAs('AKIALEAD');
    const console = await startConsole();
    const { page, context, alarms } = await openPage(console);
    try {
      // THEN the page shows what is asked, field by field
      await expect(field(page, id, 'operation')).resolves.toBe('rds:DeleteDBInstance');
      await expect(field(page, id, 'resource')).resolves.toBe(PROD_DB);
      await expect(field(page, id, 'target')).resolves.toContain(`${PROD_DB}  ✓ derived from the parameters`);
      await expect(field(page, id, 'parameters')).resolves.toBe(
        JSON.stringify({ DBInstanceIdentifier: 'orders', FinalDBSnapshotIdentifier: 'orders-final' }, null, 2),
      );
      await expect(field(page, id, 'reason')).resolves.toBe('replace orders');
      await expect(field(page, id, 'source-identity')).resolves.toBe('ops-assistant-1  (as stated by the requester)');
      // the requester list is called what it is: the roles granted, not a verified session (review HIGH-1)
      await expect(field(page, id, 'requesters')).resolves.toBe(
        `${sessionOf(AGENT, 'ops-assistant-1')}  (the roles granted to request on this gate; the starting session is not verified)`,
      );
      await expect(field(page, id, 'approvals')).resolves.toBe('0 of 1');
      await expect(field(page, id, 'digest')).resolves.toBe(digest);
      // and the token is gone from the address bar
      expect(page.url()).toBe(`${console.origin}/`);
      await screenshot(page, 'pending');

      // WHEN the lead approves
      await card(page, id).locator('button.approve').click();

      // THEN the page tells what the handler answered, and the workflow received an approval bound to that digest
      const result = await resultOf(page);
      expect(result.kind).toBe('decided');
      expect(result.text).toContain(`Approved: request ${id} is APPROVED`);
      expect(result.text).toContain('the decision was delivered to the workflow');
      await expect(decision).resolves.toMatchObject({ decision: 'APPROVED', digest, approvers: [LEAD] });
      expect(harness.seen.at(-1)).toEqual({ status: 200, authenticated: sessionOf(LEAD, 'alice') });
      // and the decided request is no longer offered
      await page.waitForFunction((rid) => !document.querySelector(`article[data-request-id="${rid}"]`), id);
      await screenshot(page, 'approved');
      expect(alarms).toEqual([]);
    } finally {
      await context.close();
      await expect(console.stop()).resolves.toBe(0);
    }
  });

  test('fails when the request changed after the page showed it: the approval carries the digest shown, and the handler refuses it', async () => {
    const { id, digest } = await harness.pendingRequest();
    actAs('AKIALEAD');
    const console = await startConsole();
    const { page, context } = await openPage(console);
    try {
      await expect(field(page, id, 'digest')).resolves.toBe(digest);
      // GIVEN the recorded request now says something else than what the page shows (another snapshot name)
      const changed = canonicalRequest('rds:DeleteDBInstance', PROD_DB, { DBInstanceIdentifier: 'orders', SkipFinalSnapshot: true });
      await harness.aws.dynamodb.send(
        new UpdateItemCommand({
          TableName: 'console-ledger',
          Key: { requestId: { S: id }, record: { S: 'REQUEST' } },
          UpdateExpression: 'SET canonical = :c, digest = :d',
          ExpressionAttributeValues: { ':c': { S: changed }, ':d': { S: requestDigest(changed) } },
        }),
      );
      // WHEN the approver approves what the page shows
      await card(page, id).locator('button.approve').click();
      // THEN the handler refuses the stale digest and the page says "not done"; nothing counted
      const result = await resultOf(page);
      expect(result.kind).toBe('not-done');
      expect(result.text).toContain(`digest mismatch: you approved \"${digest}\"`);
      await expect(harness.ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING', approvals: [] });
    } finally {
      await context.close();
      await console.stop();
    }
  });

  test('an approver rejects with a reason; fails when the reason is missing (nothing is sent)', async () => {
    const { id, decision } = await harness.pendingRequest();
    actAs('AKIALEAD');
    const console = await startConsole();
    const { page, context } = await openPage(console);
    try {
      // WHEN rejecting without a reason
      const calls = harness.seen.length;
      await card(page, id).locator('button.reject').click();
      // THEN nothing reaches the handler and the page says a reason is needed
      const missing = await resultOf(page);
      expect(missing).toMatchObject({ kind: 'not-done' });
      expect(missing.text).toContain('a rejection needs a reason');
      expect(harness.seen.length).toBe(calls);

      // WHEN rejecting with a reason
      await card(page, id).locator('textarea.reject-reason').fill('take a final snapshot first');
      await card(page, id).locator('button.reject').click();
      await page.waitForSelector('#result[data-kind="decided"]');
      // THEN the workflow's wait fails as rejected and the ledger keeps the reason and who rejected
      await expect(resultOf(page)).resolves.toMatchObject({ kind: 'decided', text: expect.stringContaining(`Rejected: request ${id} is REJECTED`) });
      await expect(decision).rejects.toMatchObject({ name: 'Rejected' });
      await expect(harness.ledger.getRequest(id)).resolves.toMatchObject({
        status: 'REJECTED',
        rejectReason: 'take a final snapshot first',
        decidedBy: expect.stringContaining('security-lead'),
      });
      await screenshot(page, 'rejected');
    } finally {
      await context.close();
      await console.stop();
    }
  });

  test('a quorum of two: the first approver sees "1 of 2, waiting", the second completes it', async () => {
    const { id, digest, decision } = await harness.pendingRequest({ requiredApprovals: 2 });
    let settled = false;
    void decision.then(
      () => (settled = true),
      () => (settled = true),
    );

    // WHEN the first approver approves with their own credentials
    actAs('AKIALEAD');
    const first = await startConsole();
    const one = await openPage(first);
    try {
      await expect(field(one.page, id, 'approvals')).resolves.toBe('0 of 2');
      await card(one.page, id).locator('button.approve').click();
      // THEN the page says the approval is recorded and more are needed, and nothing was delivered
      const result = await resultOf(one.page);
      expect(result).toMatchObject({ kind: 'waiting', text: expect.stringContaining('Approval recorded: 1 of 2, waiting for more approvers') });
      await one.page.waitForFunction((rid) => {
        const dd = document.querySelector(`article[data-request-id="${rid}"] dd.approvals`);
        return dd?.textContent?.startsWith('1 of 2');
      }, id);
      await screenshot(one.page, 'quorum-waiting');
      expect(settled).toBe(false);
    } finally {
      await one.context.close();
      await first.stop();
    }

    // WHEN the second approver opens the page with their own credentials
    actAs('AKIASECOND');
    const second = await startConsole();
    const two = await openPage(second);
    try {
      // THEN they see who approved so far
      await expect(field(two.page, id, 'approvals')).resolves.toBe('1 of 2 (by arn:aws:iam::123456789012:role/security-lead)');
      await card(two.page, id).locator('button.approve').click();
      // THEN the quorum is reached and delivered, with both approvers
      await expect(resultOf(two.page)).resolves.toMatchObject({ kind: 'decided', text: expect.stringContaining('is APPROVED') });
      await expect(decision).resolves.toMatchObject({ decision: 'APPROVED', digest, approvers: [LEAD, SECOND] });
      expect(harness.seen.at(-1)).toEqual({ status: 200, authenticated: sessionOf(SECOND, 'bob') });
      await screenshot(two.page, 'quorum-complete');
    } finally {
      await two.context.close();
      await second.stop();
    }
  });

  test('fails closed after the timeout: an approval of a request the workflow no longer waits for is "not done"', async () => {
    // GIVEN a pending request whose workflow timed out (Step Functions now answers TaskTimedOut for its token)
    const { id } = await harness.pendingRequest();
    actAs('AKIALEAD');
    const console = await startConsole();
    const { page, context } = await openPage(console);
    try {
      harness.aws.waiters.delete(`token-${id}`);
      // WHEN the approver approves
      await card(page, id).locator('button.approve').click();
      // THEN the page says "not done" with the handler's own message, and the request is no longer offered
      const result = await resultOf(page);
      expect(result.kind).toBe('not-done');
      expect(result.text).toContain('Not done: the handler answered 502');
      expect(result.text).toContain('closed as UNDELIVERABLE and nothing will be performed');
      await page.waitForFunction((rid) => !document.querySelector(`article[data-request-id="${rid}"]`), id);
      await expect(harness.ledger.getRequest(id)).resolves.toMatchObject({ outcome: 'UNDELIVERABLE' });
      await screenshot(page, 'timed-out');
    } finally {
      await context.close();
      await console.stop();
    }
  });

  test('fails closed when the answer is lost after the handler applied the approval: "not confirmed", never "done"', async () => {
    // GIVEN the handler applies the approval but its answer never reaches the console
    const { id, digest, decision } = await harness.pendingRequest();
    actAs('AKIALEAD');
    const console = await startConsole();
    const { page, context } = await openPage(console);
    try {
      harness.dropAnswers(1);
      await card(page, id).locator('button.approve').click();
      // THEN the page does not claim success, says it may have counted, and names how to find out
      const result = await resultOf(page);
      expect(result.kind).toBe('not-done');
      expect(result.text).toContain('Not confirmed: no answer from the approval handler');
      expect(result.text).toContain(`It may have counted or not: \`approvals show ${id}\` tells`);
      // and indeed it counted, once: the workflow got the approval and the request left the pending list
      await expect(decision).resolves.toMatchObject({ decision: 'APPROVED', digest, approvers: [LEAD] });
      await page.waitForFunction((rid) => !document.querySelector(`article[data-request-id="${rid}"]`), id);
      await screenshot(page, 'answer-lost');
    } finally {
      harness.dropAnswers(0);
      await context.close();
      await console.stop();
    }
  });

  test('a credentials-mode request says what approving hands out, and its time left comes from the gate timeout (review HIGH-2)', async () => {
    // GIVEN a handler told that the operation is handed out as credentials, with a 1-hour decision timeout
    harness.useTerms({
      timeoutSeconds: 3600,
      credentialsSeconds: 1800,
      collectWithinSeconds: 600,
      credentials: [{ operation: 'rds:DeleteDBInstance', actions: ['rds:DeleteDBInstance'] }],
    });
    const { id } = await harness.pendingRequest();
    actAs('AKIALEAD');
    const console = await startConsole();
    const { page, context } = await openPage(console);
    try {
      // THEN the card says the agent receives a session whose parameters are not enforced
      await expect(field(page, id, 'execution')).resolves.toBe(
        `credentials mode: the agent receives a session allowed rds:DeleteDBInstance on ${PROD_DB} for 30 minutes; ` +
          'the parameters are its stated intent and are not enforced',
      );
      // AND the time left is the handler's expiresAt (requested + the gate's timeout)
      await expect(field(page, id, 'time-left')).resolves.toMatch(/^59 min \d+ s left \(until /);
      await screenshot(page, 'credentials-mode');
    } finally {
      harness.useTerms(undefined);
      await context.close();
      await console.stop();
    }
  });

  test('a request past the expiry the handler reports is shown as expired and cannot be acted on', async () => {
    // GIVEN one request whose reported expiry has passed and one with time left
    const expired = await harness.pendingRequest({ extra: { expiresAt: new Date(Date.now() - 60_000).toISOString() } });
    const open = await harness.pendingRequest({ extra: { expiresAt: new Date(Date.now() + 3_600_000).toISOString() } });
    actAs('AKIALEAD');
    const console = await startConsole();
    const { page, context } = await openPage(console);
    try {
      // THEN the expired one says so and offers no action; the other shows its time left
      await expect(card(page, expired.id).getAttribute('data-actionable')).resolves.toBe('false');
      await expect(card(page, expired.id).locator('.blocked-why').textContent()).resolves.toMatch(/^Not actionable: expired at /);
      await expect(card(page, expired.id).locator('button.approve').isDisabled()).resolves.toBe(true);
      await expect(card(page, expired.id).locator('button.reject').isDisabled()).resolves.toBe(true);
      await expect(field(page, open.id, 'time-left')).resolves.toMatch(/^59 min \d+ s left \(until /);
      await expect(card(page, open.id).locator('button.approve').isDisabled()).resolves.toBe(false);
      await screenshot(page, 'expired');
    } finally {
      await context.close();
      await console.stop();
    }
  });

  test('a request whose parameters act on another resource is shown with the difference marked, and approval is not offered', async () => {
    // GIVEN a request naming the production database whose parameters name another one (the workflow refuses such requests)
    const { id } = await harness.pendingRequest({ parameters: { DBInstanceIdentifier: 'orders-old' }, waiting: false });
    actAs('AKIALEAD');
    const console = await startConsole();
    const { page, context } = await openPage(console);
    try {
      await expect(field(page, id, 'target')).resolves.toContain('the parameters act on');
      await expect(card(page, id).locator('dd.resource mark').allTextContents()).resolves.toEqual([':orders']);
      await expect(card(page, id).locator('dd.target mark').allTextContents()).resolves.toEqual([':orders-old']);
      await expect(card(page, id).locator('button.approve').isDisabled()).resolves.toBe(true);
      await expect(card(page, id).locator('button.reject').isDisabled()).resolves.toBe(false);
      await screenshot(page, 'binding-mismatch');
    } finally {
      await context.close();
      await console.stop();
    }
  });

  test('hostile agent text is shown inert: no script runs, no element is injected, no field is forged', async () => {
    // GIVEN a request whose reason, source identity and parameters carry markup, forged field lines, bidi and control characters
    const forgedDigest = '0'.repeat(64);
    const reason =
      '<img src=x onerror="window.__pwned=1;alert(1)"></script><script>window.__pwned=2</script>' +
      `\nDigest: ${forgedDigest}\r\nApprovals so far: 2 of 1` +
      '\u202egnirts desrever\u202c \u2066isolated\u2069 zero\u200bwidth \u001b[31mred\u001b[0m bell\u0007 \u2028sep' +
      'A'.repeat(10_000);
    const { id, digest } = await harness.pendingRequest({
      reason,
      sourceIdentity: 'ops\nRequested at: yesterday\u202e',
      parameters: { DBInstanceIdentifier: 'orders', FinalDBSnapshotIdentifier: '<img src=x onerror=alert(2)>\u2028</pre><b>x</b>\u202e' },
    });
    actAs('AKIALEAD');
    const console = await startConsole();
    const { page, context, alarms } = await openPage(console);
    try {
      // THEN no script ran
      await expect(page.evaluate(() => (window as any).__pwned)).resolves.toBeUndefined();
      expect(alarms).toEqual([]);
      // and nothing was injected into the DOM: no image, no bold, one script (the page's own)
      await expect(page.locator('img, b, iframe, object, embed').count()).resolves.toBe(0);
      await expect(page.locator('script').count()).resolves.toBe(1);
      // and the reason is one inert line: markup as text, line breaks and invisible characters as visible escapes, cut with a marker
      const shown = (await field(page, id, 'reason')) ?? '';
      expect(shown).toContain('<img src=x onerror="window.__pwned=1;alert(1)"></script><script>');
      expect(shown).toContain(`\\nDigest: ${forgedDigest}\\r\\nApprovals so far: 2 of 1`);
      expect(shown).toContain(
        '\\u202egnirts desrever\\u202c \\u2066isolated\\u2069 zero\\u200bwidth \\u001b[31mred\\u001b[0m bell\\u0007 \\u2028sep',
      );
      expect(shown).toMatch(/… \(\d+ more characters\)$/);
      expect(shown.length).toBeLessThan(1200);
      await expect(field(page, id, 'source-identity')).resolves.toBe('ops\\nRequested at: yesterday\\u202e  (as stated by the requester)');
      await expect(field(page, id, 'parameters')).resolves.toContain(
        '"FinalDBSnapshotIdentifier": "<img src=x onerror=alert(2)>\\u2028</pre><b>x</b>\\u202e"',
      );
      // and no raw control, bidi or separator character reaches the rendered text anywhere
      const text = await page.evaluate(() => document.body.innerText);
      expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/);
      // and the only Digest field is the request's real digest
      await expect(
        card(page, id)
          .locator('dt', { hasText: /^Digest$/ })
          .count(),
      ).resolves.toBe(1);
      await expect(field(page, id, 'digest')).resolves.toBe(digest);
      await screenshot(page, 'hostile-text');
    } finally {
      await context.close();
      await console.stop();
    }
  });

  test('a request whose id is an execution name outside [A-Za-z0-9_-] is shown inert and approved through its encoded path', async () => {
    // GIVEN a request id Step Functions accepts as an execution name: dots, quotes, parentheses, non-ASCII and a bidi override
    const exotic = "failover.orders'(2)@\u00fc\u202e!";
    const { id, digest, decision } = await harness.pendingRequest({ id: exotic });
    actAs('AKIALEAD');
    const console = await startConsole();
    const { page, context, alarms } = await openPage(console);
    try {
      const path = requestIdPath(id);
      expect(path).toMatch(/^~[A-Za-z0-9_-]+$/);
      await expect(field(page, path, 'request-id')).resolves.toBe("failover.orders'(2)@\u00fc\\u202e!");
      // WHEN the lead approves
      await card(page, path).locator('button.approve').click();
      // THEN the handler received the approval for exactly that request
      await expect(resultOf(page)).resolves.toMatchObject({ kind: 'decided' });
      await expect(decision).resolves.toMatchObject({ decision: 'APPROVED', digest });
      await expect(harness.ledger.getRequest(exotic)).resolves.toMatchObject({ status: 'APPROVED' });
      expect(alarms).toEqual([]);
    } finally {
      await context.close();
      await console.stop();
    }
  });

  test('fails when the page is opened without the token, or driven from another origin that knows the token', async () => {
    const { id, digest } = await harness.pendingRequest();
    actAs('AKIALEAD');
    const console = await startConsole();
    // GIVEN a page of another local site (another port is another origin) that holds the console's token
    const foreign = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>elsewhere</title><p>elsewhere</p>');
    });
    await new Promise<void>((r) => foreign.listen(0, '127.0.0.1', () => r()));
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      // WHEN the console is opened without its token
      const bare = await page.goto(`${console.origin}/`);
      // THEN it is refused
      expect(bare?.status()).toBe(403);
      const wrong = await page.goto(`${console.origin}/?token=not-the-token`);
      expect(wrong?.status()).toBe(403);

      // WHEN the foreign page tries to approve, with and without CORS
      await page.goto(`http://127.0.0.1:${(foreign.address() as AddressInfo).port}/`);
      const calls = harness.seen.length;
      const outcomes = await page.evaluate(
        async ({ origin, token, rid, d }) => {
          const target = `${origin}/api/requests/${rid}/approve`;
          const tries = [
            fetch(target, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-console-token': token },
              body: JSON.stringify({ digest: d }),
            }),
            fetch(target, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ digest: d }) }),
            fetch(`${origin}/api/requests`, { headers: { 'x-console-token': token } }),
          ];
          return Promise.all(tries.map((t) => t.then((r) => `answered ${r.type} ${r.status}`).catch((e) => `failed: ${e}`)));
        },
        { origin: console.origin, token: console.token, rid: id, d: digest },
      );
      // THEN the browser got nothing readable and the handler was never called
      // (the no-cors attempt too: the console's Cross-Origin-Resource-Policy withholds even an opaque answer)
      expect(outcomes).toEqual([expect.stringMatching(/^failed/), expect.stringMatching(/^failed/), expect.stringMatching(/^failed/)]);
      expect(harness.seen.length).toBe(calls);
      await expect(harness.ledger.getRequest(id)).resolves.toMatchObject({ status: 'PENDING', approvals: [] });
    } finally {
      await context.close();
      await new Promise((r) => foreign.close(r));
      await console.stop();
    }
  });
});

describe('the console server without a browser', () => {
  let console: RunningConsole;
  let pendingId: string;
  let pendingDigest: string;
  beforeAll(async () => {
    const pending = await harness.pendingRequest();
    pendingId = pending.id;
    pendingDigest = pending.digest;
    actAs('AKIALEAD');
    console = await startConsole();
  });
  afterAll(async () => {
    await console.stop();
  });

  test('serves on 127.0.0.1 with a random port and a per-run token, with a strict CSP and no framing', async () => {
    expect(console.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
    expect(console.err.join('\n')).toContain('only this machine');
    const page = await raw(console.url);
    expect(page.status).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(csp).toMatch(/^default-src 'none'; script-src 'nonce-[^']+'; style-src 'nonce-[^']+'; connect-src 'self'; img-src 'none';/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    // every script and style carries this response's nonce, and no data is in the HTML
    expect(page.body.match(/<script[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
    expect(page.body).not.toContain(pendingId);
    // a second run has another token
    const other = await startConsole();
    try {
      expect(other.token).not.toBe(console.token);
      await expect(raw(`${other.origin}/?token=${console.token}`)).resolves.toMatchObject({ status: 403 });
    } finally {
      await other.stop();
    }
  });

  test.each([
    ['no token on the page', '/', {}],
    ['a wrong token on the page', '/?token=AAAA', {}],
    ['no token on the API', '/api/requests', {}],
    ['the token in the query of the API instead of the header', '/api/requests?token=TOKEN', {}],
    ['a foreign Host (DNS rebinding)', '/api/requests', { 'host': 'attacker.example:PORT', 'x-console-token': 'TOKEN' }],
    ['Host localhost instead of the origin', '/api/requests', { 'host': 'localhost:PORT', 'x-console-token': 'TOKEN' }],
    ['a foreign Origin', '/api/requests', { 'origin': 'http://attacker.example', 'x-console-token': 'TOKEN' }],
    ['a cross-site fetch', '/api/requests', { 'sec-fetch-site': 'cross-site', 'x-console-token': 'TOKEN' }],
  ])('fails with 403 for %s, and never calls the handler', async (_what, path, headers: Record<string, string>) => {
    const port = String(new URL(console.origin).port);
    const fill = (v: string) => v.replace('TOKEN', console.token).replace('PORT', port);
    const calls = harness.seen.length;
    const answer = await raw(`${console.origin}${fill(path)}`, {
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, fill(v)])),
    });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).error).toMatch(/^refused: /);
    expect(answer.headers['x-frame-options']).toBe('DENY');
    expect(harness.seen.length).toBe(calls);
  });

  test.each([
    ['a foreign Origin', { 'origin': 'http://attacker.example', 'content-type': 'application/json' }, 403],
    ['no Origin', { 'content-type': 'application/json' }, 403],
    ['a form content type', { 'origin': 'ORIGIN', 'content-type': 'application/x-www-form-urlencoded' }, 403],
  ])('fails when an approval comes with %s: refused, not forwarded, nothing recorded', async (_what, headers: Record<string, string>, status) => {
    const calls = harness.seen.length;
    const answer = await raw(`${console.origin}/api/requests/${pendingId}/approve`, {
      method: 'POST',
      headers: {
        ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace('ORIGIN', console.origin)])),
        'x-console-token': console.token,
      },
      body: JSON.stringify({ digest: pendingDigest }),
    });
    expect(answer.status).toBe(status);
    expect(harness.seen.length).toBe(calls);
    await expect(harness.ledger.getRequest(pendingId)).resolves.toMatchObject({ status: 'PENDING', approvals: [] });
  });

  test.each([
    ['a digest that is not 64 hex digits', 'approve', { digest: 'abc' }, /64-hex-digit digest/, ''],
    ['a rejection without a reason', 'reject', { reason: '  ' }, /needs a reason/, ''],
    ['a request id the handler cannot route', 'approve', { digest: '0'.repeat(64) }, /not valid/, 'x.y'],
  ])('fails with 400 for %s, before anything is sent', async (_what, verb, body, message, id: string) => {
    const calls = harness.seen.length;
    const answer = await raw(`${console.origin}/api/requests/${id || pendingId}/${verb}`, {
      method: 'POST',
      headers: { 'origin': console.origin, 'content-type': 'application/json', 'x-console-token': console.token },
      body: JSON.stringify(body),
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error).toMatch(message);
    expect(harness.seen.length).toBe(calls);
  });

  test('fails when OPTIONS (a CORS preflight) is sent: no CORS headers, 403', async () => {
    const answer = await raw(`${console.origin}/api/requests`, {
      method: 'OPTIONS',
      headers: { 'origin': console.origin, 'access-control-request-method': 'POST', 'x-console-token': console.token },
    });
    expect(answer.status).toBe(403);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('fails closed when the handler refuses the approver: the API answers "not done" with the handler\'s message', async () => {
    // GIVEN the console signing with the agent's own credentials
    actAs('AKIAAGENT');
    try {
      const answer = await raw(`${console.origin}/api/requests/${pendingId}/approve`, {
        method: 'POST',
        headers: { 'origin': console.origin, 'content-type': 'application/json', 'x-console-token': console.token },
        body: JSON.stringify({ digest: pendingDigest }),
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).result).toMatchObject({
        kind: 'not-done',
        status: 403,
        headline: 'Not done: the handler answered 403',
        detail: expect.stringContaining('is not an approver of this gate'),
      });
      await expect(harness.ledger.getRequest(pendingId)).resolves.toMatchObject({ status: 'PENDING', approvals: [] });
    } finally {
      actAs('AKIALEAD');
    }
  });

  test('fails closed when the handler cannot be reached: "not done", and the list is an error, not an empty list', async () => {
    const gone = http.createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', () => r()));
    const deadUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}/`;
    await new Promise((r) => gone.close(r));
    const out: string[] = [];
    let stop!: () => void;
    const exit = serveConsole(
      ['--url', deadUrl, '--region', 'us-east-1'],
      { out: (l) => out.push(l), err: () => undefined },
      () => new Promise<void>((r) => (stop = r)),
    );
    const url = new URL(await waitForUrl(out, exit));
    const token = url.searchParams.get('token')!;
    try {
      const list = await raw(`${url.origin}/api/requests`, { headers: { 'x-console-token': token } });
      expect(list.status).toBe(502);
      const approve = await raw(`${url.origin}/api/requests/${pendingId}/approve`, {
        method: 'POST',
        headers: { 'origin': url.origin, 'content-type': 'application/json', 'x-console-token': token },
        body: JSON.stringify({ digest: pendingDigest }),
      });
      expect(JSON.parse(approve.body).result).toMatchObject({ kind: 'not-done', status: 0 });
    } finally {
      stop();
      await exit;
    }
  });

  test.each([
    [['--host', '0.0.0.0'], /binds to 127\.0\.0\.1 only, not "0\.0\.0\.0"/],
    [['--host', '::'], /binds to 127\.0\.0\.1 only/],
    [['--port', '70000'], /--port "70000" is not a TCP port/],
    [['--port', 'http'], /--port "http" is not a TCP port/],
    [['--url', 'http://abc.lambda-url.us-east-1.on.aws/'], /refusing to send signed requests over http:/],
    [['--url', 'not a url'], /is not a URL/],
    [['--digest', 'x'], /unknown option "--digest"/],
  ])('fails with a usage error for %j, before serving anything', async (args, message) => {
    const out: string[] = [];
    const attempt = serveConsole(
      ['--url', harness.url, '--region', 'us-east-1', ...args],
      { out: (l) => out.push(l), err: () => undefined },
      async () => {
        throw new Error('served although the arguments are wrong');
      },
    );
    await expect(attempt).rejects.toMatchObject({ name: 'GuardrailsError', kind: 'Usage', message: expect.stringMatching(message) });
    expect(out).toEqual([]);
  });

  test('fails with a usage error when the port is taken, naming the fix', async () => {
    const port = new URL(console.origin).port;
    const attempt = serveConsole(
      ['--url', harness.url, '--region', 'us-east-1', '--port', port],
      { out: () => undefined, err: () => undefined },
      async () => {
        throw new Error('served on a taken port');
      },
    );
    await expect(attempt).rejects.toMatchObject({
      kind: 'Usage',
      message: expect.stringContaining('EADDRINUSE'),
      fix: expect.stringContaining('--port'),
    });
  });

  test('--help prints the usage and serves nothing', async () => {
    const out: string[] = [];
    const code = await serveConsole(['--help'], { out: (l) => out.push(l), err: () => undefined }, async () => {
      throw new Error('served for --help');
    });
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/^usage: cdk-agent-guardrails approvals console --url FUNCTION_URL/);
  });

  test('fails with a usage error naming the fix when no --url is given', async () => {
    const saved = process.env.CDK_AGENT_GUARDRAILS_APPROVAL_URL;
    delete process.env.CDK_AGENT_GUARDRAILS_APPROVAL_URL;
    try {
      await expect(run([], { out: () => undefined, err: () => undefined })).rejects.toMatchObject({
        kind: 'Usage',
        fix: expect.stringContaining('--url FUNCTION_URL'),
      });
    } finally {
      if (saved !== undefined) process.env.CDK_AGENT_GUARDRAILS_APPROVAL_URL = saved;
    }
  });
});
