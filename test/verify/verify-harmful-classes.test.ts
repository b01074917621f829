/**
 * The per-class outage view (issue 10, issue 12 item 8): for each harmful class, an app whose agent can do it
 * is reported by `verify` (exit 1, naming agent, resource, class, action and the allowing statement) AND by the
 * rule pack (AG9 fails synth), and IAM's behaviour is confirmed by an independent simulator; the same agent
 * under GuardAgents is clean in both.
 */
import { App, Aspects, Duration, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { GuardAgents } from '../../lib/guard/guard-agents';
import { HARMFUL_ACTION_CLASSES, isInClass } from '../../lib/shared/action-classes';
import { HARM_CLASSES, VerifyReport } from '../../lib/verify/analysis/analysis';
import { effectivePolicies, logicalIdOf } from '../support/effective-policies';
import { decide } from '../support/simulate';
import { Template } from '../support/template-resolver';
import { cdkInitContext } from './cdk-init-context';
import { cli, synthTo } from './verify-fixtures';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

type Target = 'table' | 'key' | 'vpc' | 'zone' | 'function' | 'rule';

/** One action of each harmful class, on a production resource the app defines. */
const CASES: ReadonlyArray<{ cls: string; action: string; target: Target }> = [
  { cls: 'destructive', action: 'dynamodb:DeleteTable', target: 'table' },
  { cls: 'data-destructive', action: 'dynamodb:BatchWriteItem', target: 'table' },
  { cls: 'disruptive', action: 'kms:DisableKey', target: 'key' },
  { cls: 'network-isolation', action: 'ec2:AssociateVpcCidrBlock', target: 'vpc' },
  { cls: 'traffic', action: 'route53:ChangeResourceRecordSets', target: 'zone' },
  { cls: 'reconfigure', action: 'dynamodb:UpdateContributorInsights', target: 'table' },
  { cls: 'code-execution', action: 'lambda:InvokeFunction', target: 'function' },
  { cls: 'guardrail-blinding', action: 'events:DisableRule', target: 'rule' },
];

/** A production stack, and a plain role Bedrock assumes with one extra inline allow on `*` (not an explicit grant). */
function build(app: App, action: string, guarded: boolean): void {
  const stack = new Stack(app, 'Prod', { env: { account: ACCOUNT, region: REGION } });
  Tags.of(stack).add('environment', 'production');
  new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  new kms.Key(stack, 'DataKey');
  new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [], restrictDefaultSecurityGroup: false });
  new route53.PublicHostedZone(stack, 'Zone', { zoneName: 'example.com' });
  new lambda.Function(stack, 'Handler', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('1') });
  new events.Rule(stack, 'Nightly', { schedule: events.Schedule.rate(Duration.days(1)) });
  const role = new iam.Role(stack, 'OpsAgent', {
    assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('bedrock.amazonaws.com'), { StringEquals: { 'aws:SourceAccount': ACCOUNT } }),
  });
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'TooBroad', actions: [action], resources: ['*'] }));
  if (guarded) Aspects.of(app).add(new GuardAgents());
}

/** The agent of the fixture, whatever it is named (GuardAgents tags it with an agent name). */
function opsAgent(report: VerifyReport) {
  const agent = report.agents.find((a) => a.constructPath === 'Prod/OpsAgent/Resource');
  if (!agent) throw new Error(`no Prod/OpsAgent among ${report.agents.map((a) => a.constructPath).join(', ')}`);
  return agent;
}

function templateOf(dir: string): Template {
  return JSON.parse(fs.readFileSync(path.join(dir, 'Prod.template.json'), 'utf8'));
}

