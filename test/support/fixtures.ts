import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole, AgentRoleProps } from '../../lib';
import { EffectivePolicies, effectivePolicies, exportsOf } from './effective-policies';
import { ACCOUNT, REGION, Template } from './template-resolver';

export interface SynthesizedAgent {
  readonly app: App;
  readonly stack: Stack;
  readonly agent: AgentRole;
  readonly template: Template;
  readonly policies: EffectivePolicies;
}

/**
 * Builds a stack with one AgentRole, lets the test add grants and resources, synthesizes it and
 * collects the role's effective policies from the synthesized template.
 */
export function synthAgent(
  configure: (stack: Stack, agent: AgentRole) => void = () => undefined,
  props: Partial<AgentRoleProps> = {},
): SynthesizedAgent {
  const app = new App();
  const stack = new Stack(app, 'AgentStack', { env: { account: ACCOUNT, region: REGION } });
  const agent = new AgentRole(stack, 'Agent', {
    agentName: 'ops-assistant',
    assumedBy: new iam.AccountRootPrincipal(),
    ...props,
  });
  configure(stack, agent);
  const assembly = app.synth();
  const templates = assembly.stacks.map((s) => s.template as Template);
  const template = assembly.getStackByName(stack.stackName).template as Template;
  const roleId = stack.getLogicalId(agent.node.defaultChild as iam.CfnRole);
  return { app, stack, agent, template, policies: effectivePolicies(template, roleId, exportsOf(templates)) };
}

export function withAdministratorAccess(_stack: Stack, agent: AgentRole): void {
  agent.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
}
