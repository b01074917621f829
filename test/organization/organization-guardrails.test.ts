import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as organizations from 'aws-cdk-lib/aws-organizations';
import { ProductionProtection, ProductionScope } from '../../lib';
import { GuardrailsError, GuardrailsErrorKind } from '../../lib/shared/errors';
import { AgentPrincipals } from '../../lib/organization/agent-principals';
import { OrganizationGuardrails, OrganizationGuardrailsProps } from '../../lib/organization/organization-guardrails';

function management(): Stack {
  return new Stack(new App(), 'Management', { env: { account: '111111111111', region: 'us-east-1' } });
}

function errorOf(build: () => unknown): GuardrailsError {
  try {
    build();
  } catch (e) {
    if (GuardrailsError.isGuardrailsError(e)) return e;
    throw e;
  }
  throw new Error('expected a GuardrailsError');
}

const TARGETS = ['ou-ab12-cd34ef56', '210987654321'];

describe('OrganizationGuardrails', () => {
  test('synthesizes the SCPs and RCPs as AWS::Organizations::Policy resources attached to the targets', () => {
    // GIVEN the management account's stack
    const stack = management();
    // WHEN the organization guard is added with its defaults
    const guard = new OrganizationGuardrails(stack, 'Guard', { targetIds: TARGETS });
    const template = Template.fromStack(stack);
    // THEN 2 SCPs and 2 RCPs, each attached to every target, tagged as guardrail components
    const policies = template.findResources('AWS::Organizations::Policy');
    const byType = (type: string) => Object.values(policies).filter((p: any) => p.Properties.Type === type);
    expect(byType('SERVICE_CONTROL_POLICY')).toHaveLength(guard.serviceControlPolicies.length);
    expect(byType('RESOURCE_CONTROL_POLICY')).toHaveLength(guard.resourceControlPolicies.length);
    expect(guard.serviceControlPolicies.length).toBeLessThanOrEqual(2);
    expect(guard.resourceControlPolicies.length).toBeLessThanOrEqual(2);
    for (const policy of Object.values(policies) as any[]) {
      expect(policy.Properties.TargetIds).toEqual(TARGETS);
      expect(policy.Properties.Tags).toEqual([{ Key: 'guardrails:component', Value: 'organization-guardrails' }]);
      // the content, written without whitespace as CloudFormation sends it, fits the quota
      expect(JSON.stringify(policy.Properties.Content).length).toBeLessThanOrEqual(5120);
      expect(policy.Properties.Name).toMatch(/^agent-guardrails-(scp|rcp)-\d$/);
    }
    template.resourceCountIs('AWS::CloudFormation::StackSet', 0);
    expect(guard.report.join('\n')).toMatch(/agent-guardrails-scp-1 \(SCP, \d+ of 5120 characters\)/);
    expect(guard.report.join('\n')).toMatch(/ec2, rds, lambda, iam, cloudformation/);
    expect(guard.rcpServices).toContain('s3');
  });

  test('rolls out the per-account parts with a service-managed StackSet that deploys to new accounts automatically', () => {
    const stack = management();
    new OrganizationGuardrails(stack, 'Guard', {
      targetIds: ['r-ab12'],
      memberAccountRollout: {
        templateUrl: 'https://guardrails-templates.s3.amazonaws.com/member.template.json',
        organizationalUnitIds: ['ou-ab12-cd34ef56'],
        regions: ['us-east-1', 'eu-west-1'],
        parameters: { AlertEmail: 'oncall@example.com' },
        asDelegatedAdministrator: true,
      },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudFormation::StackSet', {
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      CallAs: 'DELEGATED_ADMIN',
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      TemplateURL: 'https://guardrails-templates.s3.amazonaws.com/member.template.json',
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: ['ou-ab12-cd34ef56'] }, Regions: ['us-east-1', 'eu-west-1'] }],
      Parameters: [{ ParameterKey: 'AlertEmail', ParameterValue: 'oncall@example.com' }],
      StackSetName: 'agent-guardrails-member-guardrails',
    });
  });

  test('accepts targets known only at deploy time (an OU created in the same stack)', () => {
    const stack = management();
    const ou = new organizations.CfnOrganizationalUnit(stack, 'Agents', { name: 'agents', parentId: 'r-ab12' });
    new OrganizationGuardrails(stack, 'Guard', { targetIds: [ou.attrId] });
    Template.fromStack(stack).hasResourceProperties('AWS::Organizations::Policy', { TargetIds: [{ 'Fn::GetAtt': [Match.anyValue(), 'Id'] }] });
  });

  test('warns when the scope or the protection is weaker, or when no RCP is deployed', () => {
    const stack = management();
    new OrganizationGuardrails(stack, 'Guard', { targetIds: TARGETS, scope: ProductionScope.taggedOnly(), budget: { resourceControlPolicies: 0 } });
    const annotations = Annotations.fromStack(stack);
    annotations.hasWarning('*', Match.stringLikeRegexp('tagged-only scope is weaker'));
    annotations.hasWarning('*', Match.stringLikeRegexp('No RCPs'));
    Template.fromStack(stack).hasResourceProperties('AWS::Organizations::Policy', { Type: 'SERVICE_CONTROL_POLICY' });
  });

  test('uses the agent principals, allow-lists and name prefix it is given', () => {
    const stack = management();
    new OrganizationGuardrails(stack, 'Guard', {
      targetIds: TARGETS, agentPrincipals: AgentPrincipals.arnLike(['arn:aws:iam::*:role/agent-*']),
      allowedAssumeRoles: ['arn:aws:iam::*:role/sandbox-deployer'], policyNamePrefix: 'acme-agents', budget: { serviceControlPolicies: 3 },
    });
    const policies = Object.values(Template.fromStack(stack).findResources('AWS::Organizations::Policy')) as any[];
    expect(policies.map((p) => p.Properties.Name).sort()).toEqual(expect.arrayContaining(['acme-agents-scp-1', 'acme-agents-rcp-1']));
    const statements = policies.flatMap((p) => p.Properties.Content.Statement);
    for (const statement of statements) expect(statement.Condition.ArnLike).toEqual({ 'aws:PrincipalArn': 'arn:aws:iam::*:role/agent-*' });
    expect(statements.find((s) => s.Sid === 'DenyAssumeRoleOutsideAllowList')?.NotResource).toBe('arn:aws:iam::*:role/sandbox-deployer');
  });

  test('fails at synth, never taking a third SCP slot unasked, when a role allow-list needs one', () => {
    // GIVEN the default budget (2 SCPs) and one role agents may assume, which every statement's agent condition now carries
    const props = { targetIds: TARGETS, allowedAssumeRoles: ['arn:aws:iam::*:role/sandbox-deployer'] };
    // WHEN the guard is synthesized THEN synth fails with the number needed and the fix
    const error = errorOf(() => new OrganizationGuardrails(management(), 'Guard', props));
    expect(error.kind).toBe(GuardrailsErrorKind.QUOTA);
    expect(error.message).toMatch(/needs 3 service control policies .* more than the budget of 2.*Raise budget.serviceControlPolicies/);
    // AND with the third slot given, it fits
    const stack = management();
    new OrganizationGuardrails(stack, 'Guard', { ...props, budget: { serviceControlPolicies: 3 } });
    expect(Object.values(Template.fromStack(stack).findResources('AWS::Organizations::Policy')).length).toBe(3 + 2);
  });

  test('fails when the budget is too small, naming what does not fit, at synth time', () => {
    const error = errorOf(() => new OrganizationGuardrails(management(), 'Guard', { targetIds: TARGETS, budget: { serviceControlPolicies: 1 } }));
    expect(error.kind).toBe(GuardrailsErrorKind.QUOTA);
    expect(error.constructPath).toBe('Management/Guard');
    expect(error.message).toMatch(/^OrganizationGuardrails Management\/Guard: the organization guard needs 2 service control policies/);
    expect(error.message).toMatch(/more than the budget of 1/);
    expect(error.message).toMatch(/Raise budget.serviceControlPolicies/);
  });

  test('fails when the weaker no-destruction protection does not fit the default budget', () => {
    const protection = ProductionProtection.noDestructionOnly('the ops agent restarts instances during the migration');
    const error = errorOf(() => new OrganizationGuardrails(management(), 'Guard', { targetIds: TARGETS, protection }));
    expect(error.message).toMatch(/Does not fit in the first 2: DenyDestroyProduction/);
  });

  test.each<[string, Partial<OrganizationGuardrailsProps>, RegExp]>([
    ['no target', { targetIds: [] }, /targetIds is empty/],
    ['a target that is no root, OU or account', { targetIds: ['o-abcdefghij'] },
      /targetIds contains "o-abcdefghij", which is not a root, OU or account ID/],
    ['a name prefix with spaces', { policyNamePrefix: 'agent guard' }, /policyNamePrefix "agent guard" is not a valid policy name prefix/],
    ['an SCP budget of zero', { budget: { serviceControlPolicies: 0 } }, /budget.serviceControlPolicies must be an integer from 1 to 50, got 0/],
    ['policies larger than the quota', { budget: { maxCharacters: 10000 } }, /budget.maxCharacters must be an integer from 500 to 5120, got 10000/],
    ['a role allow-list entry that is no ARN', { allowedPassRoles: ['admin'] }, /allowedPassRoles: "admin" is not an IAM role ARN/],
    ['a rollout template that is no HTTPS URL', {
      memberAccountRollout: { templateUrl: 's3://bucket/t.json', organizationalUnitIds: ['ou-ab12-cd34ef56'], regions: ['us-east-1'] },
    },
      /templateUrl "s3:\/\/bucket\/t.json" is not an HTTPS URL/],
    ['a rollout to an account instead of an OU', {
      memberAccountRollout: { templateUrl: 'https://b.s3.amazonaws.com/t.json', organizationalUnitIds: ['210987654321'], regions: ['us-east-1'] },
    }, /organizationalUnitIds contains "210987654321", which is not a root or OU ID/],
    ['a rollout without regions', {
      memberAccountRollout: { templateUrl: 'https://b.s3.amazonaws.com/t.json', organizationalUnitIds: ['r-ab12'], regions: [] },
    },
      /memberAccountRollout.regions must list AWS regions, got \[\]/],
  ])('fails when given %s', (_label, props, message) => {
    const error = errorOf(() => new OrganizationGuardrails(management(), 'Guard', { targetIds: TARGETS, ...props }));
    expect(error.kind).toBe(GuardrailsErrorKind.INVALID_PROPS);
    expect(error.message).toMatch(message);
    expect(error.constructPath).toBe('Management/Guard');
    expect(error.fix).toBeTruthy();
  });
});
