/**
 * The incident, replayed: a plain iam.Role trusted by Bedrock with PowerUserAccess, next to the
 * production database. The pack fails it; GuardAgents guards it; the IAM simulator shows that the
 * same role can no longer delete the database.
 */
import { App, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { IncidentStack, buildIncidentApp } from '../../examples/incident-app/main';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { EffectivePolicies, effectivePolicies } from '../support/effective-policies';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION, Template, physicalName } from '../support/template-resolver';
import { cdkInitContext } from '../verify/cdk-init-context';

interface Replayed {
  readonly app: App;
  readonly stack: IncidentStack;
  readonly policies: EffectivePolicies;
  readonly databaseArn: string;
  readonly violations: Array<{ ruleName: string; severity?: string; description: string }>;
}

function replay(guardAgents: boolean): Replayed {
  const app = buildIncidentApp(new App({ context: cdkInitContext() }), { guardAgents });
  const stack = app.node.findChild('Incident') as IncidentStack;
  const template = app.synth().getStackByName(stack.stackName).template as Template;
  const roleId = stack.getLogicalId(stack.agentRole.node.defaultChild as iam.CfnRole);
  const dbId = stack.getLogicalId(stack.database.node.defaultChild as rds.CfnDBInstance);
  return {
    app,
    stack,
    policies: effectivePolicies(template, roleId),
    databaseArn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:${physicalName(dbId)}`,
    violations: new AgentGuardrailsChecks(app).validateScope(app).violations,
  };
}

const agentRuleNames = (r: Replayed) => r.violations.map((v) => v.ruleName).filter((n) => n.startsWith('AgentGuardrails-AG'));
const production = { environment: 'production' };

describe('the incident app', () => {
  let before: Replayed;
  let after: Replayed;
  beforeAll(() => {
    before = replay(false);
    after = replay(true);
  });

  test('the pack reports the unguarded agent as errors', () => {
    const errors = before.violations.filter((v) => v.severity === 'error').map((v) => v.ruleName);
    expect(errors).toEqual(
      expect.arrayContaining([
        'AgentGuardrails-AG1',
        'AgentGuardrails-AG4[Policy::PowerUserAccess]',
        'AgentGuardrails-AG5',
        'AgentGuardrails-AG6[Action::sts:AssumeRole]',
        'AgentGuardrails-AG8[Principal::bedrock.amazonaws.com]',
        'AgentGuardrails-PR1',
      ]),
    );
  });

  test('synth fails when the pack is registered', () => {
    const app = buildIncidentApp(new App({ context: cdkInitContext() }), { checks: true });
    expect(() => app.synth()).toThrow(/AgentGuardrails-AG1/);
  });

  test('before GuardAgents, the agent can delete the production database (what happened)', async () => {
    await expect(decide(before.policies, { action: 'rds:DeleteDBInstance', resource: before.databaseArn, tags: production })).resolves.toBe(
      'Allowed',
    );
  });

  test('after GuardAgents, the same role can neither delete the database nor switch off its protection', async () => {
    // the request context is the one AWS builds for each action on a db resource
    for (const action of ['rds:DeleteDBInstance', 'rds:ModifyDBInstance', 'rds:RemoveTagsFromResource']) {
      await expect(decide(after.policies, { action, resource: after.databaseArn, tags: production })).resolves.toBe('ExplicitlyDenied');
      // untagged counts as production too (fail closed)
      await expect(decide(after.policies, { action, resource: after.databaseArn, tags: {} })).resolves.toBe('ExplicitlyDenied');
    }
    // the agent keeps its read access: GuardAgents changes nothing else
    await expect(decide(after.policies, { action: 'rds:DescribeDBInstances', resource: after.databaseArn, tags: production })).resolves.toBe(
      'Allowed',
    );
    // and it cannot escape through another role
    await expect(
      decide(after.policies, { action: 'sts:AssumeRole', resource: `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-deploy-role-${ACCOUNT}-${REGION}` }),
    ).resolves.toBe('ExplicitlyDenied');
  });

  test('after GuardAgents, the agent guard rules pass; what it does not change is still reported', () => {
    expect(agentRuleNames(after)).toEqual([
      // GuardAgents changes nothing but the guardrails: the broad policy and the unpinned trust stay
      'AgentGuardrails-AG4[Policy::PowerUserAccess]',
      'AgentGuardrails-AG8[Principal::bedrock.amazonaws.com]',
    ]);
  });

  test('with those two acknowledged (with reasons), every agent rule passes', () => {
    const app = buildIncidentApp(new App({ context: cdkInitContext() }), { guardAgents: true });
    const stack = app.node.findChild('Incident') as IncidentStack;
    Validations.of(stack.agentRole).acknowledge({
      id: 'AgentGuardrails-AG4[Policy::PowerUserAccess]',
      reason: 'reproduces the incident; the guard denies destruction of production',
    });
    Validations.of(stack.agentRole).acknowledge({ id: 'AgentGuardrails-AG8[Principal::bedrock.amazonaws.com]', reason: 'reproduces the incident' });
    app.synth();
    const names = new AgentGuardrailsChecks(app).validateScope(app).violations.map((v) => v.ruleName);
    expect(names.filter((n) => n.startsWith('AgentGuardrails-AG'))).toEqual([]);
  });
});
