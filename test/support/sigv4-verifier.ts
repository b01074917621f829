/**
 * A local stand-in for what a Lambda function URL with AWS_IAM auth does before the handler runs:
 * verify the request's SigV4 signature against known access keys, and tell the caller's ARN.
 * No local implementation of function URLs exists; the signature check uses the SDK's own signer.
 */
import * as http from 'http';
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
