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
import { requestIdPath, requestIdProblem } from '../approval-gate/runtime/approval-binding';
import { inertText } from '../shared/inert-text';
import { OptionValues, UsageErrorDetails, parseCommandArgs, usageError } from './args';
import { CliIo, CommandHandler, EXIT } from './command';

const USAGE = `usage: cdk-agent-guardrails approvals <list | show ID | approve ID --digest SHA256 | reject ID --reason TEXT>
    --url FUNCTION_URL [--region REGION]
       cdk-agent-guardrails approvals console --url FUNCTION_URL [--region REGION] [--port N]
  console       serve the approval page on 127.0.0.1 (see docs/approval-console.md; \`approvals console --help\`)
  --url         the approval gate's function URL (or CDK_AGENT_GUARDRAILS_APPROVAL_URL)
  --digest      the digest you reviewed with \`show\`: the approval binds to exactly that request
  --reason      why you reject (required for reject)
  --region      the function URL's region (default: read from the URL, else AWS_REGION)
  --help, -h    print this usage
Credentials come from the usual AWS chain (environment, profile, SSO); they identify you as the approver.`;

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

/** The region of a function URL host (`<id>.lambda-url.<region>.on.aws`), else `flag`, else AWS_REGION; a usage error when none. */
export function approvalRegionOf(url: URL, flag?: string): string {
  const match = /\.lambda-url\.([a-z0-9-]+)\.on\.aws$/.exec(url.hostname);
  const region = flag ?? match?.[1] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) {
    throw usageError(SPEC, `cannot tell the region from the URL ${url.href}`, {
      received: url.href,
      fix: 'pass --region REGION (or set AWS_REGION)',
      withUsage: false,
    });
  }
  return region;
}

/**
 * Calls the approval handler's function URL, SigV4-signed with the caller's own AWS credentials (the
 * handler identifies the approver from IAM). Answers the HTTP status and the parsed JSON body.
 */
export async function callApprovalHandler(
  url: URL,
  region: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
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
  const response = await fetch(`${url.protocol}//${url.host}${request.path}`, {
    method,
    headers: signed.headers as Record<string, string>,
    body: payload,
  });
  const text = await response.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { error: text.slice(0, 500) };
  }
  return { status: response.status, json };
}

/**
 * Everything the handler returns is shown through inertText: agent-written values (reason, source
 * identity, parameters, the request id) can neither break a line to forge a field nor send control
 * or escape sequences to the approver's terminal. The ledger keeps them exactly.
 */
const t = (value: unknown, max?: number) => inertText(value ?? '', max);

function printRequest(io: CliIo, r: any): void {
  io.out(`Request ${t(r.requestId, 100)}  [${t(r.status, 40)}${r.outcome ? ` / ${t(r.outcome, 40)}` : ''}]`);
  io.out(`  operation:        ${t(r.operation, 200)}`);
  io.out(`  resource:         ${t(r.resource, 500)}`);
  // The handler derives the target from the parameters; anything else than the resource itself is a refusal.
  const actsOn = r.bindingRefusal ? `  REFUSED: ${t(r.bindingRefusal, 500)}; do not approve` : ' (derived from the parameters)';
  io.out(`  acts on:          ${r.target ? t(r.target, 500) : 'UNKNOWN'}${actsOn}`);
  // What approving hands out (credentials mode: a session whose calls the parameters do not bind; review HIGH-2).
  io.out(
    `  if approved:      ${r.execution ? t(r.execution, 1000) : 'not reported by the handler: ask the gate operator how it carries out requests'}`,
  );
  io.out(`  parameters:       ${t(JSON.stringify(r.parameters) ?? 'undefined', 4000)}`);
  io.out(`  reason:           ${t(r.reason, 2000)}`);
  io.out(`  source identity:  ${t(r.sourceIdentity, 200)} (as stated by the requester)`);
  // The gate's requester roles, not the session that started the request (review HIGH-1).
  io.out(`  may be requested by: ${t((r.requesters ?? []).join(', '), 1000)} (roles granted to request; the starting session is not verified)`);
  io.out(`  requested at:     ${t(r.requestedAt, 40)}`);
  if (r.expiresAt)
    io.out(
      `  expires at:       ${t(r.expiresAt, 40)}${r.collectableAt ? ' (end of the collection window)' : ' (no decision by then means rejected)'}`,
    );
  if (r.collectableAt) io.out(`  collectable:      from ${t(r.collectableAt, 40)} for ${t(r.collectWithinSeconds, 10)} s`);
  if (r.collectedAt) io.out(`  collected:        at ${t(r.collectedAt, 40)} by ${t(r.collectedBy, 300)}`);
  if (r.outcomeDetail) io.out(`  outcome detail:   ${t(r.outcomeDetail, 2000)}`);
  const approvals: string[] = Array.isArray(r.approvals) ? r.approvals : [];
  io.out(`  approvals:        ${approvals.length} of ${t(r.requiredApprovals, 10)}${approvals.length ? ` (${t(approvals.join(', '), 1000)})` : ''}`);
  io.out(`  digest:           ${t(r.digest, 64)}`);
}

