/**
 * A small HTTP server on 127.0.0.1 that speaks the AWS query protocol (form-encoded `Action=...`
 * POST bodies, XML responses) for the few IAM calls the library makes, so that the real
 * `@aws-sdk/client-iam` can be tested without an AWS account. It keeps roles and their inline
 * policies in memory and records every call (with the access key id that signed it).
 *
 * Supported IAM actions: GetRole, PutRolePolicy, GetRolePolicy, DeleteRolePolicy, ListRolePolicies.
 * The same protocol serves STS GetCallerIdentity (answering with the ARN registered for the
 * calling access key) and SNS Publish (recorded in `published`), so that one endpoint covers the
 * IAM, STS and SNS clients: point them at it with `endpoint: server.url` or the environment
 * variables AWS_ENDPOINT_URL_IAM / _STS / _SNS.
 *
 * Usage:
 *   const iam = await LocalIamEndpoint.start();
 *   iam.addRole('agent-role');
 *   const client = new IAMClient({ endpoint: iam.url, region: 'us-east-1', credentials });
 *   ...
 *   await iam.stop();
 *
 * Signatures are not verified (the SDK signs as usual; the key id is read from the Authorization
 * header). Errors follow IAM's ErrorResponse format, so the SDK raises its modelled exceptions
 * (NoSuchEntityException, ...). `failNext(action, code)` makes the next call of an action fail.
 */
import * as http from 'http';
import { AddressInfo } from 'net';

export interface RecordedCall {
  readonly action: string;
  readonly params: Record<string, string>;
  /** The access key id of the SigV4 signature. */
  readonly accessKeyId?: string;
}

export interface PublishedMessage {
  readonly topicArn: string;
  readonly subject?: string;
  readonly message: string;
  readonly attributes: Record<string, string>;
}

interface Role {
  readonly name: string;
  readonly arn: string;
  readonly policies: Map<string, string>;
}

const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const SNS_NS = 'http://sns.amazonaws.com/doc/2010-03-31/';

