import { App } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentStack, DevStack, ProductionStack } from '../../examples/production-app/main';
import { effectivePolicies, exportsOf, logicalIdOf } from '../support/effective-policies';
import { decide } from '../support/simulate';
import { Template, TemplateResolver } from '../support/template-resolver';

describe('the example app with approval gates', () => {
  let agentTemplate: Template;
  let imports: Record<string, unknown>;
  let agentRoleId: string;
  beforeAll(() => {
    // GIVEN the example app, whose agent stack adds the gates (addApprovalGates)
    const app = new App();
    const env = { account: '123456789012', region: 'us-east-1' };
    const production = new ProductionStack(app, 'Production', { env });
    const dev = new DevStack(app, 'Dev', { env });
    const agentStack = new AgentStack(app, 'Agent', { production, dev, env });
    const assembly = app.synth();
    agentTemplate = assembly.getStackByName('Agent').template;
    imports = exportsOf(assembly.stacks.map((s) => s.template));
    agentRoleId = agentStack.getLogicalId(agentStack.agent.node.defaultChild as iam.CfnRole);
  });

  test('the agent can request, but cannot delete the production database or update the production stack itself', async () => {
    const agent = effectivePolicies(agentTemplate, agentRoleId, imports);
    const resolver = new TemplateResolver(agentTemplate, imports);
    // The workflow's physical name, as its template sets it (the agent's grant names it, not a reference to it)
    const workflow = agentTemplate.Resources[logicalIdOf(agentTemplate, 'AWS::StepFunctions::StateMachine', 'ProductionApprovals')];
    const sm = `arn:aws:states:us-east-1:123456789012:stateMachine:${resolver.resolve(workflow.Properties.StateMachineName)}`;
    const executor = effectivePolicies(agentTemplate, logicalIdOf(agentTemplate, 'AWS::IAM::Role', 'ProductionApprovalsExecutorRole'), imports);
    const db = executor.identityPolicies.flatMap((p) => p.policy.Statement).find((s: any) => s.Action === 'rds:DeleteDBInstance').Resource;
    expect(db).toMatch(/^arn:aws:rds:us-east-1:123456789012:db:/);
    const stack = 'arn:aws:cloudformation:us-east-1:123456789012:stack/Production/0a1b2c3d-0000-11ef-8000-0a1b2c3d4e5f';
    await expect(decide(agent, { action: 'states:StartExecution', resource: sm })).resolves.toBe('Allowed');
    await expect(decide(agent, { action: 'rds:DeleteDBInstance', resource: db, tags: { environment: 'production' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decide(agent, { action: 'cloudformation:UpdateStack', resource: stack, tags: { environment: 'production' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decide(agent, { action: 'states:SendTaskSuccess', resource: '*' })).resolves.toBe('ExplicitlyDenied');
    await expect(decide(executor, { action: 'rds:DeleteDBInstance', resource: db })).resolves.toBe('Allowed');
    await expect(decide(executor, { action: 'cloudformation:UpdateStack', resource: stack })).resolves.toBe('Allowed');
    await expect(decide(executor, { action: 'cloudformation:UpdateStack', resource: stack.replace('/Production/', '/Dev/') })).resolves.toBe(
      'ImplicitlyDenied',
    );
  });
});