const SPEC = {
  command: 'approvals',
  usage: USAGE,
  maxPositionals: 2,
  options: {
    url: { type: 'string' },
    region: { type: 'string' },
    digest: { type: 'string' },
    reason: { type: 'string' },
  },
} as const;

const VERBS = ['list', 'show', 'approve', 'reject'];

/** The sub-command, request id, URL, region, digest and reason, checked before anything is sent. */
function requestOf(values: OptionValues<typeof SPEC.options>, verb: string | undefined, id: string | undefined) {
  const fail = (message: string, details: UsageErrorDetails) => usageError(SPEC, message, details);
  if (!verb || !VERBS.includes(verb)) {
    const what = verb ? `unknown sub-command ${JSON.stringify(verb)}` : 'no sub-command given';
    throw fail(what, { received: verb, fix: `use one of ${VERBS.join(', ')}` });
  }
  const needsId = verb !== 'list';
  if (needsId && !id) throw fail(`${verb} needs the request ID`, { fix: `run \`approvals list\` for the IDs, then \`approvals ${verb} ID\`` });
  if (!needsId && id) {
    throw fail(`list takes no request ID, got ${JSON.stringify(id)}`, { received: id, fix: `run \`approvals show ${id}\` to see one request` });
  }
  const idProblem = id === undefined ? undefined : requestIdProblem(id);
  if (id !== undefined && idProblem) {
    throw fail(`request id ${inertText(JSON.stringify(id), 100)} is not valid: ${idProblem}`, {
      received: inertText(id, 100),
      fix: 'use the id shown by `approvals list`',
      withUsage: false,
    });
  }
  const rawUrl = values.url ?? process.env.CDK_AGENT_GUARDRAILS_APPROVAL_URL;
  if (!rawUrl) {
    throw fail("no --url given (the approval gate's function URL, an output of your stack)", {
      fix: 'pass --url FUNCTION_URL, or set CDK_AGENT_GUARDRAILS_APPROVAL_URL',
      withUsage: false,
    });
  }
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw fail(`--url ${JSON.stringify(rawUrl)} is not a URL`, {
      received: rawUrl,
      fix: 'pass the function URL as your stack outputs it (https://<id>.lambda-url.<region>.on.aws/)',
      withUsage: false,
    });
  }
  const region = approvalRegionOf(url, values.region);
  if (url.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw fail(`refusing to send signed requests over plain http to a remote host (${url.host})`, {
      received: rawUrl,
      fix: 'use the https function URL',
      withUsage: false,
    });
  }
  const digest = values.digest ?? '';
  if (verb === 'approve' && !/^[0-9a-f]{64}$/.test(digest)) {
    const got = values.digest === undefined ? 'no --digest' : JSON.stringify(values.digest);
    throw fail(`approve needs --digest with the 64-hex-digit digest you reviewed, got ${got}`, {
      received: values.digest,
      fix: `run \`approvals show ${id}\` and pass its digest: --digest SHA256`,
      withUsage: false,
    });
  }
  const reason = values.reason ?? '';
  if (verb === 'reject' && !reason.trim()) {
    throw fail('reject needs --reason "..."', {
      received: values.reason,
      fix: 'say why you reject: --reason "take a snapshot first"',
      withUsage: false,
    });
  }
  return { verb, id, url, region, digest, reason };
}

