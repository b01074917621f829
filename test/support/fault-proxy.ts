/**
 * A fault-injecting HTTP proxy on 127.0.0.1, put between a real AWS SDK client and a local server
 * (dynalite, the local Step Functions, IAM or SNS endpoint). The SDK keeps its default retries:
 * the proxy makes the faults AWS really produces, and the SDK meets them as it would in AWS.
 *
 * Faults, chosen per request by a rule that sees the operation:
 * - `throttle`: 400 ThrottlingException (or ProvisionedThroughputExceededException), not forwarded;
 * - `5xx`: 500 InternalServerError (or 503), not forwarded;
 * - `drop-response`: forwarded and applied by the server, then the connection is cut before the
 *   answer reaches the client (the lost answer to an applied write);
 * - `outage`: the connection is cut without forwarding (the service is unreachable);
 * - `hang`: the answer is held for `ms` then forwarded (with a client timeout, a hang);
 * - `latency`: like hang, meant as ordinary delay.
 */
import { AddressInfo } from 'net';
import * as http from 'http';

export type Fault =
  | { readonly kind: 'throttle'; readonly code?: string }
  | { readonly kind: '5xx'; readonly status?: number }
  | { readonly kind: 'drop-response' }
  | { readonly kind: 'outage' }
  | { readonly kind: 'hang' | 'latency'; readonly ms: number };

export interface ProxiedRequest {
  /** `DynamoDB_20120810.UpdateItem`, `AWSStepFunctions.SendTaskSuccess`, or the query `Action` (IAM, SNS). */
  readonly operation: string;
  readonly body: string;
  /** 1 for the first request this proxy sees for the operation, 2 for the next, ... */
  readonly nth: number;
}

export type FaultRule = (request: ProxiedRequest) => Fault | undefined;

export interface FaultProxy {
  readonly endpoint: string;
  /** What was injected, in order, for assertions and for the closing notes of a test. */
  readonly injected: Array<{ operation: string; fault: Fault['kind'] }>;
  /** Every request forwarded (or not), with its operation. */
  readonly seen: string[];
  rule: FaultRule | undefined;
  close(): Promise<void>;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function operationOf(req: http.IncomingMessage, body: string): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target;
  return new URLSearchParams(body).get('Action') ?? 'unknown';
}

/** The error body in the protocol the client speaks: awsJson for targets, query XML otherwise. */
function errorBody(json: boolean, code: string, message: string): { type: string; body: string } {
  if (json) return { type: 'application/x-amz-json-1.0', body: JSON.stringify({ __type: `com.amazonaws.fault#${code}`, message }) };
  return {
    type: 'text/xml',
    body:
      `<ErrorResponse><Error><Type>${code.startsWith('Internal') ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code>` +
      `<Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
  };
}

export async function startFaultProxy(target: string, rule?: FaultRule): Promise<FaultProxy> {
  const counts = new Map<string, number>();
  const injected: FaultProxy['injected'] = [];
  const seen: string[] = [];
  const upstream = new URL(target);
  const sockets = new Set<import('net').Socket>();
  const server = http.createServer(async (req, res) => {
    const raw = await readBody(req);
    const body = raw.toString('utf8');
    const operation = operationOf(req, body);
    const nth = (counts.get(operation) ?? 0) + 1;
    counts.set(operation, nth);
    seen.push(operation);
    const fault = proxy.rule?.({ operation, body, nth });
    if (fault) injected.push({ operation, fault: fault.kind });
    const json = typeof req.headers['x-amz-target'] === 'string';
    if (fault?.kind === 'throttle' || fault?.kind === '5xx') {
      const status = fault.kind === 'throttle' ? 400 : (fault.status ?? 500);
      const code = fault.kind === 'throttle' ? (fault.code ?? 'ThrottlingException') : status === 503 ? 'ServiceUnavailable' : 'InternalServerError';
      const { type, body: payload } = errorBody(json, code, `injected ${fault.kind}`);
      res.writeHead(status, { 'content-type': type });
      res.end(payload);
      return;
    }
    if (fault?.kind === 'outage') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang' || fault?.kind === 'latency') await new Promise((r) => setTimeout(r, fault.ms));
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
      async (answer) => {
        const payload = await readBody(answer);
        if (fault?.kind === 'drop-response') {
          // The server applied the request; its answer never arrives.
          req.socket.destroy();
          return;
        }
        if (res.destroyed) return;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(payload);
      },
    );
    forwarded.on('error', () => req.socket.destroy());
    forwarded.end(raw);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const proxy: FaultProxy = {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    injected,
    seen,
    rule,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
  return proxy;
}

/** Rules: fault the `nth` call (or every call) of operations whose name ends with `suffix`. */
export function on(suffix: string, fault: Fault, nth?: number | ((n: number) => boolean)): FaultRule {
  return (r) => {
    if (!r.operation.endsWith(suffix)) return undefined;
    if (nth === undefined) return fault;
    return (typeof nth === 'number' ? r.nth === nth : nth(r.nth)) ? fault : undefined;
  };
}

/** The first rule that injects wins. */
export function all(...rules: FaultRule[]): FaultRule {
  return (r) => {
    for (const rule of rules) {
      const fault = rule(r);
      if (fault) return fault;
    }
    return undefined;
  };
}

/** Random faults with probability `p` (seeded, so a failing run can be replayed). */
export function randomFaults(seed: number, p: number, kinds: Fault[]): FaultRule {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  return () => (next() < p ? kinds[Math.floor(next() * kinds.length)] : undefined);
}
