/**
 * The local server of the approval page. It listens on 127.0.0.1 only and answers only requests that
 * carry this run's secret token (the page URL's `?token=`, then the `x-console-token` header on every
 * API call), whose Host is this server's own origin (DNS rebinding) and whose Origin, when the browser
 * sends one, is too (CSRF; a POST without an Origin is refused). It calls the approval handler with the
 * approver's own AWS credentials, exactly like `approvals approve|reject`, and tells the page what the
 * handler answered, never more.
 */
import { randomBytes, timingSafeEqual } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { requestIdFromPath, requestIdPath, requestIdProblem } from '../../approval-gate/runtime/approval-binding';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { inertText } from '../../shared/inert-text';
import { approvalPage } from './page';
import { ActionResult, DIGEST, actionResult, displayRequest, unreachable } from './view';

/** The only address the console binds to: nothing is exposed beyond this machine. */
export const CONSOLE_HOST = '127.0.0.1';
/** The largest request body the local server reads (an approval or a rejection reason). */
const MAX_BODY = 16 * 1024;

/** Calls the approval handler (SigV4-signed with the approver's credentials); `callApprovalHandler` in production. */
export type HandlerCall = (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<{ status: number; json: any }>;

export interface ApprovalConsoleOptions {
  /** Calls the approval handler. */
  readonly call: HandlerCall;
  /** The handler URL, shown on the page. */
  readonly handlerUrl: string;
  /** @default 0 (a random free port) */
  readonly port?: number;
  /** Only 127.0.0.1 is accepted. @default 127.0.0.1 */
  readonly host?: string;
  /** The secret token (tests pass none). @default 32 random bytes, base64url */
  readonly token?: string;
}

export interface ApprovalConsole {
  /** The page URL with the token: whoever has it can act as you, so it is printed to you only. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The headers of every answer: nothing may frame, embed, sniff, cache or refer to the console. */
export function securityHeaders(nonce: string): Record<string, string> {
  return {
    'content-security-policy':
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'none'; ` +
      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
}

function usage(message: string, received: string, fix: string): GuardrailsError {
  return new GuardrailsError(GuardrailsErrorKind.USAGE, message, { code: 'Cli.approvals.console.Usage', received, fix });
}

/** Starts the console server; refuses any bind address but 127.0.0.1. */
export async function startApprovalConsole(options: ApprovalConsoleOptions): Promise<ApprovalConsole> {
  const host = options.host ?? CONSOLE_HOST;
  if (host !== CONSOLE_HOST) {
    throw usage(
      `the approval console binds to ${CONSOLE_HOST} only, not ${JSON.stringify(host)}`,
      host,
      [
        'drop the bind address: the page acts with your own AWS credentials and must not be reachable from other machines;',
        "to approve from elsewhere, run the console there with that person's own credentials",
      ].join(' '),
    );
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw usage(`port ${JSON.stringify(port)} is not a TCP port`, String(port), 'pass --port N with 0 <= N <= 65535 (0 picks a free port)');
  }
  const token = options.token ?? randomBytes(32).toString('base64url');
  const expected = Buffer.from(token);
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'the console failed to answer; nothing was done' });
      else res.destroy();
    });
  });
  let origin = '';

  const tokenMatches = (given: string | null | undefined): boolean => {
    const g = Buffer.from(given ?? '');
    return g.length === expected.length && timingSafeEqual(g, expected);
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const refusal = refusalOf(req, origin, tokenMatches);
    if (refusal) return send(res, 403, { error: refusal });
    const path = new URL(req.url ?? '/', origin).pathname;
    if (req.method === 'GET' && path === '/') {
      const nonce = randomBytes(18).toString('base64');
      res.writeHead(200, { ...securityHeaders(nonce), 'content-type': 'text/html; charset=utf-8' });
      res.end(approvalPage(nonce));
      return;
    }
    if (req.method === 'GET' && path === '/api/requests') return send(res, ...(await list()));
    const action = /^\/api\/requests\/([^/]+)\/(approve|reject)$/.exec(path);
    if (req.method === 'POST' && action) {
      const body = await readJson(req);
      if ('error' in body) return send(res, 400, { error: body.error });
      return send(res, ...(await act(action[1], action[2] as 'approve' | 'reject', body.value)));
    }
    return send(res, 404, { error: `no route ${inertText(req.method, 10)} ${inertText(path, 100)}` });
  }

  async function list(): Promise<[number, unknown]> {
    let response: { status: number; json: any };
    try {
      response = await options.call('GET', '/requests');
    } catch (e) {
      return [502, { error: unreachable('', e).detail }];
    }
    if (response.status !== 200 || !Array.isArray(response.json?.requests)) {
      const message = response.json?.error ?? response.json?.message ?? 'no list of requests in the answer';
      return [502, { error: `the approval handler answered ${response.status}: ${inertText(message)}` }];
    }
    const now = new Date();
    return [200, { handler: inertText(options.handlerUrl, 300), requests: response.json.requests.map((r: unknown) => displayRequest(r, now)) }];
  }

  async function act(segment: string, verb: 'approve' | 'reject', body: Record<string, unknown>): Promise<[number, unknown]> {
    // The page sends the id as the path segment it was given (requestIdPath); anything else is refused.
    const requestId = requestIdFromPath(segment);
    const problem = requestId === undefined ? 'not an encoded request id' : requestIdProblem(requestId);
    if (requestId === undefined || problem) return [400, { error: `request id ${inertText(segment, 100)} is not valid: ${problem}` }];
    let payload: Record<string, string>;
    if (verb === 'approve') {
      if (typeof body.digest !== 'string' || !DIGEST.test(body.digest)) {
        return [400, { error: `an approval needs the 64-hex-digit digest shown on the page, got ${inertText(body.digest, 100)}` }];
      }
      payload = { digest: body.digest };
    } else {
      if (typeof body.reason !== 'string' || !body.reason.trim()) return [400, { error: 'a rejection needs a reason: write why you reject' }];
      payload = { reason: body.reason };
    }
    let result: ActionResult;
    try {
      result = actionResult(verb, requestId, await options.call('POST', `/requests/${requestIdPath(requestId)}/${verb}`, payload));
    } catch (e) {
      result = unreachable(requestId, e);
    }
    return [200, { result }];
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(usage(`cannot listen on ${host}:${port}: ${e.code ?? e.message}`, String(port), 'pass another --port, or leave it out for a free one')),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  origin = `http://${host}:${bound}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Why a request is refused, or undefined: Host must be this origin's (a rebound DNS name is refused),
 * Origin, when sent, must be this origin (and a POST must send one), a cross-site fetch is refused,
 * and the token must match: in the query for the page, in the x-console-token header for the API.
 */
export function refusalOf(
  req: http.IncomingMessage,
  origin: string,
  tokenMatches: (given: string | null | undefined) => boolean,
): string | undefined {
  const host = req.headers.host;
  if (`http://${host}` !== origin) return `refused: Host ${inertText(host ?? '(none)', 100)} is not ${origin.slice('http://'.length)}`;
  const from = req.headers.origin;
  if (from !== undefined && from !== origin) return `refused: Origin ${inertText(from, 100)} is not ${origin}`;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `refused: a ${inertText(site, 30)} request`;
  if (req.method !== 'GET' && req.method !== 'POST') return `refused: method ${inertText(req.method, 10)}`;
  if (req.method === 'POST') {
    if (from === undefined) return 'refused: a POST without an Origin header';
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return 'refused: a POST must be application/json';
  }
  const url = new URL(req.url ?? '/', origin);
  const given = url.pathname === '/' ? url.searchParams.get('token') : req.headers['x-console-token'];
  if (!tokenMatches(typeof given === 'string' ? given : undefined))
    return 'refused: missing or wrong console token; open the URL the console printed';
  return undefined;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...securityHeaders(randomBytes(18).toString('base64')), 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

async function readJson(req: http.IncomingMessage): Promise<{ value: Record<string, unknown> } | { error: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return { error: `the body is larger than ${MAX_BODY} bytes` };
    chunks.push(chunk as Buffer);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'the body must be a JSON object' };
    return { value };
  } catch {
    return { error: 'the body is not JSON' };
  }
}
