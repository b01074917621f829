import { runSimulation } from '@cloud-copilot/iam-simulate';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DESTRUCTIVE_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { dataGuardStatements, staticGuardStatements } from '../../lib/guard/private/guard-statements';
import { toList } from '../../lib/shared/list';
import { ProductionScope } from '../../lib/guard/production-scope';
import { requestContext, sampleArns } from '../support/request-context';
import { cli } from './verify-fixtures';

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
interface Scp {
  name: string;
  size: number;
  document: any;
}

const ACCOUNT = '123456789012';
const FULL_AWS_ACCESS = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const ADMIN = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/**
 * Evaluates a request of a principal with AdministratorAccess under the exported SCPs (beside
 * FullAWSAccess, as an organization has them), with @cloud-copilot/iam-simulate, under the
 * realistic request context of the action.
 */
async function underScps(
  scps: Scp[],
  request: { action: string; resource: string; tags: Record<string, string>; agent: boolean; context?: Record<string, string | string[]> },
): Promise<Decision> {
  const contextVariables: Record<string, string | string[]> = {
    ...requestContext(request.action, request.resource, request.tags),
    ...(request.context ?? {}),
  };
  if (request.agent) contextVariables['aws:PrincipalTag/guardrails:agent'] = 'ops-assistant';
  const result: any = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/agent`,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables,
      },
      identityPolicies: [{ name: 'AdministratorAccess', policy: ADMIN }],
      serviceControlPolicies: [
        {
          orgIdentifier: 'r-root',
          policies: [{ name: 'FullAWSAccess', policy: FULL_AWS_ACCESS }, ...scps.map((s) => ({ name: s.name, policy: s.document }))],
        },
      ],
      resourceControlPolicies: [],
      resourcePolicy: request.resource.startsWith('arn:aws:kms:')
        ? {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
          }
        : undefined,
    },
    {},
  );
  if (result.resultType === 'error')
    throw new Error(`simulation of ${request.action} on ${request.resource} failed: ${JSON.stringify(result.errors)}`);
  const ignored = result.result?.ignoredContextKeys ?? [];
  if (ignored.length > 0)
    throw new Error(`the simulator ignored context keys ${ignored.join(', ')} for ${request.action}: the test context is not realistic`);
  return result.overallResult;
}

/** Like decideOnSample: an ARN of the action's own resource type, the next one when ambiguous. */
async function underScpsOnSample(scps: Scp[], request: { action: string; tags: Record<string, string>; agent: boolean }): Promise<Decision> {
  const candidates = sampleArns(request.action);
  if (candidates.length === 0) return underScps(scps, { ...request, resource: '*' });
  let lastError: Error | undefined;
  for (const resource of candidates) {
    try {
      return await underScps(scps, { ...request, resource });
    } catch (e) {
      lastError = e as Error;
      if (!/multiple\.resource\.types/.test(lastError.message)) throw e;
    }
  }
  return underScps(scps, { ...request, resource: candidates[0].replace(/[^:/]+$/, '*') }).catch(() => {
    throw lastError;
  });
}

describe('export-scp: the production guard as service control policies for agent principals', () => {
  let scps: Scp[];
  beforeAll(async () => {
    // WHEN the guard is exported with the defaults (fail closed)
    const run = await cli('export-scp');
    expect(run.code).toBe(0);
    scps = JSON.parse(run.stdout);
  });

  test('every SCP fits the 5,120-character quota, split into several SCPs rather than trimmed', () => {
    expect(scps.length).toBeGreaterThan(1);
    for (const scp of scps) {
      expect(JSON.stringify(scp.document).length).toBe(scp.size);
      expect(scp.size).toBeLessThanOrEqual(5120);
    }
    // nothing dropped: every action pattern of the guard is in some SCP
    const guard = [...staticGuardStatements(ProductionScope.failClosed()), ...dataGuardStatements(ProductionScope.failClosed(), new Map())];
    const exported = new Set(scps.flatMap((s) => s.document.Statement.flatMap((st: any) => toList(st.Action))));
    const expected = new Set(guard.flatMap((st) => toList(st.Action)));
    expect([...expected].filter((a) => !exported.has(a))).toEqual([]);
    // every statement is for agent principals only
    for (const statement of scps.flatMap((s) => s.document.Statement)) {
      expect(statement.Condition.Null).toEqual({ 'aws:PrincipalTag/guardrails:agent': 'false' });
    }
  });

  test('an agent principal with AdministratorAccess cannot run any action of the destructive catalog on an untagged resource', async () => {
    const allowed: string[] = [];
    for (const [action] of DESTRUCTIVE_CATALOG) {
      const decision = await underScpsOnSample(scps, { action, tags: {}, agent: true });
      if (decision !== 'ExplicitlyDenied') allowed.push(`${action}: ${decision}`);
    }
    expect(allowed).toEqual([]);
  });

  test('on production-tagged resources the agent is denied, on dev-tagged ones it is not, and non-agents are untouched', async () => {
    const database = { action: 'rds:DeleteDBInstance', resource: `arn:aws:rds:us-east-1:${ACCOUNT}:db:orders` };
    const table = { action: 'dynamodb:DeleteTable', resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders` };
    for (const request of [database, table]) {
      await expect(underScps(scps, { ...request, tags: { environment: 'production' }, agent: true })).resolves.toBe('ExplicitlyDenied');
      await expect(underScps(scps, { ...request, tags: { environment: 'dev' }, agent: true })).resolves.toBe('Allowed');
      await expect(underScps(scps, { ...request, tags: { environment: 'production' }, agent: false })).resolves.toBe('Allowed');
    }
    // the production tag cannot be relabelled by the agent
    await expect(
      underScps(scps, {
        action: 'dynamodb:TagResource',
        resource: table.resource,
        tags: { environment: 'production' },
        agent: true,
        context: { 'aws:TagKeys': ['environment'], 'aws:RequestTag/environment': 'dev' },
      }),
    ).resolves.toBe('ExplicitlyDenied');
    // an S3 bucket without ABAC carries no tag in the context: protected even when tagged dev
    await expect(
      underScps(scps, { action: 's3:DeleteBucket', resource: 'arn:aws:s3:::scratch', tags: { environment: 'dev' }, agent: true }),
    ).resolves.toBe('ExplicitlyDenied');
  });

  test('--with-escalation adds the escalation denies: no CDK deploy role, no IAM writes, no task tokens for agents', async () => {
    const run = await cli('export-scp', '--with-escalation');
    expect(run.code).toBe(0);
    const withEscalation: Scp[] = JSON.parse(run.stdout);
    for (const scp of withEscalation) expect(scp.size).toBeLessThanOrEqual(5120);
    const cdkRole = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-deploy-role-${ACCOUNT}-us-east-1`;
    await expect(underScps(withEscalation, { action: 'sts:AssumeRole', resource: cdkRole, tags: {}, agent: true })).resolves.toBe('ExplicitlyDenied');
    await expect(underScps(withEscalation, { action: 'sts:AssumeRole', resource: cdkRole, tags: {}, agent: false })).resolves.toBe('Allowed');
    await expect(
      underScps(withEscalation, { action: 'iam:AttachRolePolicy', resource: `arn:aws:iam::${ACCOUNT}:role/agent`, tags: {}, agent: true }),
    ).resolves.toBe('ExplicitlyDenied');
    await expect(underScps(withEscalation, { action: 'states:SendTaskSuccess', resource: '*', tags: {}, agent: true })).resolves.toBe(
      'ExplicitlyDenied',
    );
    // without the flag, those stay with the agent role's own policies
    await expect(underScps(scps, { action: 'sts:AssumeRole', resource: cdkRole, tags: {}, agent: true })).resolves.toBe('Allowed');
  });

  test('--out-dir writes one JSON file per SCP', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scp-'));
    const run = await cli('export-scp', '--out-dir', dir);
    expect(run.code).toBe(0);
    const files = fs.readdirSync(dir).sort();
    expect(files.length).toBe(scps.length);
    for (const file of files) expect(fs.readFileSync(path.join(dir, file), 'utf8').length).toBeLessThanOrEqual(5120);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('fails clearly (exit 7) when the guard does not fit in the SCPs the user can attach, dropping nothing', async () => {
    const run = await cli('export-scp', '--max-policies', '2');
    expect(run.code).toBe(7);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/the production guard needs \d+ service control policies of at most 5120 characters, more than --max-policies 2/);
    expect(run.stderr).toContain('Nothing was dropped to fit.');
  });

  test('fails with a usage error (exit 2) for a bad option value', async () => {
    const run = await cli('export-scp', '--accounts', '12345');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"12345" is not a 12-digit AWS account ID');
  });
});
