/**
 * The pack and GuardAgents on every app in examples/ (each exports a `build…App(app?)` function):
 * the pack decides every rule; after GuardAgents every agent passes the guard rules and, under the
 * IAM simulator, can destroy no production resource.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { GuardAgents } from '../../lib/guard/guard-agents';
import { detectAgent } from '../../lib/guard/private/agent-detection';
import { effectivePolicies, exportsOf } from '../support/effective-policies';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION, Template } from '../support/template-resolver';
import { cdkInitContext, weakReferencesAsExports } from '../verify/cdk-init-context';

type Build = (app?: App) => App;

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const builders: Array<[string, Build]> = fs
  .readdirSync(EXAMPLES)
  .filter((dir) => fs.existsSync(path.join(EXAMPLES, dir, 'main.ts')))
  .flatMap((dir) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(EXAMPLES, dir, 'main.ts')) as Record<string, unknown>;
    return Object.entries(mod)
      .filter(([name, fn]) => typeof fn === 'function' && /^build\w*App$/.test(name))
      .map(([name, fn]): [string, Build] => [`${dir} (${name})`, fn as Build]);
  });

const GUARD_RULES = ['AG1', 'AG2', 'AG5', 'AG6'].map((id) => `AgentGuardrails-${id}`);
const DESTRUCTIVE = [
  ['rds:DeleteDBInstance', `arn:aws:rds:${REGION}:${ACCOUNT}:db:orders`],
  ['dynamodb:DeleteTable', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/customers`],
  ['s3:DeleteBucket', 'arn:aws:s3:::invoices'],
  ['kms:ScheduleKeyDeletion', `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`],
] as const;

function agentRolesOf(app: App): iam.CfnRole[] {
  return app.node.findAll().filter((c): c is iam.CfnRole => c instanceof iam.CfnRole && detectAgent(c).agent);
}

test('there are examples to check', () => {
  expect(builders.map(([name]) => name)).toEqual(expect.arrayContaining(['production-app (buildApp)', 'incident-app (buildIncidentApp)']));
});

describe.each(builders)('example %s', (_name, build) => {
  test('the pack decides every rule on it', () => {
    const app = build(new App({ context: cdkInitContext() }));
    app.synth();
    const undecided = new AgentGuardrailsChecks(app).validateScope(app).violations.filter((v) => v.description.includes('threw an error'));
    expect(undecided.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
  });

  test('after GuardAgents, every agent passes the guard rules and cannot destroy production', async () => {
    const app = build(new App({ context: cdkInitContext() }));
    Aspects.of(app).add(new GuardAgents());
    const assembly = app.synth();
    const names = new AgentGuardrailsChecks(app).validateScope(app).violations.map((v) => v.ruleName);
    expect(names.filter((n) => GUARD_RULES.some((id) => n === id || n.startsWith(`${id}[`)))).toEqual([]);

    const agents = agentRolesOf(app);
    expect(agents.length).toBeGreaterThan(0);
    // (weak cross-stack references, the `cdk init` default, read as exports by the test's own resolver)
    const byStack = weakReferencesAsExports(Object.fromEntries(assembly.stacks.map((s) => [s.stackName, s.template as Template])));
    const imports = exportsOf(Object.values(byStack));
    for (const role of agents) {
      const stack = Stack.of(role);
      const template = byStack[stack.stackName];
      const policies = effectivePolicies(template, stack.getLogicalId(role), imports);
      for (const [action, resource] of DESTRUCTIVE) {
        await expect(decide(policies, { action, resource, tags: { environment: 'production' } })).resolves.toBe('ExplicitlyDenied');
      }
    }
  });
});

describe('the production app', () => {
  const build = builders.find(([name]) => name.startsWith('production-app'))![1];

  test('passes every rule of the pack as written', () => {
    const app = build(new App({ context: cdkInitContext() }));
    app.synth();
    expect(new AgentGuardrailsChecks(app).validateScope(app).violations.map((v) => v.ruleName)).toEqual([]);
  });

  test('GuardAgents leaves it unchanged: its agent is an AgentRole already', () => {
    const plain = build(new App({ context: cdkInitContext() })).synth();
    const guardedApp = build(new App({ context: cdkInitContext() }));
    Aspects.of(guardedApp).add(new GuardAgents());
    const guarded = guardedApp.synth();
    for (const stack of plain.stacks) {
      expect(guarded.getStackByName(stack.stackName).template).toEqual(stack.template);
    }
  });
});
