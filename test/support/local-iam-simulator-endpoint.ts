import { runSimulation } from '@cloud-copilot/iam-simulate';
import * as http from 'http';
import { AddressInfo } from 'net';

/**
 * A local IAM endpoint on 127.0.0.1 speaking the IAM query protocol (form-encoded requests, XML
 * responses) for SimulatePrincipalPolicy and the read calls `verify --live` makes: GetRole,
 * ListRolePolicies, GetRolePolicy, ListAttachedRolePolicies, GetPolicy, GetPolicyVersion. The
 * real @aws-sdk/client-iam talks to it. Decisions come from @cloud-copilot/iam-simulate, an
 * oracle independent of the library's evaluator. No AWS account, no network beyond 127.0.0.1.
 */

export interface LocalRole {
  readonly name: string;
  readonly account: string;
  readonly tags?: Record<string, string>;
  /** Inline policies by name. */
  readonly inline?: Record<string, unknown>;
  /** ARNs of attached managed policies (their documents in LocalIamState.policies). */
  readonly attached?: string[];
  readonly boundary?: string;
}

export interface LocalIamState {
  readonly roles: LocalRole[];
  /** Managed policy documents by ARN. */
  readonly policies: Record<string, unknown>;
}

export interface LocalIamEndpoint {
  readonly endpoint: string;
  /** Every Action= the endpoint received, in order. */
  readonly calls: string[];
  /** Every request's parameters, in order. */
  readonly requests: URLSearchParams[];
  close(): Promise<void>;
}

const NS = 'https://iam.amazonaws.com/doc/2010-05-08/';

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function respond(res: http.ServerResponse, action: string, result: string): void {
  res.writeHead(200, { 'content-type': 'text/xml' });
  res.end(
    `<${action}Response xmlns="${NS}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>local-1</RequestId>`
      + `</ResponseMetadata></${action}Response>`,
  );
}

function error(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(
    `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error>`
      + `<RequestId>local-1</RequestId></ErrorResponse>`,
  );
}

/** The values of a query-protocol list parameter (`Name.member.1`, `Name.member.2`, ...). */
function members(params: URLSearchParams, prefix: string): string[] {
  const values: string[] = [];
  for (let i = 1; params.has(`${prefix}.member.${i}`); i++) values.push(params.get(`${prefix}.member.${i}`)!);
  return values;
}

function contextEntries(params: URLSearchParams): Record<string, string | string[]> {
  const context: Record<string, string | string[]> = {};
  for (let i = 1; params.has(`ContextEntries.member.${i}.ContextKeyName`); i++) {
    const key = params.get(`ContextEntries.member.${i}.ContextKeyName`)!;
    const values = members(params, `ContextEntries.member.${i}.ContextKeyValues`);
    const type = params.get(`ContextEntries.member.${i}.ContextKeyType`) ?? 'string';
    context[key] = type.endsWith('List') ? values : values[0];
  }
  return context;
}

const DECISION: Record<string, string> = { Allowed: 'allowed', ExplicitlyDenied: 'explicitDeny', ImplicitlyDenied: 'implicitDeny' };

function keyPolicy(account: string): unknown {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
  };
}

