import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { App, Stack, Tags } from 'aws-cdk-lib';
import { AgentRole, ProductionScope } from '../../lib';
import { IAM_QUOTAS, packStatements, policySize } from '../../lib/shared/policy-size';
import { synthAgent, withAdministratorAccess } from '../support/fixtures';
import { Template } from '../support/template-resolver';

/** The message synth fails with, or '' when it succeeds. */
function synthError(stack: Stack): string {
  try {
    (stack.node.root as App).synth({ force: true });
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

/** An app with one agent, not synthesized yet. */
function synthAgentless(): { stack: Stack; agent: AgentRole } {
  const app = new App();
  const stack = new Stack(app, 'AgentStack', { env: { account: '123456789012', region: 'us-east-1' } });
  return { stack, agent: new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal() }) };
}

function managedPolicySizes(template: Template): number[] {
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::IAM::ManagedPolicy')
    .map((r) => policySize(r.Properties.PolicyDocument));
}

describe('IAM quotas are honoured at synth time', () => {
  test.each([
    ['fail closed', ProductionScope.failClosed()],
    ['tagged only', ProductionScope.taggedOnly()],
    ['resources', ProductionScope.resources(['arn:aws:dynamodb:us-east-1:123456789012:table/orders'])],
    ['accounts', ProductionScope.accounts(['123456789012'])],
  ])('every generated managed policy fits in 6,144 characters (%s)', (_name, production) => {
    const { template, agent } = synthAgent(withAdministratorAccess, { production, managedPolicyQuota: 20 });
    const sizes = managedPolicySizes(template);
    expect(sizes.length).toBe(agent.guard.managedPolicies.length + agent.escalationPolicies.length + 1);
    for (const size of sizes) {
      expect(size).toBeLessThanOrEqual(IAM_QUOTAS.managedPolicy);
    }
  });

  test('the default guard leaves room for the user: fail closed with AdministratorAccess uses at most 7 of 10 managed policies', () => {
    const { template, stack, agent } = synthAgent(withAdministratorAccess);
    const role = template.Resources[stack.getLogicalId(agent.node.defaultChild as iam.CfnRole)].Properties;
    expect(role.ManagedPolicyArns.length).toBeLessThanOrEqual(7);
    expect(policySize(role.AssumeRolePolicyDocument)).toBeLessThanOrEqual(IAM_QUOTAS.trustPolicy);
  });

  test('fails when the carved-out grants no longer fit the data-level policy, rather than dropping any', () => {
    expect(() =>
      synthAgent((stack, agent) => {
        Tags.of(stack).add('environment', 'production');
        for (let i = 0; i < 40; i++) {
          new dynamodb.Table(stack, `T${i}`, { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } }).grantReadWriteData(agent);
        }
      }),
    ).toThrow(/ProductionGuard policy \d+ is \d+ characters .* over the IAM managed policy quota of 6144/);
  });

  test('fails when grants overflow into more managed policies than the quota allows (CDK moves large inline grants into managed policies)', () => {
    const manyGrants = (count: number) => (_stack: unknown, agent: any) => {
      agent.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
      for (let i = 0; i < count; i++) {
        agent.allow({ actions: ['dynamodb:GetItem'], resources: [`arn:aws:dynamodb:us-east-1:123456789012:table/table-with-a-long-name-${i}`] });
      }
    };
    expect(() => synthAgent(manyGrants(30))).not.toThrow();
    expect(() => synthAgent(manyGrants(400))).toThrow(/has 1[1-9] managed policies attached .*large grants overflow into managed policies too/);
  });

  test.each([
    ['in the same stack', false],
    ['in another stack (the role is an import there)', true],
  ])('fails when managed policies attached from the policy side %s push one agent of many over the quota', (_where, otherStack) => {
    // GIVEN three agents, and five managed policies attached to the second one from the policy side
    const { stack } = synthAgentless();
    const second = new AgentRole(stack, 'Second', { agentName: 'second', assumedBy: new iam.AccountRootPrincipal() });
    new AgentRole(stack, 'Third', { agentName: 'third', assumedBy: new iam.AccountRootPrincipal() });
    const home = otherStack ? new Stack(stack.node.root as App, 'Other', { env: { account: '123456789012', region: 'us-east-1' } }) : stack;
    for (let i = 0; i < 5; i++) {
      new iam.ManagedPolicy(home, `Extra${i}`, {
        roles: [second],
        statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`arn:aws:s3:::bucket-${i}/*`] })],
      });
    }
    // THEN synth fails for that agent, counting the guard's 6 and the 5 attached from the policy side, and for no other
    expect(synthError(stack)).toMatch(/AgentRole second has 11 managed policies attached/);
    expect(synthError(stack)).not.toMatch(/AgentRole (ops-assistant|third) has/);
  });

  test("does not count the policies of another stack's role that has the same construct id (and so the same logical id)", () => {
    // GIVEN an agent, and in another stack a plain role with the agent's id and five managed policies attached from the policy side
    const { stack } = synthAgentless();
    const other = new Stack(stack.node.root as App, 'Other', { env: { account: '123456789012', region: 'us-east-1' } });
    const namesake = new iam.Role(other, 'Agent', { assumedBy: new iam.AccountRootPrincipal() });
    for (let i = 0; i < 5; i++) {
      new iam.ManagedPolicy(other, `Extra${i}`, {
        roles: [namesake],
        statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`arn:aws:s3:::bucket-${i}/*`] })],
      });
    }
    // THEN the agent synthesizes: those are not its policies
    expect(synthError(stack)).toBe('');
  });

  test("fails when the explicit grants no longer fit the agent's permissions boundary, and says what to do", () => {
    // GIVEN an agent granted a write on each of 100 differently named production tables (reads need no boundary statement)
    const grants = (_stack: unknown, agent: any) => {
      for (let i = 0; i < 100; i++) {
        agent.allow({ actions: ['dynamodb:PutItem'], resources: [`arn:aws:dynamodb:us-east-1:123456789012:table/table-with-a-long-name-${i}`] });
      }
    };
    // THEN synth fails: the read-only boundary carries every explicit grant, and nothing is dropped to fit
    expect(() => synthAgent(grants)).toThrow(/its permissions boundary is \d+ characters, over the IAM quota of 6144.*explicit grant/);
  });

  test('fails when statements added to the boundary directly (not through a grant) push it over the quota', () => {
    // GIVEN an agent whose boundary receives, besides its grants, statements added to it directly
    const direct = (_stack: unknown, agent: any) => {
      for (let i = 0; i < 60; i++) {
        agent.boundary.addStatements(
          new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [`arn:aws:sqs:us-east-1:123456789012:queue-with-a-long-name-${i}`] }),
        );
      }
    };
    // THEN synth fails with the boundary's size, measured on the whole document
    expect(() => synthAgent(direct)).toThrow(/its permissions boundary is \d+ characters, over the IAM quota of 6144/);
  });

  test('an agent whose grants bring the boundary close to the quota, but not over it, synthesizes', () => {
    // GIVEN writes granted on 24 production tables: about 6,000 of the boundary's 6,144 characters
    const grants = (_stack: unknown, agent: any) => {
      for (let i = 0; i < 24; i++) {
        agent.allow({ actions: ['dynamodb:PutItem'], resources: [`arn:aws:dynamodb:us-east-1:123456789012:table/table-with-a-long-name-${i}`] });
      }
    };
    const { template, agent, stack } = synthAgent(grants);
    // THEN it synthesizes, and the boundary as synthesized is within the quota
    const boundaryId = stack.getLogicalId(agent.boundary.node.defaultChild as iam.CfnManagedPolicy);
    const size = policySize(template.Resources[boundaryId].Properties.PolicyDocument);
    expect(size).toBeGreaterThan(IAM_QUOTAS.managedPolicy - 1000);
    expect(size).toBeLessThanOrEqual(IAM_QUOTAS.managedPolicy);
  });

  test('agents of one stack with the same scope share the guard policies instead of copying them', () => {
    const { template, agent } = synthAgent((stack) => {
      new AgentRole(stack, 'Second', { agentName: 'second', assumedBy: new iam.AccountRootPrincipal() });
    });
    // one shared set + per agent its data-level policy (its own carve-outs) and its boundary (its own grants)
    const shared = agent.guard.managedPolicies.length - 1 + agent.escalationPolicies.length;
    expect(managedPolicySizes(template)).toHaveLength(shared + 2 * 2);
  });

  test('packing splits a statement over policies and never drops an action', () => {
    const actions = Array.from({ length: 900 }, (_, i) => `ec2:DeleteThing${i}`);
    const packed = packStatements([{ Sid: 'Big', Effect: 'Deny', Action: actions, Resource: '*' }], IAM_QUOTAS.managedPolicy);
    expect(packed.length).toBeGreaterThan(1);
    expect(packed.flat().flatMap((s) => s.Action as string[])).toEqual(actions);
    for (const policy of packed) {
      expect(policySize({ Version: '2012-10-17', Statement: policy })).toBeLessThanOrEqual(IAM_QUOTAS.managedPolicy);
    }
  });
});
