/**
 * A small STS endpoint on 127.0.0.1 speaking the query protocol (form-encoded `Action=AssumeRole`
 * POST bodies, XML answers), for the real `@aws-sdk/client-sts`. No local STS implementation
 * exists, so this one does what the credentials mode depends on and nothing more:
 * - AssumeRole of a role registered with `allow(roleArn, accessKeyId)`: only a caller signing with
 *   that access key may assume it (the trust policy); anyone else gets AccessDenied;
 * - STS's own validation of what the tests rely on: DurationSeconds from 900 to the role's maximum
 *   (1 hour for a session assumed from another role session), RoleSessionName and SourceIdentity of
 *   2 to 64 characters of `[\w+=,.@-]`, a session policy of at most 2,048 characters, at most 50 tags, each key and value
 *   within STS's length and character rules;
 * - every issued session is recorded with its session policy, tags and source identity (`issued`),
 *   and every call with its parameters (`calls`).
 * Signatures are not verified; the access key id is read from the Authorization header.
 */
import { randomBytes } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { EffectivePolicies } from './effective-policies';
import { requestContext } from './request-context';
import { Decision } from './simulate';
import { ACCOUNT, REGION } from './template-resolver';

export interface IssuedSession {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly sourceIdentity?: string;
  readonly durationSeconds: number;
  /** The session policy as sent (parsed JSON), if any. */
  readonly policy?: any;
  readonly tags: Record<string, string>;
  readonly accessKeyId: string;
  readonly assumedRoleArn: string;
  /** The access key id that signed the AssumeRole call. */
  readonly callerAccessKeyId?: string;
}

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const NAME = /^[\w+=,.@-]{2,64}$/;
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export class LocalStsEndpoint {
  public static async start(): Promise<LocalStsEndpoint> {
    const endpoint = new LocalStsEndpoint();
    await new Promise<void>((resolve) => endpoint.server.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  /** Every session issued, in order. */
  public readonly issued: IssuedSession[] = [];
  /** Every call received (action and form parameters). */
  public readonly calls: Array<{ action: string; params: Record<string, string> }> = [];
  private readonly trusted = new Map<string, { callers: Set<string>; maxSessionSeconds: number }>();
  private readonly server = http.createServer((req, res) => this.serve(req, res));

  public get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Lets the caller signing with `accessKeyId` assume the role (as its trust policy would). */
  public allow(roleArn: string, accessKeyId: string, maxSessionSeconds = 3600): void {
    const entry = this.trusted.get(roleArn) ?? { callers: new Set<string>(), maxSessionSeconds };
    entry.callers.add(accessKeyId);
    this.trusted.set(roleArn, entry);
  }

  public stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const params = Object.fromEntries(form.entries());
      const action = params.Action ?? '';
      this.calls.push({ action, params });
      const keyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
      try {
        if (action !== 'AssumeRole') throw new StsError(400, 'InvalidAction', `only AssumeRole is served here, not ${action}`);
        this.answer(res, this.assumeRole(params, keyId));
      } catch (e) {
        const error = e instanceof StsError ? e : new StsError(500, 'InternalFailure', String(e));
        res.writeHead(error.status, { 'content-type': 'text/xml' });
        res.end(
          `<ErrorResponse xmlns="${NS}"><Error><Type>${error.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${error.code}</Code>` +
            `<Message>${xml(error.message)}</Message></Error><RequestId>local-sts</RequestId></ErrorResponse>`,
        );
      }
    });
  }

  private assumeRole(p: Record<string, string>, keyId: string | undefined): string {
    const roleArn = p.RoleArn ?? '';
    const trust = this.trusted.get(roleArn);
    if (!trust || !keyId || !trust.callers.has(keyId)) {
      throw new StsError(403, 'AccessDenied', `${keyId ?? 'anonymous'} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
    }
    const sessionName = p.RoleSessionName ?? '';
    if (!NAME.test(sessionName)) throw new StsError(400, 'ValidationError', `RoleSessionName ${JSON.stringify(sessionName)} is invalid`);
    if (p.SourceIdentity !== undefined && !NAME.test(p.SourceIdentity)) {
      throw new StsError(400, 'ValidationError', `SourceIdentity ${JSON.stringify(p.SourceIdentity)} is invalid`);
    }
    const duration = Number(p.DurationSeconds ?? 3600);
    if (!Number.isInteger(duration) || duration < 900 || duration > trust.maxSessionSeconds) {
      throw new StsError(400, 'ValidationError', `DurationSeconds ${p.DurationSeconds} exceeds the 900 to ${trust.maxSessionSeconds} allowed`);
    }
    let policy: any;
    if (p.Policy !== undefined) {
      if (p.Policy.replace(/\s/g, '').length > 2048) throw new StsError(400, 'PackedPolicyTooLarge', 'the session policy is too large');
      try {
        policy = JSON.parse(p.Policy);
      } catch {
        throw new StsError(400, 'MalformedPolicyDocument', 'the session policy is not JSON');
      }
    }
    const tags: Record<string, string> = {};
    for (let i = 1; p[`Tags.member.${i}.Key`] !== undefined; i++) tags[p[`Tags.member.${i}.Key`]] = p[`Tags.member.${i}.Value`] ?? '';
    if (Object.keys(tags).length > 50) throw new StsError(400, 'ValidationError', 'too many session tags');
    for (const [key, value] of Object.entries(tags)) {
      // STS API reference, Tag: a key of 1 to 128 and a value of 0 to 256 characters, letters, numbers, separators and _ . : / = + - @.
      if (!/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u.test(key) || !/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u.test(value)) {
        throw new StsError(400, 'ValidationError', `the session tag ${JSON.stringify(key)}=${JSON.stringify(value)} is invalid`);
      }
    }
    const [, partition, , , account, resource] = roleArn.split(':');
    const roleName = resource.split('/').pop();
    const assumedRoleArn = `arn:${partition}:sts::${account}:assumed-role/${roleName}/${sessionName}`;
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    this.issued.push({
      roleArn,
      sessionName,
      sourceIdentity: p.SourceIdentity,
      durationSeconds: duration,
      policy,
      tags,
      accessKeyId,
      assumedRoleArn,
      callerAccessKeyId: keyId,
    });
    const expiration = new Date(Date.now() + duration * 1000).toISOString();
    return (
      `<AssumeRoleResponse xmlns="${NS}"><AssumeRoleResult>` +
      (p.SourceIdentity ? `<SourceIdentity>${xml(p.SourceIdentity)}</SourceIdentity>` : '') +
      `<AssumedRoleUser><Arn>${xml(assumedRoleArn)}</Arn><AssumedRoleId>AROALOCAL:${xml(sessionName)}</AssumedRoleId></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${randomBytes(20).toString('hex')}</SecretAccessKey>` +
      `<SessionToken>${randomBytes(32).toString('base64')}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
      `<PackedPolicySize>${p.Policy ? 10 : 0}</PackedPolicySize></AssumeRoleResult>` +
      `<ResponseMetadata><RequestId>${randomBytes(8).toString('hex')}</RequestId></ResponseMetadata></AssumeRoleResponse>`
    );
  }

  private answer(res: http.ServerResponse, body: string): void {
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(body);
  }
}

class StsError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Evaluates a request made with an issued session: the role's identity policies and the session
 * policy STS received, under the action's real request context (test/support/request-context.ts)
 * plus aws:RequestedRegion, with @cloud-copilot/iam-simulate. simulate.ts's `decide` evaluates
 * identity policies and a boundary; a session policy is this one field more.
 */
export async function decideWithSession(
  role: EffectivePolicies,
  sessionPolicy: unknown,
  action: string,
  resource: string,
  region = REGION,
): Promise<Decision> {
  const contextVariables = { ...requestContext(action, resource, {}), 'aws:RequestedRegion': region };
  const result: any = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/credentials/approval`,
        action,
        resource: { resource, accountId: ACCOUNT },
        contextVariables,
      },
      sessionPolicy,
      identityPolicies: role.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`simulation of ${action} on ${resource} failed: ${JSON.stringify(result.errors)}`);
  const ignored = result.result?.ignoredContextKeys ?? [];
  if (ignored.length > 0)
    throw new Error(`the simulator ignored context keys ${ignored.join(', ')} for ${action}: the test context is not realistic`);
  return result.overallResult as Decision;
}
