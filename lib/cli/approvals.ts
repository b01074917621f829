/**
 * `cdk-agent-guardrails approvals list | show ID | approve ID --digest D | reject ID --reason R`
 *
 * Calls the approval handler's function URL (AWS_IAM auth) with the approver's own AWS credentials,
 * signed with SigV4: the handler learns who the approver is from IAM, never from what is sent.
 * (A direct Lambda Invoke would not tell the handler who called.)
 */
import { createHash, createHmac } from 'crypto';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import { CliIo, CommandHandler, EXIT } from './command';

const USAGE = [
  'usage: cdk-agent-guardrails approvals <list | show ID | approve ID --digest SHA256 | reject ID --reason TEXT> --url FUNCTION_URL [--region REGION]',
  '  --url     the approval gate\'s function URL (or CDK_AGENT_GUARDRAILS_APPROVAL_URL)',
  '  --digest  the digest you reviewed with `show`: the approval binds to exactly that request',
  '  --reason  why you reject (required for reject)',
  'Credentials come from the usual AWS chain (environment, profile, SSO); they identify you as the approver.',
];

/** SHA-256 / HMAC-SHA-256 for the signer, from node's crypto. */
export class NodeSha256 {
  private readonly hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | Uint8Array) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', Buffer.from(secret as any));
  }
  update(data: string | Uint8Array): void {
    this.hash.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

interface Options {
  readonly positional: string[];
  readonly flags: Record<string, string>;
}

function parse(args: string[]): Options {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split('=', 2);
      const value = inline ?? args[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags[name] = value;
    } else {
      positional.push(arg);
    }
  }
  return { positional, flags };
}

class UsageError extends Error {}

/** The region of a function URL host (`<id>.lambda-url.<region>.on.aws`). */
function regionOf(url: URL, flag?: string): string {
  const match = /\.lambda-url\.([a-z0-9-]+)\.on\.aws$/.exec(url.hostname);
  const region = flag ?? match?.[1] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError('cannot tell the region from the URL; pass --region');
  return region;
}

async function call(url: URL, region: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const signer = new SignatureV4({ service: 'lambda', region, credentials: fromNodeProviderChain(), sha256: NodeSha256 as any });
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const basePath = url.pathname.replace(/\/+$/, '');
  const request = {
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: `${basePath}${path}`,
    headers: { host: url.host, ...(payload ? { 'content-type': 'application/json' } : {}) } as Record<string, string>,
    body: payload,
  };
  const signed = await signer.sign(request);
  const response = await fetch(`${url.protocol}//${url.host}${request.path}`, { method, headers: signed.headers as Record<string, string>, body: payload });
  const text = await response.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { error: text.slice(0, 500) };
  }
  return { status: response.status, json };
}

function printRequest(io: CliIo, r: any): void {
  io.out(`Request ${r.requestId}  [${r.status}${r.outcome ? ` / ${r.outcome}` : ''}]`);
  io.out(`  operation:        ${r.operation}`);
  io.out(`  resource:         ${r.resource}`);
  // The handler derives the target from the parameters; anything else than the resource itself is a refusal.
  io.out(`  acts on:          ${r.target ?? 'UNKNOWN'}${r.bindingRefusal ? `  REFUSED: ${r.bindingRefusal}; do not approve` : ' (derived from the parameters)'}`);
  io.out(`  parameters:       ${JSON.stringify(r.parameters)}`);
  io.out(`  reason:           ${r.reason}`);
  io.out(`  source identity:  ${r.sourceIdentity} (as stated by the requester)`);
  io.out(`  requested by:     ${(r.requesters ?? []).join(', ')}`);
  io.out(`  requested at:     ${r.requestedAt}`);
  io.out(`  approvals:        ${(r.approvals ?? []).length} of ${r.requiredApprovals}${(r.approvals ?? []).length ? ` (${r.approvals.join(', ')})` : ''}`);
  io.out(`  digest:           ${r.digest}`);
}

export const run: CommandHandler = async (args, io) => {
  let options: Options;
  try {
    options = parse(args);
  } catch (e) {
    io.err((e as Error).message);
    USAGE.forEach((l) => io.err(l));
    return EXIT.usage;
  }
  const [verb, id, ...extra] = options.positional;
  const needsId = verb === 'show' || verb === 'approve' || verb === 'reject';
  if (!verb || !['list', 'show', 'approve', 'reject'].includes(verb) || (needsId && !id) || (!needsId && id) || extra.length > 0) {
    USAGE.forEach((l) => io.err(l));
    return EXIT.usage;
  }
  if (id && !/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
    io.err(`request id ${JSON.stringify(id)} is not valid: use the id shown by \`approvals list\``);
    return EXIT.usage;
  }
  const rawUrl = options.flags.url ?? process.env.CDK_AGENT_GUARDRAILS_APPROVAL_URL;
  if (!rawUrl) {
    io.err('no --url given (the approval gate\'s function URL, an output of your stack)');
    return EXIT.usage;
  }
  let url: URL;
  let region: string;
  try {
    url = new URL(rawUrl);
    region = regionOf(url, options.flags.region);
  } catch (e) {
    io.err(e instanceof UsageError ? e.message : `--url ${JSON.stringify(rawUrl)} is not a URL`);
    return EXIT.usage;
  }
  if (url.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    io.err('refusing to send signed requests over plain http to a remote host; use the https function URL');
    return EXIT.usage;
  }
  if (verb === 'approve' && !/^[0-9a-f]{64}$/.test(options.flags.digest ?? '')) {
    io.err('approve needs --digest with the 64-hex-digit digest you reviewed (see `approvals show ID`)');
    return EXIT.usage;
  }
  if (verb === 'reject' && !(options.flags.reason ?? '').trim()) {
    io.err('reject needs --reason "..."');
    return EXIT.usage;
  }

  const response = verb === 'list' ? await call(url, region, 'GET', '/requests')
    : verb === 'show' ? await call(url, region, 'GET', `/requests/${id}`)
      : verb === 'approve' ? await call(url, region, 'POST', `/requests/${id}/approve`, { digest: options.flags.digest })
        : await call(url, region, 'POST', `/requests/${id}/reject`, { reason: options.flags.reason });

  if (response.status >= 300) {
    io.err(`refused (${response.status}): ${response.json.error ?? response.json.message ?? JSON.stringify(response.json)}`);
    return EXIT.remote;
  }
  if (verb === 'list') {
    const requests: any[] = response.json.requests ?? [];
    if (requests.length === 0) io.out('no pending requests');
    for (const r of requests) io.out(`${r.requestId}  ${r.operation}  ${r.resource}  approvals ${(r.approvals ?? []).length}/${r.requiredApprovals}  ${r.requestedAt}  "${r.reason}"`);
    return EXIT.ok;
  }
  if (verb === 'show') {
    printRequest(io, response.json.request);
    for (const record of response.json.records ?? []) {
      io.out(`  - ${record.at ?? ''} ${record.event ?? record.decision ?? record.record} ${record.principal ?? ''} ${record.reason ?? ''}`.trimEnd());
    }
    return EXIT.ok;
  }
  const r = response.json;
  io.out(r.status === 'PENDING'
    ? `approval recorded for ${r.requestId}: ${r.approvals} of ${r.requiredApprovals} approvals, waiting for more`
    : `${r.requestId} ${String(r.status).toLowerCase()} by ${(r.approvers ?? []).join(', ') || 'you'}`);
  return EXIT.ok;
};