async function simulate(
  state: LocalIamState,
  role: LocalRole,
  roleArn: string,
  action: string,
  resource: string,
  context: Record<string, string | string[]>,
): Promise<string> {
  const identityPolicies = [
    ...Object.entries(role.inline ?? {}).map(([name, policy]) => ({ name, policy })),
    ...(role.attached ?? []).map((arn) => ({ name: arn, policy: state.policies[arn] })),
  ];
  const result: any = await runSimulation(
    {
      request: { principal: roleArn, action, resource: { resource, accountId: role.account }, contextVariables: context },
      identityPolicies,
      permissionBoundaryPolicies: role.boundary ? [{ name: role.boundary, policy: state.policies[role.boundary] }] : undefined,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: resource.startsWith('arn:aws:kms:') ? keyPolicy(role.account) : undefined,
      additionalSettings: { s3: { bucketAbacEnabled: false } },
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(`simulation of ${action} on ${resource} failed: ${JSON.stringify(result.errors)}`);
  }
  return DECISION[result.overallResult] ?? 'implicitDeny';
}

export async function startLocalIamSimulatorEndpoint(state: LocalIamState): Promise<LocalIamEndpoint> {
  const calls: string[] = [];
  const requests: URLSearchParams[] = [];
  const roleNamed = (name: string | null) => state.roles.find((r) => r.name === name);
  const arnOf = (role: LocalRole) => `arn:aws:iam::${role.account}:role/${role.name}`;

  const handle = async (params: URLSearchParams, res: http.ServerResponse) => {
    const action = params.get('Action') ?? '';
    calls.push(action);
    requests.push(params);
    const needRole = () => {
      const role = roleNamed(params.get('RoleName'));
      if (!role) error(res, 404, 'NoSuchEntity', `The role with name ${params.get('RoleName')} cannot be found.`);
      return role;
    };
    const needPolicy = () => {
      const arn = params.get('PolicyArn') ?? '';
      if (!(arn in state.policies)) error(res, 404, 'NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`);
      return arn in state.policies ? arn : undefined;
    };
    switch (action) {
      case 'GetRole': {
        const role = needRole();
        if (!role) return;
        const tags = Object.entries(role.tags ?? {})
          .map(([k, v]) => `<member><Key>${xml(k)}</Key><Value>${xml(v)}</Value></member>`)
          .join('');
        const boundary = role.boundary
          ? `<PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType>`
            + `<PermissionsBoundaryArn>${xml(role.boundary)}</PermissionsBoundaryArn></PermissionsBoundary>`
          : '';
        return respond(
          res,
          action,
          `<Role><Path>/</Path><RoleName>${xml(role.name)}</RoleName><RoleId>AROALOCAL${role.name.length}</RoleId><Arn>${xml(arnOf(role))}</Arn>`
            + `<CreateDate>2026-01-01T00:00:00Z</CreateDate>`
            + `<AssumeRolePolicyDocument>${encodeURIComponent('{"Version":"2012-10-17","Statement":[]}')}</AssumeRolePolicyDocument>`
            + `${boundary}<Tags>${tags}</Tags></Role>`,
        );
      }
      case 'ListRolePolicies': {
        const role = needRole();
        if (!role) return;
        return respond(
          res,
          action,
          `<PolicyNames>${Object.keys(role.inline ?? {})
            .map((n) => `<member>${xml(n)}</member>`)
            .join('')}</PolicyNames><IsTruncated>false</IsTruncated>`,
        );
      }
      case 'GetRolePolicy': {
        const role = needRole();
        if (!role) return;
        const name = params.get('PolicyName') ?? '';
        const document = role.inline?.[name];
        if (document === undefined) return error(res, 404, 'NoSuchEntity', `The role policy with name ${name} cannot be found.`);
        return respond(
          res,
          action,
          `<RoleName>${xml(role.name)}</RoleName><PolicyName>${xml(name)}</PolicyName>`
            + `<PolicyDocument>${encodeURIComponent(JSON.stringify(document))}</PolicyDocument>`,
        );
      }
      case 'ListAttachedRolePolicies': {
        const role = needRole();
        if (!role) return;
        const attached = (role.attached ?? [])
          .map((arn) => `<member><PolicyName>${xml(arn.split('/').pop()!)}</PolicyName><PolicyArn>${xml(arn)}</PolicyArn></member>`)
          .join('');
        return respond(res, action, `<AttachedPolicies>${attached}</AttachedPolicies><IsTruncated>false</IsTruncated>`);
      }
      case 'GetPolicy': {
        const arn = needPolicy();
        if (!arn) return;
        return respond(
          res,
          action,
          `<Policy><PolicyName>${xml(arn.split('/').pop()!)}</PolicyName><PolicyId>ANPALOCAL</PolicyId><Arn>${xml(arn)}</Arn><Path>/</Path>`
            + `<DefaultVersionId>v1</DefaultVersionId><AttachmentCount>1</AttachmentCount><IsAttachable>true</IsAttachable></Policy>`,
        );
      }
      case 'GetPolicyVersion': {
        const arn = needPolicy();
        if (!arn) return;
        return respond(
          res,
          action,
          `<PolicyVersion><Document>${encodeURIComponent(JSON.stringify(state.policies[arn]))}</Document>`
            + `<VersionId>${xml(params.get('VersionId') ?? 'v1')}</VersionId><IsDefaultVersion>true</IsDefaultVersion></PolicyVersion>`,
        );
      }
      case 'SimulatePrincipalPolicy': {
        const source = params.get('PolicySourceArn') ?? '';
        const role = state.roles.find((r) => arnOf(r) === source);
        if (!role) return error(res, 404, 'NoSuchEntity', `PolicySourceArn ${source} is not a known role.`);
        const actions = members(params, 'ActionNames');
        const resources = members(params, 'ResourceArns');
        const context = contextEntries(params);
        const results: string[] = [];
        for (const a of actions) {
          for (const resource of resources.length ? resources : ['*']) {
            const decision = await simulate(state, role, source, a, resource, context);
            results.push(
              `<member><EvalActionName>${xml(a)}</EvalActionName><EvalResourceName>${xml(resource)}</EvalResourceName>`
                + `<EvalDecision>${decision}</EvalDecision><MatchedStatements/><MissingContextValues/></member>`,
            );
          }
        }
        return respond(res, action, `<EvaluationResults>${results.join('')}</EvaluationResults><IsTruncated>false</IsTruncated>`);
      }
      default:
        return error(res, 400, 'InvalidAction', `The action ${action} is not valid for this endpoint.`);
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(new URLSearchParams(Buffer.concat(chunks).toString('utf8')), res).catch((e: Error) => error(res, 400, 'InvalidInput', e.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
