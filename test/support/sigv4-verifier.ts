/**
 * A local stand-in for what a Lambda function URL with AWS_IAM auth does before the handler runs:
 * verify the request's SigV4 signature against known access keys, and tell the caller's ARN.
 * No local implementation of function URLs exists; the signature check uses the SDK's own signer.
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../lib/cli/approvals';

/** Access key id → its secret and the ARN IAM would authenticate it as. */
export type LocalAccessKeys = Record<string, { readonly secret: string; readonly userArn: string }>;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/lambda\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/;

/** The authenticated caller's ARN, or undefined when the signature is missing, unknown or wrong. */
export async function verifySigV4(keys: LocalAccessKeys, req: http.IncomingMessage, body: string, port: number): Promise<string | undefined> {
  const auth = String(req.headers.authorization ?? '');
  const match = AUTHORIZATION.exec(auth);
  if (!match) return undefined;
  const [, accessKeyId, , region, signedHeaders] = match;
  const key = keys[accessKeyId];
  if (!key) return undefined;
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(';')) headers[name] = String(req.headers[name] ?? '');
  const amzDate = headers['x-amz-date'] ?? '';
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const [path, query] = (req.url ?? '/').split('?');
  const signer = new SignatureV4({ service: 'lambda', region, credentials: { accessKeyId, secretAccessKey: key.secret }, sha256: NodeSha256 as any });
  const expected = await signer.sign(
    {
      method: req.method!,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path,
      query: Object.fromEntries(new URLSearchParams(query ?? '')),
      headers,
      body: body || undefined,
    },
    { signingDate },
  );
  return expected.headers.authorization === auth ? key.userArn : undefined;
}

/** The parts of a function URL event and result a local function URL passes (as Lambda does with AWS_IAM auth). */
export interface LocalFunctionUrlEvent {
  readonly rawPath: string;
  readonly body?: string;
  readonly requestContext: { readonly http: { readonly method?: string }; readonly authorizer: { readonly iam: { readonly userArn: string } } };
}
export interface LocalFunctionUrlResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A function URL with AWS_IAM auth on 127.0.0.1, and what it saw of each request. */
export interface LocalFunctionUrl {
  readonly url: string;
  /** Per request: the status answered, and the caller when the signature verified. */
  readonly seen: Array<{ status: number; authenticated?: string }>;
  /** Drops the connection after the handler ran, the next n times (an answer lost on the way back). */
  dropAnswers(n: number): void;
  close(): Promise<void>;
}

/** Serves `handler` behind SigV4 verification: unsigned or wrongly signed requests get 403 and never reach it. */
export async function serveFunctionUrl(
  keys: LocalAccessKeys,
  handler: (event: LocalFunctionUrlEvent) => Promise<LocalFunctionUrlResult>,
): Promise<LocalFunctionUrl> {
  const seen: LocalFunctionUrl['seen'] = [];
  let drops = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const userArn = await verifySigV4(keys, req, body, (server.address() as AddressInfo).port);
    if (!userArn) {
      seen.push({ status: 403 });
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Forbidden' }));
      return;
    }
    const result = await handler({
      rawPath: (req.url ?? '/').split('?')[0],
      body: body || undefined,
      requestContext: { http: { method: req.method }, authorizer: { iam: { userArn } } },
    });
    seen.push({ status: result.statusCode, authenticated: userArn });
    if (drops > 0) {
      drops--;
      req.socket.destroy();
      return;
    }
    res.writeHead(result.statusCode, result.headers);
    res.end(result.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    seen,
    dropAnswers: (n) => (drops = n),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