class QueryError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly type = 'Sender',
  ) {
    super(message);
  }
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export class LocalIamEndpoint {
  public static async start(account = '123456789012'): Promise<LocalIamEndpoint> {
    const endpoint = new LocalIamEndpoint(account);
    await new Promise<void>((resolve) => endpoint.server.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  /** Every call received, in order. */
  public readonly calls: RecordedCall[] = [];
  /** Every SNS message published. */
  public readonly published: PublishedMessage[] = [];
  /** Called with each call as it arrives (benchmarks time the moment a call lands). */
  public onCall?: (call: RecordedCall) => void;

  private readonly roles = new Map<string, Role>();
  private readonly identities = new Map<string, string>();
  private readonly failures = new Map<string, string[]>();
  private readonly server: http.Server;
  private requestCounter = 0;

  private constructor(private readonly account: string) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  public get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Creates a role (path optional, e.g. '/agents/'); returns its ARN. */
  public addRole(name: string, path = '/'): string {
    const arn = `arn:aws:iam::${this.account}:role${path}${name}`;
    this.roles.set(name, { name, arn, policies: new Map() });
    return arn;
  }

  /** The inline policies of a role, name -> parsed document. */
  public inlinePolicies(roleName: string): Record<string, any> {
    const role = this.roles.get(roleName);
    if (!role) throw new Error(`no role ${roleName}`);
    return Object.fromEntries([...role.policies].map(([n, d]) => [n, JSON.parse(d)]));
  }

  /** Puts an inline policy directly (the state a test starts from). */
  public seedPolicy(roleName: string, policyName: string, document: unknown): void {
    this.roleOrThrow(roleName).policies.set(policyName, JSON.stringify(document));
  }

  /** Registers who an access key belongs to, for sts:GetCallerIdentity. */
  public addIdentity(accessKeyId: string, arn: string): void {
    this.identities.set(accessKeyId, arn);
  }

  /** The next call of `action` fails with the error code (IAM's codes: LimitExceeded, ServiceFailure, AccessDenied, ...). */
  public failNext(action: string, code: string): void {
    this.failures.set(action, [...(this.failures.get(action) ?? []), code]);
  }

  public callsOf(action: string): RecordedCall[] {
    return this.calls.filter((c) => c.action === action);
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const action = params.Action ?? '';
      const accessKeyId = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
      const call = { action, params, accessKeyId };
      this.calls.push(call);
      this.onCall?.(call);
      const requestId = `local-${++this.requestCounter}`;
      try {
        const injected = this.failures.get(action)?.shift();
        if (injected) {
          throw new QueryError(
            injected === 'ServiceFailure' ? 500 : 400,
            injected,
            `injected failure of ${action}`,
            injected === 'ServiceFailure' ? 'Receiver' : 'Sender',
          );
        }
        const { ns, result } = this.dispatch(action, params, accessKeyId);
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          `<${action}Response xmlns="${ns}">${result === undefined ? '' : `<${action}Result>${result}</${action}Result>`}<ResponseMetadata>`
            + `<RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
        );
      } catch (e) {
        const err = e instanceof QueryError ? e : new QueryError(500, 'ServiceFailure', String((e as Error).message), 'Receiver');
        res.writeHead(err.status, { 'content-type': 'text/xml' });
        res.end(
          `<ErrorResponse xmlns="${IAM_NS}"><Error><Type>${err.type}</Type><Code>${err.code}</Code><Message>${xml(err.message)}</Message></Error>`
            + `<RequestId>${requestId}</RequestId></ErrorResponse>`,
        );
      }
    });
  }

  private roleOrThrow(name: string | undefined): Role {
    const role = name ? this.roles.get(name) : undefined;
    if (!role) {
      throw new QueryError(404, 'NoSuchEntity', `The role with name ${name} cannot be found.`);
    }
    return role;
  }

  private dispatch(action: string, p: Record<string, string>, accessKeyId: string | undefined): { ns: string; result?: string } {
    switch (action) {
      case 'GetRole': {
        const role = this.roleOrThrow(p.RoleName);
        return {
          ns: IAM_NS,
          result: `<Role><RoleName>${xml(role.name)}</RoleName><Arn>${xml(role.arn)}</Arn><Path>/</Path>`
            + `<RoleId>AROA${role.name.toUpperCase().slice(0, 12)}</RoleId><CreateDate>2026-01-01T00:00:00Z</CreateDate>`
              + `<AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument></Role>`,
        };
      }
      case 'PutRolePolicy': {
        const role = this.roleOrThrow(p.RoleName);
        if (!p.PolicyName || !/^[\w+=,.@-]{1,128}$/.test(p.PolicyName)) {
          throw new QueryError(400, 'ValidationError', `invalid PolicyName ${p.PolicyName}`);
        }
        try {
          JSON.parse(p.PolicyDocument ?? '');
        } catch {
          throw new QueryError(400, 'MalformedPolicyDocument', 'The policy document is not valid JSON.');
        }
        role.policies.set(p.PolicyName, p.PolicyDocument);
        return { ns: IAM_NS };
      }
      case 'GetRolePolicy': {
        const role = this.roleOrThrow(p.RoleName);
        const doc = role.policies.get(p.PolicyName);
        if (doc === undefined) {
          throw new QueryError(404, 'NoSuchEntity', `The role policy with name ${p.PolicyName} cannot be found.`);
        }
        // IAM returns policy documents URL-encoded.
        return {
          ns: IAM_NS,
          result: `<RoleName>${xml(role.name)}</RoleName><PolicyName>${xml(p.PolicyName)}</PolicyName>`
            + `<PolicyDocument>${xml(encodeURIComponent(doc))}</PolicyDocument>`,
        };
      }
      case 'DeleteRolePolicy': {
        const role = this.roleOrThrow(p.RoleName);
        if (!role.policies.delete(p.PolicyName)) {
          throw new QueryError(404, 'NoSuchEntity', `The role policy with name ${p.PolicyName} cannot be found.`);
        }
        return { ns: IAM_NS };
      }
      case 'ListRolePolicies': {
        const role = this.roleOrThrow(p.RoleName);
        const names = [...role.policies.keys()]
          .sort()
          .map((n) => `<member>${xml(n)}</member>`)
          .join('');
        return { ns: IAM_NS, result: `<PolicyNames>${names}</PolicyNames><IsTruncated>false</IsTruncated>` };
      }
      case 'GetCallerIdentity': {
        const arn = accessKeyId ? this.identities.get(accessKeyId) : undefined;
        if (!arn) {
          throw new QueryError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
        }
        return { ns: STS_NS, result: `<Arn>${xml(arn)}</Arn><UserId>AIDALOCAL</UserId><Account>${this.account}</Account>` };
      }
      case 'Publish': {
        const attributes: Record<string, string> = {};
        for (let i = 1; p[`MessageAttributes.entry.${i}.Name`]; i++) {
          attributes[p[`MessageAttributes.entry.${i}.Name`]] = p[`MessageAttributes.entry.${i}.Value.StringValue`];
        }
        if (!p.TopicArn || p.Message === undefined) {
          throw new QueryError(400, 'InvalidParameter', 'TopicArn and Message are required');
        }
        this.published.push({ topicArn: p.TopicArn, subject: p.Subject, message: p.Message, attributes });
        return { ns: SNS_NS, result: `<MessageId>local-message-${this.published.length}</MessageId>` };
      }
      default:
        throw new QueryError(400, 'InvalidAction', `The action ${action} is not valid for this local endpoint.`);
    }
  }
}
