import { Stack } from 'aws-cdk-lib';
import * as fs from 'fs';
import * as path from 'path';
import { buildApp } from '../../examples/production-app/main';
import { VerifyReport } from '../../lib/verify/analysis/analysis';
import { readAssembly } from '../../lib/verify/model/assembly';
import { resourceChecks } from '../../lib/verify/analysis/checks';
import { findResources } from '../../lib/verify/model/production-resources';
import { effectivePolicies, exportsOf, logicalIdOf } from '../support/effective-policies';
import { decide } from '../support/simulate';
import { Template } from '../support/template-resolver';
import { weakReferencesAsExports } from './cdk-init-context';
import { IncidentStack, cli, synthTo } from './verify-fixtures';

/** The templates of the assembly by stack name, weak cross-stack references (the `cdk init` default) read as exports. */
function templatesByStack(dir: string): Record<string, Template> {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.template.json'));
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  return weakReferencesAsExports(Object.fromEntries(files.map((f) => [f.replace(/\.template\.json$/, ''), read(f)])));
}

function templates(dir: string): Template[] {
  return Object.values(templatesByStack(dir));
}

function template(dir: string, stack: string): Template {
  return templatesByStack(dir)[stack];
}

describe('verify on the guarded example app (examples/production-app)', () => {
  let dir: string;
  let report: VerifyReport;
  let code: number;
  beforeAll(async () => {
    // GIVEN the example app synthesized into a fresh cdk.out
    dir = synthTo((app) => buildApp(app), 'verify-production-app-');
    // WHEN verify reads it
    const run = await cli('verify', dir, '--json');
    code = run.code;
    report = JSON.parse(run.stdout);
  });

  test('exits 0: the agent can destroy no production resource and cannot escalate', () => {
    expect(code).toBe(0);
    expect(report.summary.clean).toBe(true);
    expect(report.agents.map((a) => a.agent)).toEqual(['ops-assistant']);
    const agent = report.agents[0];
    expect(agent.canDestroyProduction).toBe(false);
    expect(agent.canEscalate).toBe(false);
    expect(agent.detectedBy).toBe('tag');
    expect(agent.boundary).toBeDefined();
  });

  test('every production resource of the app is assessed, the dev table is not production', () => {
    const ids = report.productionResources.map((r) => r.id);
    for (const expected of [
      'Production/Orders',
      'Production/Customers',
      'Production/Invoices',
      'Production/Jobs',
      'Production/DataKey',
      'Production/Zone',
    ]) {
      expect(ids).toContain(expected);
    }
    // the stacks themselves: deleting a stack deletes what it holds
    expect(ids).toEqual(expect.arrayContaining(['Production', 'Agent']));
    expect(ids.some((id) => id.startsWith('Dev'))).toBe(false);
    const agent = report.agents[0];
    for (const r of agent.resources) {
      expect({ resource: r.resource, destroy: r.canDestroy, data: r.canDeleteData, tags: r.canRetag }).toEqual({
        resource: r.resource,
        destroy: [],
        data: [],
        tags: [],
      });
      expect(r.checked).toBeGreaterThan(0);
    }
    // the explicit queue-consumer grant keeps working, and is reported as such, with what else it can change
    const jobs = agent.resources.find((r) => r.resource === 'Production/Jobs')!;
    expect(jobs.grantedData).toEqual(['sqs:DeleteMessage']);
    expect(jobs.canModify).toContain('sqs:ChangeMessageVisibility');
    // every value of its policies was resolved, the cross-stack imports of the production ARNs included
    expect(agent.unresolvedValues).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.nonProductionResources).toEqual(expect.arrayContaining(['Dev', 'Dev/Scratch']));
  });

  test('the independent simulator agrees: every destroy and tag change verify checked is explicitly denied', async () => {
    // GIVEN the agent's policies read from the template by the test's own reader
    const agentTemplate = template(dir, 'Agent');
    const policies = effectivePolicies(agentTemplate, logicalIdOf(agentTemplate, 'AWS::IAM::Role', 'OpsAssistant'), exportsOf(templates(dir)));
    const inventory = findResources(readAssembly(dir));
    const notDenied: string[] = [];
    let evaluated = 0;
    for (const resource of inventory.production) {
      for (const check of resourceChecks(resource).filter((c) => c.category !== 'data')) {
        evaluated++;
        // WHEN @cloud-copilot/iam-simulate evaluates it under the action's real request context
        const decision = await decide(policies, {
          action: check.action,
          resource: check.arn.replace(':000000000000:', ':123456789012:'),
          tags: resource.tags,
        });
        if (decision !== 'ExplicitlyDenied') notDenied.push(`${check.action} on ${resource.id}: ${decision}`);
      }
    }
    // THEN it is denied, as verify reported
    expect(evaluated).toBeGreaterThan(60);
    expect(notDenied).toEqual([]);
  });

  test('the terminal table names the agent and says OK', async () => {
    const run = await cli('verify', dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/AGENT\s+RESOURCE\s+VERDICT/);
    expect(run.stdout).toMatch(/ops-assistant\s+Production\/Orders\s+guarded/);
    expect(run.stdout).toContain('OK: no agent can destroy production or escalate');
  });
});