describe('each harmful class an agent can perform on production is a finding of verify and of the rule pack', () => {
  test('the cases cover every harmful class, each with an action of that class', () => {
    expect(CASES.map((c) => c.cls)).toEqual([...HARMFUL_ACTION_CLASSES]);
    expect(HARM_CLASSES).toEqual(HARMFUL_ACTION_CLASSES);
    for (const c of CASES) expect(isInClass(c.action, c.cls as (typeof HARMFUL_ACTION_CLASSES)[number])).toBe(true);
  });

  describe.each(CASES)('$cls ($action)', ({ cls, action }) => {
    let dir: string;
    let report: VerifyReport;
    let code: number;
    beforeAll(async () => {
      // GIVEN an unguarded agent role with one allow of an action of the class on "*"
      dir = synthTo((app) => build(app, action, false), `verify-class-${cls}-`);
      // WHEN verify reads the assembly
      const run = await cli('verify', dir, '--json');
      code = run.code;
      report = JSON.parse(run.stdout);
    });

    test('verify exits 1 and names agent, resource, class, action and the statement that allowed it', () => {
      expect(code).toBe(1);
      const agent = opsAgent(report);
      expect(agent.canHarmProduction).toBe(true);
      expect(report.summary.agentsThatCanHarmProduction).toContain('Prod/OpsAgent');
      const finding = agent.harms.find((h) => h.class === cls && h.action === action);
      expect(finding).toBeDefined();
      expect(finding!.statement).toMatch(/#TooBroad$/);
      expect(finding!.stack).toBe('Prod');
      const cell = agent.resources.find((r) => r.resource === finding!.resource)!.byClass[cls];
      expect(cell.status).toBe('allowed');
    });

    test('the independent simulator agrees: the action is allowed on that resource under its real request context', async () => {
      const agent = opsAgent(report);
      const template = templateOf(dir);
      const policies = effectivePolicies(template, logicalIdOf(template, 'AWS::IAM::Role', 'OpsAgent'));
      const harmed = agent.harms.filter((h) => h.class === cls && h.action === action);
      for (const h of harmed) {
        const resource = agent.resources.find((r) => r.resource === h.resource)!;
        await expect(decide(policies, { action, resource: resource.arn, tags: { environment: 'production' } })).resolves.toBe('Allowed');
      }
    });

    test('the rule pack fails synth with AG9 for that class, naming the action and the statement', () => {
      const app = new App({ context: cdkInitContext() });
      build(app, action, false);
      app.synth();
      const violations = new AgentGuardrailsChecks(app).validateScope(app).violations.filter((v) => v.ruleName.includes('AG9'));
      const ours = violations.find((v) => v.ruleName.startsWith(`AgentGuardrails-AG9[${cls}::`));
      expect(ours).toBeDefined();
      expect(ours!.severity).toBe('error');
      expect(ours!.description).toContain(action);
      expect(ours!.description).toContain('#TooBroad');
      expect(ours!.description).not.toContain('(finding:');
      // the pack and verify agree on which resources the class reaches
      const agent = opsAgent(report);
      const fromVerify = [...new Set(agent.harms.filter((h) => h.class === cls).map((h) => `AgentGuardrails-AG9[${cls}::${h.resource}]`))].sort();
      expect(
        violations
          .filter((v) => v.ruleName.startsWith(`AgentGuardrails-AG9[${cls}::`))
          .map((v) => v.ruleName)
          .sort(),
      ).toEqual(fromVerify);
    });

    test('under GuardAgents the same agent is clean in verify and in the pack, and the simulator denies the action', async () => {
      // GIVEN the same app with GuardAgents applied
      const guardedDir = synthTo((app) => build(app, action, true), `verify-class-${cls}-guarded-`);
      // WHEN verify and the pack read it
      const run = await cli('verify', guardedDir, '--json');
      const guarded: VerifyReport = JSON.parse(run.stdout);
      const agent = opsAgent(guarded);
      // THEN no harmful class is allowed on any production resource
      expect(agent.harms).toEqual([]);
      expect(agent.canHarmProduction).toBe(false);
      const app = new App({ context: cdkInitContext() });
      build(app, action, true);
      app.synth();
      expect(new AgentGuardrailsChecks(app).validateScope(app).violations.filter((v) => v.ruleName.includes('AG9'))).toEqual([]);
      // and the simulator denies the action on each resource the unguarded agent could reach
      const template = templateOf(guardedDir);
      const policies = effectivePolicies(template, logicalIdOf(template, 'AWS::IAM::Role', 'OpsAgent'));
      const unguarded = opsAgent(report);
      for (const h of unguarded.harms.filter((x) => x.action === action)) {
        const resource = agent.resources.find((r) => r.resource === h.resource)!;
        await expect(decide(policies, { action, resource: resource.arn, tags: { environment: 'production' } })).resolves.not.toBe('Allowed');
      }
    });
  });
});

describe('gated operations and explicit grants', () => {
  test('an operation the agent can only request through an approval gate is "gated", naming the gate; an explicit grant is "granted"', async () => {
    // GIVEN the guarded example app: an ApprovalGate gates rds:DeleteDBInstance on the Orders database; the agent consumes a queue
    const { buildApp } = await import('../../examples/production-app/main');
    const dir = synthTo((app) => buildApp(app), 'verify-class-gated-');
    // WHEN verify reads it
    const run = await cli('verify', dir, '--json');
    const report: VerifyReport = JSON.parse(run.stdout);
    const agent = report.agents[0];
    const orders = agent.resources.find((r) => r.resource === 'Production/Orders')!;
    const jobs = agent.resources.find((r) => r.resource === 'Production/Jobs')!;
    // THEN deleting the database is gated (not "denied"), through the named gate, and not a finding
    expect(orders.byClass.destructive.status).toBe('gated');
    expect(orders.byClass.destructive.gated).toEqual([expect.stringMatching(/^rds:DeleteDBInstance \(approval gate .*ProductionApprovals.*\)$/)]);
    // and consuming the queue it was granted explicitly is "granted" (invariant 1b), also not a finding
    expect(jobs.byClass['data-destructive'].status).toBe('granted');
    expect(jobs.byClass['data-destructive'].granted).toContain('sqs:DeleteMessage');
    expect(agent.harms).toEqual([]);
    expect(run.code).toBe(0);
  });

  test('fails when the pack runs before synthesis: it cannot decide without the synthesized templates', () => {
    // GIVEN an app never synthesized (no cloud assembly in its outdir)
    const app = new App({ context: cdkInitContext(), outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'no-assembly-')) });
    build(app, 'dynamodb:DeleteTable', false);
    // WHEN the pack validates the tree directly
    const undecided = new AgentGuardrailsChecks(app).validateScope(app).violations.filter((v) => v.ruleName === 'AgentGuardrails-AG9');
    // THEN AG9 reports that it cannot decide, naming what is missing (fail closed: a violation, not a pass)
    expect(undecided).toHaveLength(1);
    expect(undecided[0].description).toContain('no cloud assembly yet');
  });
});
