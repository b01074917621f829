import { Annotations, Duration, Stack, Tags, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CLOUDTRAIL_DETAIL_TYPE, DENIED_ERROR_CODES } from '../circuit-breaker/runtime/breaker-events';
import { invalidProps } from '../shared/errors';
import { acknowledgeNagFindings } from '../shared/nag-suppressions';
import { GUARDRAIL_COMPONENT_TAG } from '../shared/tags';

/** Services whose CloudTrail events are delivered in us-east-1 whatever region the caller used. */
export const GLOBAL_EVENT_SOURCES: readonly string[] = Object.freeze([
  'aws.iam', 'aws.sts', 'aws.organizations', 'aws.account', 'aws.cloudfront', 'aws.route53', 'aws.route53domains', 'aws.waf', 'aws.shield',
]);

/** Properties of GlobalEventForwarding. */
export interface GlobalEventForwardingProps {
  /** The region of the CircuitBreaker: its default event bus receives the forwarded events. */
  readonly breakerRegion: string;
  /**
   * The agent roles whose calls are forwarded (the breaker counts only its watched roles anyway).
   * @default - the calls of every principal to the global services
   */
  readonly agentRoleArns?: string[];
  /**
   * Event sources to forward.
   * @default GLOBAL_EVENT_SOURCES (IAM, STS, Organizations, Account, CloudFront, Route 53, WAF Classic, Shield)
   */
  readonly sources?: string[];
}

/**
 * Forwards the CloudTrail events of global services (IAM, STS, Organizations, CloudFront,
 * Route 53, ...), which AWS delivers in us-east-1 only, to the default event bus of the region
 * where the CircuitBreaker lives, so that a burst of IAM calls trips it wherever it runs. Deploy
 * it in a us-east-1 stack of each account that has agents (for an organization, in the member
 * StackSet's us-east-1 instances). Write calls and denied calls are forwarded, as the breaker counts them.
 */
export class GlobalEventForwarding extends Construct {
  /** The rule in us-east-1. */
  public readonly rule: events.Rule;
  /** Events that could not be delivered to the breaker's region after every retry. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: GlobalEventForwardingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const region = props.breakerRegion;
    if (typeof region !== 'string' || (!Token.isUnresolved(region) && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))) {
      const message = `GlobalEventForwarding: breakerRegion ${JSON.stringify(region)} is not an AWS region.`;
      throw invalidProps('GlobalEventForwarding.InvalidRegion', message, {
        constructPath: this.node.path, received: JSON.stringify(region), fix: 'Pass the region of the CircuitBreaker, such as "eu-west-1".',
      });
    }
    if (!Token.isUnresolved(stack.region) && stack.region !== 'us-east-1') {
      const message = `GlobalEventForwarding: its stack is in ${stack.region}, but global-service events arrive in us-east-1.`;
      throw invalidProps('GlobalEventForwarding.WrongRegion', message, {
        constructPath: this.node.path, received: stack.region, fix: 'Put GlobalEventForwarding in a stack whose env.region is us-east-1.',
      });
    }
    if (region === stack.region) {
      const message = 'GlobalEventForwarding: the breaker is in us-east-1 already and sees these events there.';
      throw invalidProps('GlobalEventForwarding.SameRegion', message, {
        constructPath: this.node.path, received: region, fix: 'Remove GlobalEventForwarding, or point breakerRegion at the region of the breaker.',
      });
    }
    if (Token.isUnresolved(stack.region)) {
      Annotations.of(this).addWarningV2('cdk-agent-guardrails:forwarding-region',
        'GlobalEventForwarding is in a stack without an explicit region: it forwards global-service events only when deployed to us-east-1.');
    }
    const sources = props.sources ?? [...GLOBAL_EVENT_SOURCES];
    if (sources.length === 0 || sources.some((s) => typeof s !== 'string' || !/^aws\.[a-z0-9-]+$/.test(s))) {
      const message = `GlobalEventForwarding: sources must be AWS event sources (aws.<service>), got ${JSON.stringify(sources)}.`;
      throw invalidProps('GlobalEventForwarding.InvalidSources', message, {
        constructPath: this.node.path, received: JSON.stringify(sources),
        fix: 'Leave sources out for the global services, or list sources such as "aws.iam".',
      });
    }
    const roles = props.agentRoleArns ?? [];
    if (props.agentRoleArns !== undefined && roles.length === 0) {
      throw invalidProps('GlobalEventForwarding.NoRoles', 'GlobalEventForwarding: agentRoleArns is empty, so nothing would be forwarded.', {
        constructPath: this.node.path, received: '[]',
        fix: 'List the agent role ARNs, or leave agentRoleArns out to forward every principal\'s calls.',
      });
    }
    this.deadLetterQueue = new sqs.Queue(this, 'Undelivered', {
      enforceSSL: true, encryption: sqs.QueueEncryption.SQS_MANAGED, retentionPeriod: Duration.days(14),
    });
    acknowledgeNagFindings(this.deadLetterQueue, [{
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the forwarding rule\'s target (cdk-nag recognizes only queue-to-queue redrive): '
        + 'an event EventBridge could not deliver to the breaker\'s region is kept here 14 days; a further queue would only move it.',
    }]);
    this.rule = new events.Rule(this, 'Forward', {
      description: `cdk-agent-guardrails: global-service calls (write or denied) to the circuit breaker in ${region}`,
      eventPattern: {
        source: sources,
        detailType: [CLOUDTRAIL_DETAIL_TYPE],
        detail: {
          ...(roles.length > 0 ? { userIdentity: { sessionContext: { sessionIssuer: { arn: roles } } } } : {}),
          $or: [{ readOnly: [false] }, { errorCode: [...DENIED_ERROR_CODES] }],
        },
      },
    });
    const busArn = stack.formatArn({ service: 'events', region, resource: 'event-bus', resourceName: 'default' });
    const bus = events.EventBus.fromEventBusArn(this, 'BreakerBus', busArn);
    this.rule.addTarget(new targets.EventBus(bus, { deadLetterQueue: this.deadLetterQueue }));
    Tags.of(this).add(GUARDRAIL_COMPONENT_TAG, 'global-event-forwarding');
  }
}
