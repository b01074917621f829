import { App, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole, AgentRoleProps, BROAD_GRANT_METADATA, ProductionScope } from '../../lib';
import { synthAgent } from '../support/fixtures';
import { decide } from '../support/simulate';

function newAgent(props: Partial<AgentRoleProps> = {}): AgentRole {
  const stack = new Stack(new App(), 'S');
  return new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal(), ...props });
}

describe('agent.allow() refuses what is not least privilege', () => {
  test.each([
    ['the action is "*"', ['*'], ['arn:aws:s3:::b'], /action "\*", which grants every action of every service.*allowBroad/],
    ['the action is service-wide', ['s3:*'], ['arn:aws:s3:::b'], /"s3:\*", which grants every action of s3/],
    [
      'the action does not exist',
      ['dynamodb:GetItems'],
      ['arn:aws:dynamodb:us-east-1:123456789012:table/t'],
      /"dynamodb:GetItems", which does not exist in dynamodb. Did you mean "dynamodb:GetItem"\?/,
    ],
    ['the service does not exist', ['dynamo:GetItem'], ['*'], /no AWS service with the prefix "dynamo"/],
    ['the action is malformed', ['GetItem'], ['*'], /"GetItem", which is not of the form "service:Action"/],
    ['a pattern matches nothing', ['s3:Frobnicate*'], ['*'], /"s3:Frobnicate\*", which does not exist in s3/],
    [
      'Resource is "*" for actions with resource-level permissions',
      ['s3:GetObject', 'ec2:DescribeInstances'],
      ['*'],
      /Resource "\*" for s3:GetObject, which supports resource-level permissions. Name the resources' ARNs/,
    ],
    ['no actions are given', [], ['*'], /was given no actions/],
    ['no resources are given', ['s3:GetObject'], [], /was given no resources/],
  ])('fails when %s', (_what, actions, resources, message) => {
    const agent = newAgent();
    expect(() => agent.allow({ actions, resources })).toThrow(message);
  });

  test('accepts Resource "*" for actions that support no resource-level permissions', async () => {
    const { policies } = synthAgent((_s, agent) => agent.allow({ actions: ['ec2:DescribeInstances', 'sts:GetCallerIdentity'], resources: ['*'] }));
    await expect(decide(policies, { action: 'ec2:DescribeInstances', resource: '*' })).resolves.toBe('Allowed');
  });

  test('allowBroad() requires a written justification and records it in the metadata for reports', async () => {
    const agent = newAgent();
    expect(() => agent.allowBroad({ actions: ['s3:*'], resources: ['*'], justification: 'because' })).toThrow(
      /needs a written justification of at least 20 characters, got "because"/,
    );
    expect(() => agent.allowBroad({ actions: ['s3:Frobnicate'], resources: ['*'], justification: 'a long enough justification here' })).toThrow(
      /does not exist in s3/,
    );
    agent.allowBroad({ actions: ['logs:*'], resources: ['*'], justification: 'the agent reads and writes logs of any group' });
    const recorded = agent.node.metadata.filter((m) => m.type === BROAD_GRANT_METADATA).map((m) => m.data);
    expect(recorded).toEqual([
      { kind: 'broad-grant', actions: ['logs:*'], resources: ['*'], justification: 'the agent reads and writes logs of any group' },
    ]);
  });

  test('a broad grant still cannot destroy production', async () => {
    const { policies } = synthAgent((_s, agent) =>
      agent.allowBroad({ actions: ['logs:*'], resources: ['*'], justification: 'the agent reads and writes logs of any group' }),
    );
    // A grant on '*' grants nothing on production (the log group is untagged) and works on disposable resources.
    await expect(
      decide(policies, { action: 'logs:PutLogEvents', resource: 'arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:s1', tags: {} }),
    ).resolves.toBe('ImplicitlyDenied');
    await expect(
      decide(policies, {
        action: 'logs:PutLogEvents',
        resource: 'arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:s1',
        tags: { environment: 'dev' },
      }),
    ).resolves.toBe('Allowed');
    await expect(
      decide(policies, { action: 'logs:DeleteLogGroup', resource: 'arn:aws:logs:us-east-1:123456789012:log-group:app', tags: {} }),
    ).resolves.toBe('ExplicitlyDenied');
  });
});