describe('verify on the incident (a plain role with PowerUserAccess beside production)', () => {
  let dir: string;
  beforeAll(() => {
    dir = synthTo((app) => {
      new IncidentStack(app, 'Incident', { account: '123456789012' });
    }, 'verify-incident-');
  });

  test('fails with exit 1, naming the role and the production resources it can destroy', async () => {
    // WHEN verify reads the incident app
    const run = await cli('verify', dir);
    // THEN the pipeline fails
    expect(run.code).toBe(1);
    // the role is found through its Bedrock trust, and named
    expect(run.stdout).toContain('Incident/OpsAgentRole');
    expect(run.stdout).toContain('arn:aws:iam::123456789012:role/ops-agent-role');
    expect(run.stdout).toMatch(/Incident\/OpsAgentRole\s+Incident\/CustomersDb\s+CAN\s+DESTROY rds:DeleteDBInstance/);
    expect(run.stdout).toMatch(/Incident\/OpsAgentRole\s+Incident\/Orders\s+CAN\s+DESTROY dynamodb:DeleteTable/);
    expect(run.stdout).toContain(
      'FAIL: can destroy production: Incident/OpsAgentRole; can harm production (a harmful class): Incident/OpsAgentRole; ' +
        'can escalate: Incident/OpsAgentRole',
    );
  });

  test('the independent simulator agrees with every destructive action verify reports', async () => {
    const run = await cli('verify', dir, '--json');
    const report: VerifyReport = JSON.parse(run.stdout);
    const agent = report.agents[0];
    expect(agent.detectedBy).toBe('agent-service');
    const incident = template(dir, 'Incident');
    const policies = effectivePolicies(incident, logicalIdOf(incident, 'AWS::IAM::Role', 'OpsAgentRole'));
    const database = agent.resources.find((r) => r.resource === 'Incident/CustomersDb')!;
    const table = agent.resources.find((r) => r.resource === 'Incident/Orders')!;
    expect(database.canDestroy).toContain('rds:DeleteDBInstance');
    expect(table.canDestroy).toContain('dynamodb:DeleteTable');
    expect(table.canDeleteData).toContain('dynamodb:DeleteItem');
    const disagreements: string[] = [];
    for (const r of [database, table]) {
      for (const action of [...r.canDestroy, ...r.canDeleteData, ...r.canRetag]) {
        const decision = await decide(policies, { action, resource: r.arn, tags: { environment: 'production' } });
        if (decision !== 'Allowed') disagreements.push(`${action} on ${r.resource}: ${decision}`);
      }
    }
    expect(disagreements).toEqual([]);
    // and the escalation it reports: assuming CDK's deploy role
    expect(agent.escalation.allowed).toEqual(expect.arrayContaining([expect.objectContaining({ group: 'assume-role', action: 'sts:AssumeRole' })]));
    await expect(
      decide(policies, { action: 'sts:AssumeRole', resource: 'arn:aws:iam::123456789012:role/cdk-hnb659fds-deploy-role-123456789012-us-east-1' }),
    ).resolves.toBe('Allowed');
  });

  test('--markdown renders a pull request comment with the findings', async () => {
    const run = await cli('verify', dir, '--markdown');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('## cdk-agent-guardrails verify: ❌');
    expect(run.stdout).toContain('| Agent | Resource | Verdict | Can destroy or escalate | Guarded |');
    expect(run.stdout).toMatch(/\| Incident\/OpsAgentRole \| Incident\/CustomersDb \| 🔴 can \| DESTROY rds:DeleteDBInstance/);
  });
});

describe('verify on examples/incident-app', () => {
  test('the incident as written fails (exit 1) naming the role and the database; with GuardAgents applied it passes (exit 0)', async () => {
    // GIVEN the incident example, as written and with GuardAgents applied
    const { buildIncidentApp } = await import('../../examples/incident-app/main');
    const unguarded = synthTo((app) => {
      buildIncidentApp(app);
    }, 'verify-incident-app-');
    const guarded = synthTo((app) => {
      buildIncidentApp(app, { guardAgents: true });
    }, 'verify-incident-app-guarded-');
    // WHEN verify reads each
    const before = await cli('verify', unguarded);
    const after = await cli('verify', guarded, '--json');
    // THEN the unguarded role can delete the production database, and verify says so by name
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/Incident\/OpsAgentRole\s+Incident\/Customers\s+CAN\s+DESTROY rds:DeleteDBInstance/);
    expect(before.stdout).toContain('FAIL: can destroy production: Incident/OpsAgentRole');
    // and once guarded, the same role (PowerUserAccess still attached) cannot
    const report: VerifyReport = JSON.parse(after.stdout);
    expect(after.code).toBe(0);
    expect(report.agents).toHaveLength(1);
    expect(report.agents[0].policies.map((p) => p.name)).toContain('PowerUserAccess');
    const database = report.agents[0].resources.find((r) => r.resource === 'Incident/Customers')!;
    expect(database.canDestroy).toEqual([]);
    expect(database.denied).toBeGreaterThan(0);
  });
});

