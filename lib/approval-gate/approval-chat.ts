import { Tags, Token } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { invalidProps } from '../shared/errors';
import { GUARDRAIL_COMPONENT_TAG } from '../shared/tags';

/** A Slack channel that AWS Chatbot tells about approval requests. */
export interface SlackChatOptions {
  /** The Slack workspace (team) id, authorized once in the AWS Chatbot console, for example `T0123ABCDEF`. */
  readonly workspaceId: string;
  /** The Slack channel id (in Slack: channel details, bottom), for example `C0123ABCDEF`. */
  readonly channelId: string;
  /**
   * The name of the channel configuration in AWS Chatbot.
   * @default - `approvals-` followed by the channel id
   */
  readonly configurationName?: string;
}

/** A Microsoft Teams channel that AWS Chatbot tells about approval requests. */
export interface MicrosoftTeamsChatOptions {
  /** The Microsoft Entra tenant id (a UUID). */
  readonly tenantId: string;
  /** The team id (a UUID), authorized once in the AWS Chatbot console. */
  readonly teamId: string;
  /** The channel id as AWS Chatbot takes it, URL-encoded (`19%3a...%40thread.tacv2`). */
  readonly channelId: string;
  /**
   * The name of the channel configuration in AWS Chatbot.
   * @default - `approvals-teams-` followed by the first characters of the team id
   */
  readonly configurationName?: string;
}

type Binder = (scope: Construct, id: string, topic: sns.ITopic, role: () => iam.IRole, guardrail: () => iam.IManagedPolicy) => void;

/**
 * A chat channel for an ApprovalGate's notifications, through AWS Chatbot. The channels the gate
 * creates use a channel role with no permissions and a guardrail policy that denies every action:
 * chat only tells; approvers decide with their own credentials (the CLI or the approval page).
 */
export class ApprovalChat {
  /** A Slack channel; the gate creates its channel configuration. */
  public static slack(options: SlackChatOptions): ApprovalChat {
    check('workspaceId', options.workspaceId, /^[0-9A-Z]{1,255}$/, 'T0123ABCDEF');
    check('channelId', options.channelId, /^[A-Za-z0-9]{1,255}$/, 'C0123ABCDEF');
    const name = options.configurationName ?? `approvals-${options.channelId}`;
    check('configurationName', name, /^[A-Za-z0-9-_]{1,128}$/, 'approvals-production');
    return new ApprovalChat('Slack', (scope, id, topic, role, guardrail) => {
      const config = new chatbot.SlackChannelConfiguration(scope, id, {
        slackChannelConfigurationName: name,
        slackWorkspaceId: options.workspaceId,
        slackChannelId: options.channelId,
        role: role(),
        guardrailPolicies: [guardrail()],
        notificationTopics: [topic],
        userRoleRequired: false,
      });
      Tags.of(config).add(GUARDRAIL_COMPONENT_TAG, 'approval-gate');
    });
  }

  /** A Microsoft Teams channel; the gate creates its channel configuration. */
  public static microsoftTeams(options: MicrosoftTeamsChatOptions): ApprovalChat {
    const uuid = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
    check('tenantId', options.tenantId, uuid, '00000000-1111-2222-3333-444444444444');
    check('teamId', options.teamId, uuid, '00000000-1111-2222-3333-444444444444');
    check('channelId', options.channelId, /^[A-Za-z0-9-_=+/.,]*%3[aA][A-Za-z0-9-_=+/.,]*%40[A-Za-z0-9-_=+/.,]*$/, '19%3a0123abcd%40thread.tacv2');
    const name = options.configurationName ?? `approvals-teams-${options.teamId.slice(0, 8)}`;
    check('configurationName', name, /^[A-Za-z0-9-_]{1,128}$/, 'approvals-production');
    return new ApprovalChat('MicrosoftTeams', (scope, id, topic, role, guardrail) => {
      const config = new chatbot.CfnMicrosoftTeamsChannelConfiguration(scope, id, {
        configurationName: name,
        teamsTenantId: options.tenantId,
        teamId: options.teamId,
        teamsChannelId: options.channelId,
        iamRoleArn: role().roleArn,
        guardrailPolicies: [guardrail().managedPolicyArn],
        snsTopicArns: [topic.topicArn],
        userRoleRequired: false,
      });
      Tags.of(config).add(GUARDRAIL_COMPONENT_TAG, 'approval-gate');
    });
  }

  /** A Slack channel configuration of your app: the approval topic is added to it; its role and guardrails stay yours. */
  public static slackChannelConfiguration(configuration: chatbot.SlackChannelConfiguration): ApprovalChat {
    return new ApprovalChat('ExistingSlack', (_scope, _id, topic) => configuration.addNotificationTopic(topic));
  }

  /** A Microsoft Teams channel configuration of your app: the approval topic is added to it; its role and guardrails stay yours. */
  public static microsoftTeamsChannelConfiguration(configuration: chatbot.CfnMicrosoftTeamsChannelConfiguration): ApprovalChat {
    return new ApprovalChat('ExistingTeams', (_scope, _id, topic) => {
      const current = configuration.snsTopicArns ?? [];
      if (Token.isUnresolved(current)) {
        throw invalidProps(
          'ApprovalChat.TopicsNotAList',
          "ApprovalChat.microsoftTeamsChannelConfiguration: the configuration's snsTopicArns is a token, so the approval topic cannot be added.",
          { received: String(current), fix: 'Give snsTopicArns as a list (it may hold tokens), or let the gate create the channel configuration.' },
        );
      }
      configuration.snsTopicArns = [...current, topic.topicArn];
    });
  }

  private constructor(
    /** What kind of channel (for ids and messages). */
    public readonly kind: string,
    private readonly binder: Binder,
  ) {}

  /** @internal */
  public _bind(scope: Construct, id: string, topic: sns.ITopic, role: () => iam.IRole, guardrail: () => iam.IManagedPolicy): void {
    this.binder(scope, id, topic, role, guardrail);
  }
}

function check(prop: string, value: string, pattern: RegExp, example: string): void {
  if (Token.isUnresolved(value)) return;
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw invalidProps('ApprovalChat.InvalidId', `ApprovalChat: ${prop} ${JSON.stringify(value)} is not valid for AWS Chatbot.`, {
      received: JSON.stringify(value),
      fix: `Give ${prop} as AWS Chatbot shows it, for example ${example}.`,
    });
  }
}

/**
 * The channel role of the configurations the gate creates: assumable by AWS Chatbot only, with no
 * permissions, and a guardrail that denies everything, so that nothing can be run from the channel.
 */
export function chatRoles(scope: Construct): { role: iam.Role; guardrail: iam.ManagedPolicy } {
  const role = new iam.Role(scope, 'ChatChannelRole', {
    assumedBy: new iam.ServicePrincipal('chatbot.amazonaws.com'),
    description: 'cdk-agent-guardrails approval chat: notifications only, no permissions',
  });
  Tags.of(role).add(GUARDRAIL_COMPONENT_TAG, 'approval-gate');
  const guardrail = new iam.ManagedPolicy(scope, 'ChatGuardrail', {
    description: 'cdk-agent-guardrails approval chat: nothing can be run from the channel',
    statements: [new iam.PolicyStatement({ sid: 'NothingFromChat', effect: iam.Effect.DENY, actions: ['*'], resources: ['*'] })],
  });
  return { role, guardrail };
}
