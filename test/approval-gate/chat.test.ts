/**
 * The approval topic wired to Slack and Microsoft Teams through AWS Chatbot (synth tests), with a
 * channel role that can do nothing, proven by simulation.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AgentRole } from '../../lib';
import { ApprovalChat } from '../../lib/approval-gate/approval-chat';
import { ApprovalGate, ApprovalGateProps, Approver, GatedOperation } from '../../lib/approval-gate/approval-gate';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { effectivePolicies, logicalIdOf } from '../support/effective-policies';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION, Template, TemplateResolver } from '../support/template-resolver';
import { PROD_DB } from './gate-fixture';

const SLACK = { workspaceId: 'T0123ABCDEF', channelId: 'C0456GHIJKL' };
const TEAMS = {
  tenantId: '0a1b2c3d-0000-4000-8000-0a1b2c3d4e5f',
  teamId: '1b2c3d4e-0000-4000-8000-1b2c3d4e5f60',
  channelId: '19%3a0123456789abcdef%40thread.tacv2',
};

function synth(props: Partial<ApprovalGateProps>, extra?: (stack: Stack) => void) {
  const app = new App();
  const stack = new Stack(app, 'Ops', { env: { account: ACCOUNT, region: REGION } });
  const lead = new iam.Role(stack, 'Lead', { assumedBy: new iam.AccountRootPrincipal(), roleName: 'security-lead' });
  const agent = new AgentRole(stack, 'Agent', { agentName: 'ops', assumedBy: new iam.AccountRootPrincipal() });
  extra?.(stack);
  const gate = new ApprovalGate(stack, 'Gate', {
    operations: [GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] })],
    approvers: [Approver.role(lead)],
    ...props,
  });
  gate.grantRequest(agent);
  const template = app.synth().getStackByName('Ops').template as Template;
  return { app, stack, gate, agent, template, resolver: new TemplateResolver(template) };
}

const ofType = (template: Template, type: string) => Object.entries<any>(template.Resources).filter(([, r]) => r.Type === type);

describe('an ApprovalGate with chat channels', () => {
  test('tells a Slack channel and a Microsoft Teams channel through AWS Chatbot, from the approval topic', () => {
    // GIVEN a gate with one Slack and one Teams channel
    const { template, resolver, stack, gate } = synth({ chatChannels: [ApprovalChat.slack(SLACK), ApprovalChat.microsoftTeams(TEAMS)] });
    const topic = resolver.resolve({ Ref: stack.getLogicalId(gate.topic.node.defaultChild as any) });
    const [[, slack]] = ofType(template, 'AWS::Chatbot::SlackChannelConfiguration');
    const [[, teams]] = ofType(template, 'AWS::Chatbot::MicrosoftTeamsChannelConfiguration');
    // THEN both subscribe to exactly the gate's topic, for the given channels
    expect(resolver.resolve(slack.Properties.SnsTopicArns)).toEqual([topic]);
    expect(resolver.resolve(teams.Properties.SnsTopicArns)).toEqual([topic]);
    expect([slack.Properties.SlackWorkspaceId, slack.Properties.SlackChannelId]).toEqual([SLACK.workspaceId, SLACK.channelId]);
    expect([teams.Properties.TeamsTenantId, teams.Properties.TeamId, teams.Properties.TeamsChannelId]).toEqual([
      TEAMS.tenantId,
      TEAMS.teamId,
      TEAMS.channelId,
    ]);
    // and share one channel role and one guardrail
    const roleId = logicalIdOf(template, 'AWS::IAM::Role', 'GateChatChannelRole');
    const guardrailId = logicalIdOf(template, 'AWS::IAM::ManagedPolicy', 'GateChatGuardrail');
    for (const config of [slack, teams]) {
      expect(config.Properties.IamRoleArn).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
      expect(config.Properties.GuardrailPolicies).toEqual([{ Ref: guardrailId }]);
      expect(config.Properties.UserRoleRequired).toBe(false);
      expect(config.Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'guardrails:component', Value: 'approval-gate' }]));
    }
  });

  test('the channel role is assumable by AWS Chatbot only, holds nothing, and its guardrail denies everything even if granted later', async () => {
    const { template } = synth({ chatChannels: [ApprovalChat.slack(SLACK)] });
    const roleId = logicalIdOf(template, 'AWS::IAM::Role', 'GateChatChannelRole');
    const role = effectivePolicies(template, roleId);
    expect(role.trustPolicy.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: 'chatbot.amazonaws.com' }, Action: 'sts:AssumeRole' }),
    ]);
    expect(role.identityPolicies).toEqual([]);
    expect(template.Resources[roleId].Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'guardrails:component', Value: 'approval-gate' }]));
    const guardrail = new TemplateResolver(template).resolve(
      template.Resources[logicalIdOf(template, 'AWS::IAM::ManagedPolicy', 'GateChatGuardrail')],
    );
    // WHEN someone later gives the channel role AdministratorAccess, the guardrail (evaluated with it) still denies: nothing runs from chat
    const admin = { ...role, identityPolicies: [{ name: 'admin', policy: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }] };
    const capped = { ...admin, identityPolicies: [...admin.identityPolicies, { name: 'guardrail', policy: guardrail.Properties.PolicyDocument }] };
    for (const [action, resource] of [
      ['states:SendTaskSuccess', '*'],
      ['rds:DeleteDBInstance', PROD_DB],
      ['cloudwatch:DescribeAlarms', '*'],
    ]) {
      await expect(decide(role, { action, resource })).resolves.toBe('ImplicitlyDenied');
      await expect(decide(admin, { action, resource })).resolves.toBe('Allowed');
      await expect(decide(capped, { action, resource })).resolves.toBe('ExplicitlyDenied');
    }
  });

  test('adds the approval topic to existing channel configurations of the app, leaving their roles alone', () => {
    // GIVEN an app that already has a Slack and a Teams channel configuration
    const app = new App();
    const s = new Stack(app, 'Ops', { env: { account: ACCOUNT, region: REGION } });
    const lead = new iam.Role(s, 'Lead', { assumedBy: new iam.AccountRootPrincipal() });
    const slack = new chatbot.SlackChannelConfiguration(s, 'OpsSlack', {
      slackChannelConfigurationName: 'ops',
      slackWorkspaceId: 'T1',
      slackChannelId: 'C1',
    });
    const teams = new chatbot.CfnMicrosoftTeamsChannelConfiguration(s, 'OpsTeams', {
      configurationName: 'ops-teams',
      teamsTenantId: TEAMS.tenantId,
      teamId: TEAMS.teamId,
      teamsChannelId: TEAMS.channelId,
      iamRoleArn: `arn:aws:iam::${ACCOUNT}:role/ops-chat`,
      snsTopicArns: [`arn:aws:sns:${REGION}:${ACCOUNT}:ops-alerts`],
    });
    // WHEN a gate names them
    const gate = new ApprovalGate(s, 'Gate', {
      operations: [GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] })],
      approvers: [Approver.role(lead)],
      chatChannels: [ApprovalChat.slackChannelConfiguration(slack), ApprovalChat.microsoftTeamsChannelConfiguration(teams)],
    });
    const template = app.synth().getStackByName('Ops').template as Template;
    const resolver = new TemplateResolver(template);
    // THEN the approval topic is added to each, their roles are theirs, and the gate creates no chat role of its own
    const topic = resolver.resolve({ Ref: s.getLogicalId(gate.topic.node.defaultChild as any) });
    const [[, sl]] = ofType(template, 'AWS::Chatbot::SlackChannelConfiguration');
    const [[, tm]] = ofType(template, 'AWS::Chatbot::MicrosoftTeamsChannelConfiguration');
    expect(resolver.resolve(sl.Properties.SnsTopicArns)).toEqual([topic]);
    expect(resolver.resolve(tm.Properties.SnsTopicArns)).toEqual([`arn:aws:sns:${REGION}:${ACCOUNT}:ops-alerts`, topic]);
    expect(tm.Properties.IamRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/ops-chat`);
    expect(Object.keys(template.Resources).filter((id) => id.startsWith('GateChat'))).toEqual([]);
  });

  test.each([
    ['a Slack workspace id in lower case', () => ApprovalChat.slack({ ...SLACK, workspaceId: 't0123abcdef' }), /workspaceId "t0123abcdef"/],
    ['a Slack channel name instead of its id', () => ApprovalChat.slack({ ...SLACK, channelId: '#approvals' }), /channelId "#approvals"/],
    ['a Teams channel id not URL-encoded', () => ApprovalChat.microsoftTeams({ ...TEAMS, channelId: '19:abc@thread.tacv2' }), /channelId/],
    ['a Teams team id that is not a UUID', () => ApprovalChat.microsoftTeams({ ...TEAMS, teamId: 'ops-team' }), /teamId "ops-team"/],
  ])('fails when given %s, saying the value and the fix', (_what, make, message) => {
    expect(make).toThrow(message);
    try {
      make();
    } catch (e: any) {
      expect(e.code).toBe('ApprovalChat.InvalidId');
      expect(e.fix).toMatch(/for example/);
    }
  });

  test('reports no cdk-nag or library finding on the chat parts', () => {
    const { app, gate } = synth({ chatChannels: [ApprovalChat.slack(SLACK), ApprovalChat.microsoftTeams(TEAMS)] });
    const found: string[] = [];
    for (const pack of [new AwsSolutionsChecks(app, { verbose: true }), new AgentGuardrailsChecks(app)]) {
      for (const v of pack.validateScope(app).violations) {
        for (const r of v.violatingResources) {
          if ((r.constructPath ?? '').startsWith(`${gate.node.path}/Chat`)) found.push(`${v.ruleName} at ${r.constructPath}`);
        }
      }
    }
    expect(found).toEqual([]);
  });
});
