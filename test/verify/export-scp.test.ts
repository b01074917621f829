import { runSimulation } from '@cloud-copilot/iam-simulate';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DESTRUCTIVE_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { renderOrganizationPolicies } from '../../lib/organization/private/render';
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
    // one renderer: exactly the SCPs of the organization guard (export-org-policies, OrganizationGuardrails), whose packing tests
    // prove that packing changes no decision
    const organization = renderOrganizationPolicies({ serviceControlPolicies: 50, resourceControlPolicies: 0 }).serviceControlPolicies;
    expect(scps.map((s) => s.document)).toEqual(organization.map((p) => p.document));
    // every statement is for agent principals only
    for (const statement of scps.flatMap((s) => s.document.Statement)) {
      expect(statement.Condition.Null).toMatchObject({ 'aws:PrincipalTag/guardrails:agent': 'false' });
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

  test('the escalation denies are always in: no CDK deploy role, IAM write or task token for agents; --with-escalation accepted', async () => {
    const run = await cli('export-scp', '--with-escalation');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('--with-escalation is no longer needed');
    expect(JSON.parse(run.stdout)).toEqual(scps);
    const cdkRole = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-deploy-role-${ACCOUNT}-us-east-1`;
    await expect(underScps(scps, { action: 'sts:AssumeRole', resource: cdkRole, tags: {}, agent: true })).resolves.toBe('ExplicitlyDenied');
    await expect(underScps(scps, { action: 'sts:AssumeRole', resource: cdkRole, tags: {}, agent: false })).resolves.toBe('Allowed');
    await expect(
      underScps(scps, { action: 'iam:AttachRolePolicy', resource: `arn:aws:iam::${ACCOUNT}:role/agent`, tags: {}, agent: true }),
    ).resolves.toBe('ExplicitlyDenied');
    await expect(underScps(scps, { action: 'states:SendTaskSuccess', resource: '*', tags: {}, agent: true })).resolves.toBe('ExplicitlyDenied');
  });

  test('production is read-only to agents: stopping and overwriting are denied too, on dev they are not', async () => {
    const instance = { action: 'ec2:StopInstances', resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0123456789abcdef0` };
    await expect(underScps(scps, { ...instance, tags: { environment: 'production' }, agent: true })).resolves.toBe('ExplicitlyDenied');
    await expect(underScps(scps, { ...instance, tags: { environment: 'dev' }, agent: true })).resolves.toBe('Allowed');
    await expect(underScps(scps, { ...instance, tags: { environment: 'production' }, agent: false })).resolves.toBe('Allowed');
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
    const run = await cli('export-scp', '--max-policies', '1');
    expect(run.code).toBe(7);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/needs \d+ service control policies of at most 5120 characters \(\d+ characters in all\), more than the budget of 1/);
    expect(run.stderr).toContain('Pass a larger --max-policies than 1');
    expect(run.stderr).toContain('Nothing was dropped to fit.');
  });

  test('fails with a usage error (exit 2) for a bad option value', async () => {
    const run = await cli('export-scp', '--accounts', '12345');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"12345" is not a 12-digit AWS account ID');
  });
});
