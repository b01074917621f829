import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as http from 'http';
import { AddressInfo } from 'net';
import { VerifyReport } from '../../lib/verify/analysis/analysis';
import { wildcardRegex } from '../../lib/shared/iam-data';
import { LocalIamEndpoint, LocalIamState, startLocalIamSimulatorEndpoint } from '../support/local-iam-simulator-endpoint';
import { cli, synthTo } from './verify-fixtures';

// verify --live against the local IAM endpoint (decisions from @cloud-copilot/iam-simulate), behind
// a 127.0.0.1 proxy that adds what the stand-in leaves out and IAM returns: MissingContextValues,
// the condition keys of the role's policies the request did not supply. The SDK client is real.

const ACCOUNT = '123456789012';
const ROLE = 'region-bound-agent';
const GRANTEE = 'bucket-policy-grantee';

/** The condition keys of the statements whose Action names this action (IAM lists those it could not evaluate). */
function conditionKeysFor(document: any, action: string): string[] {
  const statements = Array.isArray(document?.Statement) ? document.Statement : [document?.Statement];
  const names = (s: any) => (Array.isArray(s?.Action) ? s.Action : [s?.Action]).filter((a: unknown): a is string => typeof a === 'string');
  const matches = (pattern: string) => wildcardRegex(pattern).test(action);
  return statements
    .filter((s: any) => names(s).some(matches))
    .flatMap((s: any) => Object.values(s?.Condition ?? {}).flatMap((entries: any) => Object.keys(entries ?? {})));
}

interface Proxy {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Forwards to the stand-in and fills MissingContextValues of SimulatePrincipalPolicy results as IAM does. */
async function startMissingContextProxy(target: string, policy: unknown): Promise<Proxy> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const params = new URLSearchParams(body);
      const upstream = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': String(req.headers['content-type'] ?? 'application/x-www-form-urlencoded') },
        body,
      });
      let text = await upstream.text();
      if (params.get('Action') === 'SimulatePrincipalPolicy') {
        const given = new Set<string>();
        for (let i = 1; params.has(`ContextEntries.member.${i}.ContextKeyName`); i++)
          given.add(params.get(`ContextEntries.member.${i}.ContextKeyName`)!.toLowerCase());
        const hasResources = params.has('ResourceArns.member.1');
        text = text.replace(
          /<member><EvalActionName>([^<]*)<\/EvalActionName><EvalResourceName>([^<]*)<\/EvalResourceName><EvalDecision>([^<]*)<\/EvalDecision>(.*?)<MissingContextValues\/><\/member>/g,
          (_m, action: string, resource: string, decision: string, rest: string) => {
            const missing = [...new Set(conditionKeysFor(policy, action))].filter((k) => !given.has(k.toLowerCase()));
            const list = `<MissingContextValues>${missing.map((k) => `<member>${k}</member>`).join('')}</MissingContextValues>`;
            // As IAM does: per resource when ResourceArns were given, on the result when the resource is *.
            return hasResources
              ? `<member><EvalActionName>${action}</EvalActionName><EvalResourceName>${resource}</EvalResourceName>` +
                  `<EvalDecision>${decision}</EvalDecision>${rest}<MissingContextValues/><ResourceSpecificResults><member>` +
                  `<EvalResourceName>${resource}</EvalResourceName><EvalResourceDecision>${decision}</EvalResourceDecision>${list}</member>` +
                  `</ResourceSpecificResults></member>`
              : `<member><EvalActionName>${action}</EvalActionName><EvalResourceName>${resource}</EvalResourceName>` +
                  `<EvalDecision>${decision}</EvalDecision>${rest}${list}</member>`;
          },
        );
      }
      res.writeHead(upstream.status, { 'content-type': 'text/xml' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('verify --live treats a decision IAM made without a context key as possible', () => {
  let endpoint: LocalIamEndpoint;
  let proxy: Proxy;
  let app: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIALOCALTEST0000000';
    process.env.AWS_SECRET_ACCESS_KEY = 'local-secret';
    delete process.env.AWS_PROFILE;
    app = synthTo((a) => {
      const stack = new Stack(a, 'Data', { env: { account: ACCOUNT, region: 'us-east-1' } });
      const bucket = new s3.Bucket(stack, 'Invoices');
      // the bucket's policy hands a second deployed role s3:DeleteBucket
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ArnPrincipal(`arn:aws:iam::${ACCOUNT}:role/${GRANTEE}`)],
          actions: ['s3:DeleteBucket'],
          resources: [bucket.bucketArn],
        }),
      );
    }, 'verify-live-missing-');
    // GIVEN a deployed role allowed s3:DeleteBucket in us-east-1 only: every request it makes there carries the key
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          actions: ['s3:DeleteBucket'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } },
        }),
      ],
    }).toJSON();
    const state: LocalIamState = {
      roles: [
        { name: ROLE, account: ACCOUNT, inline: { RegionBound: policy } },
        { name: GRANTEE, account: ACCOUNT },
      ],
      policies: {},
    };
    endpoint = await startLocalIamSimulatorEndpoint(state);
    proxy = await startMissingContextProxy(endpoint.endpoint, policy);
  });

  afterAll(async () => {
    await proxy?.close();
    await endpoint?.close();
    process.env = savedEnv;
  });

  test('fails when IAM answers implicitDeny only because aws:RequestedRegion was missing', async () => {
    // WHEN verify --live asks IAM about the role
    const run = await cli('verify', app, '--live', '--role-arn', `arn:aws:iam::${ACCOUNT}:role/${ROLE}`, '--endpoint', proxy.endpoint, '--json');
    const report: VerifyReport = JSON.parse(run.stdout);
    // THEN the bucket counts as destructible, the run fails, and the assumption is named
    expect(run.code).toBe(1);
    const agent = report.agents[0];
    const bucket = agent.resources.find((r) => r.resource === 'Data/Invoices')!;
    expect(bucket.canDestroy).toEqual(['s3:DeleteBucket']);
    expect(agent.assumed).toEqual(['aws:RequestedRegion']);
    expect(report.warnings.join('\n')).toContain('assumed: aws:RequestedRegion');
    // and only the action the role's policy names is possible: nothing else became a finding
    expect(agent.resources.flatMap((r) => [...r.canDestroy, ...r.canDeleteData, ...r.canRetag])).toEqual(['s3:DeleteBucket', 's3:DeleteBucket']);
  });

  test("fails when the app's bucket policy grants the deployed role s3:DeleteBucket (IAM is not told about it)", async () => {
    // WHEN verify --live asks about a role with no identity policy at all
    const run = await cli('verify', app, '--live', '--role-arn', `arn:aws:iam::${ACCOUNT}:role/${GRANTEE}`, '--endpoint', proxy.endpoint, '--json');
    const report: VerifyReport = JSON.parse(run.stdout);
    // THEN the bucket policy's grant is applied and the run fails
    expect(run.code).toBe(1);
    const bucket = report.agents[0].resources.find((r) => r.resource === 'Data/Invoices')!;
    expect(bucket.canDestroy).toEqual(['s3:DeleteBucket']);
    expect(report.agents[0].resourceGrants).toEqual([expect.objectContaining({ scope: 'role', certain: true })]);
  });
});
