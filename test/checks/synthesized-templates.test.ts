/**
 * Issue 16: after synthesis the pack reads roles' policies from the synthesized templates (parsed once per run for
 * AG9) instead of resolving every policy document through CDK again; before synthesis it resolves them with CDK.
 * Both readings must find the same policies, inline role policies included.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole } from '../../lib/guard/agent-role';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { ACCOUNT, REGION } from '../support/template-resolver';
import { cdkInitContext } from '../verify/cdk-init-context';

function buildApp(): { app: App; stack: Stack } {
  const app = new App({ context: cdkInitContext() });
  const stack = new Stack(app, 'Test', { env: { account: ACCOUNT, region: REGION } });
  return { app, stack };
}

/** Rule ids reported, except AG9 (decided on the templates only: before synthesis it cannot decide). */
function ruleIds(app: App): string[] {
  return new AgentGuardrailsChecks(app)
    .validateScope(app)
    .violations.map((v) => v.ruleName)
    .filter((id) => !id.startsWith('AgentGuardrails-AG9'))
    .sort();
}

describe('the pack reads the synthesized templates', () => {
  test("fails when an agent role's inline policy is missed: its wildcard grant and PassRole on * are findings (AG3, AG6)", () => {
    // GIVEN a role trusted by Bedrock whose only grants are an inline policy (CDK's L1 names them policyName/policyDocument)
    const { app, stack } = buildApp();
    new iam.Role(stack, 'Agent', {
      assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com'),
      inlinePolicies: {
        Broad: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: ['s3:*', 'iam:PassRole'], resources: ['*'] })],
        }),
      },
    });
    // WHEN the pack runs before and after synthesis
    const before = ruleIds(app);
    app.synth();
    const after = ruleIds(app);
    // THEN both readings report the inline grants
    for (const ids of [before, after]) {
      expect(ids).toContain('AgentGuardrails-AG3[Action::s3:*]');
      expect(ids).toContain('AgentGuardrails-AG6[Action::iam:PassRole]');
    }
    expect(after).toEqual(before);
  });

  test('fails when the two readings differ on guarded and unguarded agents (AG1 to AG8)', () => {
    const { app, stack } = buildApp();
    const guarded = new AgentRole(stack, 'Guarded', { agentName: 'guarded', assumedBy: new iam.AccountRootPrincipal() });
    guarded.allow({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::data/*'] });
    const plain = new iam.Role(stack, 'Plain', {
      assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('PowerUserAccess')],
    });
    plain.addToPolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: ['*'] }));
    const before = ruleIds(app);
    app.synth();
    expect(ruleIds(app)).toEqual(before);
    expect(before).toEqual(
      expect.arrayContaining([
        'AgentGuardrails-AG1',
        'AgentGuardrails-AG4[Policy::PowerUserAccess]',
        'AgentGuardrails-AG5',
        'AgentGuardrails-AG6[Action::sts:AssumeRole]',
      ]),
    );
  });

  test('after synthesis, what deploys is read: an escape-hatch override of a policy document is seen', () => {
    // GIVEN an agent's policy whose action an override widens to "*" in the template
    const { app, stack } = buildApp();
    const role = new iam.Role(stack, 'Agent', { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::data/*'] }));
    const policy = role.node.findChild('DefaultPolicy').node.defaultChild as iam.CfnPolicy;
    policy.addPropertyOverride('PolicyDocument.Statement.0.Action', '*');
    app.synth();
    // THEN the wildcard the template deploys is a finding
    expect(ruleIds(app)).toContain('AgentGuardrails-AG3[Action::*]');
  });
});