describe('verify finds agents and resources wherever the app puts them', () => {
  test('an agent in a nested stack, a production table in another nested stack, and --agent for an unmarked role', async () => {
    // GIVEN nested stacks, a plain role nobody marked as an agent, and one marked with the tag
    const { NestedStack, Tags } = await import('aws-cdk-lib');
    const iam = await import('aws-cdk-lib/aws-iam');
    const dynamodb = await import('aws-cdk-lib/aws-dynamodb');
    const dir = synthTo((app) => {
      const stack = new Stack(app, 'Parent');
      const data = new NestedStack(stack, 'Data');
      const table = new dynamodb.Table(data, 'Ledger', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      const agents = new NestedStack(stack, 'Agents');
      const tagged = new iam.Role(agents, 'Tagged', { assumedBy: new iam.AccountRootPrincipal() });
      Tags.of(tagged).add('guardrails:agent', 'nested-bot');
      table.grantFullAccess(tagged);
      new iam.Role(stack, 'Runner', {
        assumedBy: new iam.AccountRootPrincipal(),
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
      });
    }, 'verify-nested-');
    // WHEN verify runs, once naming the runner role as an agent too
    const plain = await cli('verify', dir, '--json');
    const named = await cli('verify', dir, '--json', '--agent', 'Parent/Runner');
    // THEN the tagged role in the nested stack is found and can destroy the table of the other nested stack
    const report: VerifyReport = JSON.parse(plain.stdout);
    expect(plain.code).toBe(1);
    expect(report.agents.map((a) => a.agent)).toEqual(['nested-bot']);
    const ledger = report.agents[0].resources.find((r) => r.resource.includes('Ledger'))!;
    expect(ledger.canDestroy).toContain('dynamodb:DeleteTable');
    // and the named role joins the verified agents
    const withRunner: VerifyReport = JSON.parse(named.stdout);
    expect(withRunner.agents.map((a) => `${a.agent}:${a.detectedBy}`).sort()).toEqual(['Parent/Runner:named', 'nested-bot:tag']);
    expect(withRunner.agents.find((a) => a.detectedBy === 'named')!.canEscalate).toBe(true);
  });

  test('an AWS managed policy without a shipped document is UNKNOWN, evaluated as the worst case, and fails the run', async () => {
    const iam = await import('aws-cdk-lib/aws-iam');
    const { Tags } = await import('aws-cdk-lib');
    const dir = synthTo((app) => {
      const stack = new Stack(app, 'Ops');
      const role = new iam.Role(stack, 'Bot', {
        assumedBy: new iam.AccountRootPrincipal(),
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonMQFullAccess')],
      });
      Tags.of(role).add('guardrails:agent', 'mq-bot');
    }, 'verify-unknown-');
    const run = await cli('verify', dir, '--json');
    const report: VerifyReport = JSON.parse(run.stdout);
    expect(run.code).toBe(1);
    expect(report.agents[0].policies).toEqual([{ name: 'AmazonMQFullAccess', source: 'unknown', arn: 'arn:aws:iam::aws:policy/AmazonMQFullAccess' }]);
    expect(report.agents[0].uncertain).toBe(true);
    expect(report.agents[0].canDestroyProduction).toBe(false);
    expect(report.warnings.join('\n')).toContain('AmazonMQFullAccess is UNKNOWN');
  });

  test('shows progress on stderr for a large assembly', async () => {
    const iam = await import('aws-cdk-lib/aws-iam');
    const { Tags } = await import('aws-cdk-lib');
    const dir = synthTo((app) => {
      const stack = new Stack(app, 'Many');
      for (let i = 0; i < 12; i++) {
        const role = new iam.Role(stack, `Bot${i}`, { assumedBy: new iam.AccountRootPrincipal() });
        Tags.of(role).add('guardrails:agent', `bot-${i}`);
      }
    }, 'verify-many-');
    const run = await cli('verify', dir);
    expect(run.code).toBe(0);
    expect(run.err.filter((l) => /verify: \d+\/12 agents evaluated/.test(l)).length).toBeGreaterThanOrEqual(5);
    expect(run.err[run.err.length - 1]).toMatch(/12\/12 agents evaluated \(100%/);
  });
});
