import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Tags } from 'aws-cdk-lib';
import { AgentRole, ProductionScope } from '../../lib';
import { IAM_QUOTAS, packStatements, policySize } from '../../lib/shared/policy-size';
import { synthAgent, withAdministratorAccess } from '../support/fixtures';
import { Template } from '../support/template-resolver';

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