export const run: CommandHandler = async (args, io) => {
  const parsed = parseCommandArgs(SPEC, args, io);
  if (!parsed) return EXIT.ok;
  const { verb, id, url, region, digest, reason } = requestOf(parsed.values, parsed.positionals[0], parsed.positionals[1]);
  const response =
    verb === 'list'
      ? await callApprovalHandler(url, region, 'GET', '/requests')
      : verb === 'show'
        ? await callApprovalHandler(url, region, 'GET', `/requests/${requestIdPath(id!)}`)
        : verb === 'approve'
          ? await callApprovalHandler(url, region, 'POST', `/requests/${requestIdPath(id!)}/approve`, { digest })
          : await callApprovalHandler(url, region, 'POST', `/requests/${requestIdPath(id!)}/reject`, { reason });

  if (response.status >= 300) {
    io.err(`refused (${response.status}): ${t(response.json.error ?? response.json.message ?? JSON.stringify(response.json), 2000)}`);
    return EXIT.remote;
  }
  if (verb === 'list') {
    const requests: any[] = response.json.requests ?? [];
    if (requests.length === 0) io.out('no pending requests');
    for (const r of requests) {
      const approvals = `${Array.isArray(r.approvals) ? r.approvals.length : 0}/${t(r.requiredApprovals, 10)}`;
      const head = `${t(r.requestId, 100)}  ${t(r.operation, 200)}  ${t(r.resource, 500)}`;
      io.out(`${head}  approvals ${approvals}  ${t(r.requestedAt, 40)}  "${t(r.reason, 200)}"`);
    }
    return EXIT.ok;
  }
  if (verb === 'show' && Array.isArray(response.json.breakGlass)) {
    // BREAK_GLASS: every recorded use of an emergency role (CloudTrail AssumeRole), as recorded.
    io.out(`Break-glass uses: ${response.json.breakGlass.length}`);
    for (const b of response.json.breakGlass) {
      io.out(
        `  - ${t(b.at, 40)} ${t(b.result, 100)} ${t(b.roleArn, 300)} by ${t(b.assumedBy, 300)} session ${t(b.sessionName, 64)} ` +
          `source identity ${t(b.sourceIdentity, 64) || '-'} from ${t(b.sourceIp, 64)}`,
      );
    }
    return EXIT.ok;
  }
  if (verb === 'show') {
    printRequest(io, response.json.request);
    for (const record of response.json.records ?? []) {
      if (typeof record.record === 'string' && record.record.startsWith('NOTICE#')) {
        // What the approvers were told, and whether SNS confirmed it (the sweep retries a pending one).
        const when = record.sentAt ?? record.createdAt;
        io.out(`  - ${t(when, 40)} notice ${t(record.record.slice(7), 300)} ${record.state === 'SENT' ? 'sent' : 'not yet sent'}`);
        continue;
      }
      const what = record.event ?? record.decision ?? record.record;
      io.out(`  - ${t(record.at, 40)} ${t(what, 100)} ${t(record.principal, 300)} ${t(record.reason, 500)}`.trimEnd());
    }
    return EXIT.ok;
  }
  const r = response.json;
  io.out(
    r.status === 'PENDING'
      ? `approval recorded for ${t(r.requestId, 100)}: ${t(r.approvals, 10)} of ${t(r.requiredApprovals, 10)} approvals, waiting for more`
      : `${t(r.requestId, 100)} ${t(String(r.status).toLowerCase(), 40)} by ${t((r.approvers ?? []).join(', '), 1000) || 'you'}`,
  );
  if (r.othersNotified === false) io.out(`note: ${t(r.notice, 300)}`);
  return EXIT.ok;
};