describe('AgentRole props are validated at synth time', () => {
  test.each([
    ['agentName is empty', { agentName: '' }, /agentName "" is not valid. Use 1 to 64 letters/],
    ['agentName has spaces', { agentName: 'my agent' }, /agentName "my agent" is not valid/],
    ['the session is longer than 12 hours', { maxSessionDuration: Duration.hours(13) }, /46800 seconds is out of range; IAM allows 1 to 12 hours/],
    [
      'the session is longer than one hour without a justification',
      { maxSessionDuration: Duration.hours(4) },
      /longer than the library's default of 3600 seconds. Set longSessionJustification/,
    ],
    [
      'a pass role is a wildcard',
      { allowedPassRoles: ['arn:aws:iam::123456789012:role/*'] },
      /allowedPassRoles contains "arn:aws:iam::123456789012:role\/\*", which is not the ARN of one role/,
    ],
    ['an assume role is "*"', { allowedAssumeRoles: ['*'] }, /allowedAssumeRoles contains "\*"/],
    [
      'an assume role is a CDK deploy role',
      { allowedAssumeRoles: ['arn:aws:iam::123456789012:role/cdk-hnb659fds-deploy-role-123456789012-us-east-1'] },
      /a CDK deployment role/,
    ],
    ['the managed policy quota is out of range', { managedPolicyQuota: 25 }, /managedPolicyQuota must be an integer from 1 to 20/],
  ])('fails when %s', (_what, props, message) => {
    expect(() => newAgent(props as Partial<AgentRoleProps>)).toThrow(message);
  });

  test.each([
    ['the tag key is empty', () => ProductionScope.failClosed({ tagKey: '' }), /tag key "" is not a valid tag key/],
    ['the tag key is reserved', () => ProductionScope.failClosed({ tagKey: 'aws:env' }), /not starting with "aws:"/],
    ['the tag key has a character tags refuse', () => ProductionScope.failClosed({ tagKey: 'env#1' }), /tag key "env#1" is not a valid tag key/],
    ['the tag key is longer than 128 characters', () => ProductionScope.failClosed({ tagKey: 'é'.repeat(129) }), /is not a valid tag key/],
    ['no non-production values are given', () => ProductionScope.failClosed({ nonProductionValues: [] }), /nonProductionValues is empty/],
    [
      'a value has a wildcard',
      () => ProductionScope.failClosed({ nonProductionValues: ['dev*'] }),
      /contains "dev\*"; tag values must be literal strings/,
    ],
    ['the resources list is empty', () => ProductionScope.resources([]), /the list of ARNs is empty/],
    ['a resource is not an ARN', () => ProductionScope.resources(['my-table']), /"my-table" is not a resource ARN/],
    ['an account is not 12 digits', () => ProductionScope.accounts(['1234']), /"1234" is not a 12-digit AWS account ID/],
  ])('fails when %s', (_what, build, message) => {
    expect(build).toThrow(message);
  });

  test('tag keys of letters, digits, spaces and _.:/=+-@ in any script are accepted (IAM tag key rules)', () => {
    for (const tagKey of ['Environment', 'env stage', 'team/env:tier=1+2@x_y-z.w', 'Umgebung-Stufe', '環境', 'é'.repeat(128)]) {
      expect(ProductionScope.failClosed({ tagKey }).tagKey).toBe(tagKey);
    }
  });

  test('a longer session with a justification is accepted and recorded', () => {
    const agent = newAgent({ maxSessionDuration: Duration.hours(4), longSessionJustification: 'long database migrations run in one session' });
    expect(agent.node.metadata.find((m) => m.type === BROAD_GRANT_METADATA)?.data).toEqual({
      kind: 'long-session',
      maxSessionSeconds: 14400,
      justification: 'long database migrations run in one session',
    });
  });

  test('an allow-listed pass role can be passed, and only that one', async () => {
    const allowed = 'arn:aws:iam::123456789012:role/build-runner';
    const { policies } = synthAgent((_s, agent) => agent.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')), {
      allowedPassRoles: [allowed],
    });
    await expect(decide(policies, { action: 'iam:PassRole', resource: allowed })).resolves.toBe('Allowed');
    await expect(decide(policies, { action: 'iam:PassRole', resource: 'arn:aws:iam::123456789012:role/admin' })).resolves.toBe('ExplicitlyDenied');
  });
});
