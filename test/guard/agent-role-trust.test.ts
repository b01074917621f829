import { runSimulation } from '@cloud-copilot/iam-simulate';
import * as iam from 'aws-cdk-lib/aws-iam';
import { synthAgent } from '../support/fixtures';
import { ACCOUNT } from '../support/template-resolver';

const RUNNER = `arn:aws:iam::${ACCOUNT}:role/agent-runner`;

/** Evaluates an sts call of `principal` against the role's trust policy (a resource policy). */
async function assume(trustPolicy: unknown, principal: string, action: string, context: Record<string, string>): Promise<string> {
  const result: any = await runSimulation(
    {
      request: { principal, action, resource: { resource: `arn:aws:iam::${ACCOUNT}:role/agent`, accountId: ACCOUNT }, contextVariables: context },
      identityPolicies: [{ name: 'caller', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:*', Resource: '*' }] } }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: trustPolicy,
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

describe('AgentRole trust policy', () => {
  test('requires a source identity, so every CloudTrail record names the agent session', async () => {
    // GIVEN an agent role assumed by a runner role, sessions named ops-assistant-*
    const { policies } = synthAgent(() => undefined, { assumedBy: new iam.ArnPrincipal(RUNNER), sourceIdentityPattern: 'ops-assistant-*' });
    // WHEN the runner assumes it with a matching source identity THEN it may (and may set it)
    await expect(assume(policies.trustPolicy, RUNNER, 'sts:AssumeRole', { 'sts:SourceIdentity': 'ops-assistant-run-42' })).resolves.toBe('Allowed');
    await expect(assume(policies.trustPolicy, RUNNER, 'sts:SetSourceIdentity', { 'sts:SourceIdentity': 'ops-assistant-run-42' })).resolves.toBe(
      'Allowed',
    );
    // WHEN it assumes it without one, or with another name THEN it may not
    await expect(assume(policies.trustPolicy, RUNNER, 'sts:AssumeRole', {})).resolves.not.toBe('Allowed');
    await expect(assume(policies.trustPolicy, RUNNER, 'sts:AssumeRole', { 'sts:SourceIdentity': 'someone-else' })).resolves.not.toBe('Allowed');
    // AND nobody else may assume it
    await expect(
      assume(policies.trustPolicy, `arn:aws:iam::${ACCOUNT}:role/other`, 'sts:AssumeRole', { 'sts:SourceIdentity': 'ops-assistant-1' }),
    ).resolves.not.toBe('Allowed');
  });

  test('pins an AWS service principal to this account and the named source (confused deputy)', async () => {
    const agentArn = `arn:aws:bedrock:us-east-1:${ACCOUNT}:agent/ABCDEFGHIJ`;
    const { policies } = synthAgent(() => undefined, { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com'), serviceSourceArn: agentArn });
    const call = (context: Record<string, string>) => assume(policies.trustPolicy, 'bedrock.amazonaws.com', 'sts:AssumeRole', context);
    await expect(call({ 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': agentArn })).resolves.toBe('Allowed');
    await expect(call({ 'aws:SourceAccount': '999999999999', 'aws:SourceArn': agentArn })).resolves.not.toBe('Allowed');
    await expect(call({ 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': `arn:aws:bedrock:us-east-1:${ACCOUNT}:agent/OTHER` })).resolves.not.toBe(
      'Allowed',
    );
    await expect(call({})).resolves.not.toBe('Allowed');
  });

  test('the role is tagged as an agent role, and sessions last one hour by default', () => {
    const { template, stack, agent } = synthAgent();
    const role = template.Resources[stack.getLogicalId(agent.node.defaultChild as iam.CfnRole)].Properties;
    expect(role.Tags).toEqual(expect.arrayContaining([{ Key: 'guardrails:agent', Value: 'ops-assistant' }]));
    expect(role.MaxSessionDuration).toBe(3600);
    expect(role.PermissionsBoundary).toBeDefined();
  });
});
