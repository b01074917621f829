import { Annotations, Aspects, Duration, RemovalPolicy, Stack, Tags, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AgentRole } from '../guard/agent-role';
import { handlerAssetDirectory } from '../shared/assets';
import { invalidProps } from '../shared/errors';
import { nodeRuntimeOf } from '../shared/lambda-runtime';
import { acknowledgeNagFindings } from '../shared/nag-suppressions';
// The gate's least-privilege building blocks, shared until a CDK-side shared folder exists (shared/ is CDK-free).
import { acknowledgeDefaultRuntime, functionRole, grantPublishTo } from '../approval-gate/private/function-resources';
import { BREAKER_CONFIG_ENV, BreakerConfig, WatchedAgentConfig, resetCommand } from './runtime/breaker-config';
import { breakerEventPattern } from './runtime/breaker-events';
import { QUARANTINE_POLICY_NAME, credentialsQuarantineDocument, quarantineDocument } from './runtime/breaker-quarantine';
import { AGENT_TAG, GUARDRAIL_COMPONENT_TAG } from '../guard/private/escalation-statements';
import { IAM_QUOTAS, policySize } from '../shared/policy-size';
import { GlobalEventForwarding } from '../organization/global-event-forwarding';

/** When a circuit breaker trips for one agent. A threshold is "more than N in one window". */
export interface BreakerThresholds {
  /**
   * Trips when the agent makes more than this many destructive calls (the destructive catalog's
   * resource and tagging actions, denied attempts included) in one window.
   * @default 5
   */
  readonly maxDestructiveCalls?: number;
  /**
   * Trips when more than this many of the agent's calls are denied in one window.
   * @default 10
   */
  readonly maxDeniedCalls?: number;
  /**
   * Trips when the agent makes more than this many write calls of any kind in one window.
   * @default - write calls are counted but not limited
   */
  readonly maxWriteCalls?: number;
  /**
   * The length of the counting window (sliding: the previous window counts by its overlap); at least one minute.
   * @default Duration.minutes(5)
   */
  readonly window?: Duration;
}

/** An agent a circuit breaker watches. */
export interface WatchedAgent {
  /** The agent's role. */
  readonly agent: AgentRole;
  /**
   * Thresholds for this agent; unset fields fall back to the breaker's default thresholds.
   * @default - the breaker's defaultThresholds
   */
  readonly thresholds?: BreakerThresholds;
}

/** Properties of a CircuitBreaker. */
export interface CircuitBreakerProps {
  /**
   * The Lambda runtime of the guardrail's functions (Node.js 20 or later).
   * @default lambda.Runtime.NODEJS_22_X
   */
  readonly lambdaRuntime?: lambda.Runtime;
  /** The agents to watch; at least one, at most 10 per breaker. */
  readonly agents: WatchedAgent[];
  /**
   * Thresholds of every agent that sets none of its own.
   * @default - 5 destructive calls, 10 denied calls, writes not limited, 5-minute windows
   */
  readonly defaultThresholds?: BreakerThresholds;
  /**
   * Count and alert only: never quarantine. Meant for a first rollout, to tune the thresholds;
   * the synth output carries a warning for as long as it is on.
   * @default false
   */
  readonly monitorOnly?: boolean;
  /**
   * The topic that receives trip alerts, and the dead-letter alarm. If it is encrypted, its key
   * must let CloudWatch (`cloudwatch.amazonaws.com`) use it (kms:Decrypt, kms:GenerateDataKey*),
   * or the alarm cannot deliver; the AWS managed key `alias/aws/sns` cannot.
   * @default - a new topic encrypted with a new customer managed key that CloudWatch may use
   *   (subscribe your on-call to `alertTopic`)
   */
  readonly alertTopic?: sns.ITopic;
  /**
   * Whether the CloudTrail events of the global services (IAM, STS, Organizations, CloudFront,
   * Route 53, ...), which AWS delivers in us-east-1 only, are forwarded to this breaker's region by
   * a `GlobalEventForwarding` in a us-east-1 stack (of another app, or a StackSet). A breaker outside
   * us-east-1 without them never sees an agent delete a role, a DNS record or a distribution, and
   * synth warns. The breaker's rule matches the forwarded events as they are.
   * @default false - unless a GlobalEventForwarding in the same app forwards to the breaker's region
   */
  readonly globalEventsForwarded?: boolean;
  /**
   * The credentials roles of approval gates in credentials mode (`ApprovalGate.credentialsRole`)
   * that the watched agents collect sessions of. When an agent trips, the breaker also puts an
   * inline policy on each (`guardrails-quarantine-<agent role name>`) that denies every action to
   * the sessions tagged as collected by that agent; the reset removes it, right before it lifts the
   * agent role's quarantine. Without it, a tripped agent keeps acting through a collected session
   * until the session expires (up to 1 hour).
   * @default - none: sessions already collected stay usable until they expire
   */
  readonly credentialsRoles?: iam.IRole[];
}

const DEFAULTS = { maxDestructiveCalls: 5, maxDeniedCalls: 10, maxWriteCalls: 0, windowSeconds: 300 };
const MAX_AGENTS = 10;

/**
 * Stops a runaway agent within seconds. An EventBridge rule receives the CloudTrail management
 * events made by sessions of the watched agent roles (write calls and denied calls); a Lambda
 * function counts them per agent in windows in a DynamoDB table (atomic counters that expire by
 * TTL). When the last window's length exceeds a threshold the breaker trips, once per incident: it puts an
 * inline deny-all policy on the agent role (sessions issued before the trip, named by
 * `aws:TokenIssueTime`, and any new one), records the trip in an append-only ledger and alerts the
 * topic; with `credentialsRoles`, the sessions the agent collected through an approval gate are
 * quarantined too. Only a human resets it (`npx cdk-agent-guardrails breaker reset AGENT`), and a human can
 * trip it at once (`breaker trip AGENT`).
 *
 * Needs a CloudTrail trail recording management events (see AuditTrail); watches the events of
 * its own region: deploy one per region where agents work. The global services' events (IAM, STS,
 * CloudFront, Route 53, ...) arrive in us-east-1 only: outside it, forward them with
 * GlobalEventForwarding (`globalEventsForwarded`).
 */
export class CircuitBreaker extends Construct {
  /** The table of counters, breaker states and the ledger. */
  public readonly table: dynamodb.Table;
  /** The topic receiving trip alerts. */
  public readonly alertTopic: sns.ITopic;
  /** The function counting events and tripping the breaker. */
  public readonly handler: lambda.Function;
  /** The rule delivering the agents' CloudTrail events. */
  public readonly rule: events.Rule;
  /**
   * Events the handler failed on after every retry: those EventBridge could not deliver, and the
   * invocations that kept failing (Lambda's on-failure destination), such as a quarantine IAM kept
   * refusing. Alarms (`deadLetterAlarm`) as soon as one arrives.
   */
  public readonly deadLetterQueue: sqs.Queue;
  /** In alarm while the dead-letter queue holds a message; notifies the alert topic. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** Whether the breaker only counts and alerts. */
  public readonly monitorOnly: boolean;
  /** The configuration of each watched agent. */
  public readonly watched: ReadonlyArray<WatchedAgentConfig>;

  /**
   * The approval gates' credentials roles on which a trip also quarantines the sessions the
   * tripped agent collected (`credentialsRoles`); a reset must remove that quarantine from them.
   */
  public readonly credentialsRoles: ReadonlyArray<iam.IRole>;

  private readonly agents: AgentRole[];

  constructor(scope: Construct, id: string, props: CircuitBreakerProps) {
    super(scope, id);
    this.agents = validateAgents(props.agents, this.node.path);
    const defaults = resolveThresholds('defaultThresholds', props.defaultThresholds, DEFAULTS, this.node.path);
    this.watched = props.agents.map((w) => ({
      agentName: w.agent.agentName,
      roleArn: w.agent.roleArn,
      roleName: w.agent.roleName,
      ...resolveThresholds(`thresholds of agent ${w.agent.agentName}`, w.thresholds, defaults, this.node.path),
    }));
    this.monitorOnly = props.monitorOnly ?? false;
    this.credentialsRoles = validateCredentialsRoles(props.credentialsRoles, this.agents, this.node.path);

    this.table = new dynamodb.Table(this, 'State', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // The ledger is evidence: keep it when the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.alertTopic =
      props.alertTopic ??
      new sns.Topic(this, 'Alerts', {
        displayName: 'cdk-agent-guardrails circuit breaker',
        // A customer managed key: CloudWatch alarms cannot publish to a topic under alias/aws/sns.
        masterKey: alertKey(this),
        enforceSSL: true,
      });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeNagFindings(this.deadLetterQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          "This queue is itself the dead-letter queue: of the event rule's target and the handler's on-failure destination (cdk-nag " +
          'recognizes only queue-to-queue redrive). A message here is kept 14 days and alarms to the alert topic at once; a further ' +
          'queue would only move it.',
      },
    ]);

    const config: BreakerConfig = {
      agents: this.watched,
      tableName: this.table.tableName,
      topicArn: this.alertTopic.topicArn,
      monitorOnly: this.monitorOnly,
      ...(this.credentialsRoles.length > 0 ? { credentialsRoleNames: this.credentialsRoles.map((r) => r.roleName) } : {}),
    };
    // Bundled when the package is built: a consumer's synth needs neither esbuild nor Docker.
    const runtime = nodeRuntimeOf(props.lambdaRuntime ?? lambda.Runtime.NODEJS_22_X, 'CircuitBreaker');
    const handlerLogs = new logs.LogGroup(this, 'HandlerLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    this.handler = new lambda.Function(this, 'Handler', {
      code: lambda.Code.fromAsset(handlerAssetDirectory('breaker-handler')),
      handler: 'index.handler',
      runtime,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(30),
      description: 'cdk-agent-guardrails circuit breaker: counts agent calls and quarantines runaway agents',
      environment: { [BREAKER_CONFIG_ENV]: Stack.of(this).toJsonString(config) },
      logGroup: handlerLogs,
      role: functionRole(
        this,
        'HandlerServiceRole',
        handlerLogs,
        'cdk-agent-guardrails circuit breaker: counts agent calls, quarantines runaway agents',
      ),
      // EventBridge invokes asynchronously: once Lambda has accepted an event, Lambda's retries
      // apply, and an event that still fails (a quarantine IAM kept refusing) would be dropped
      // without an on-failure destination.
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    acknowledgeDefaultRuntime(this.handler, runtime, props.lambdaRuntime !== undefined);
    this.grantStateWrites(this.handler);
    grantPublishTo(this.alertTopic, this.handler);
    if (!this.monitorOnly) {
      this.handler.addToRolePolicy(this.quarantineStatement());
      if (this.credentialsRoles.length > 0) {
        this.handler.addToRolePolicy(this.credentialsQuarantineStatement(['iam:PutRolePolicy', 'iam:GetRolePolicy']));
      }
    }

    this.rule = new events.Rule(this, 'AgentCalls', {
      description: 'cdk-agent-guardrails circuit breaker: write and denied calls of agent sessions',
      eventPattern: { detailType: ['AWS API Call via CloudTrail'] },
    });
    const cfnRule = this.rule.node.defaultChild as events.CfnRule;
    cfnRule.addPropertyOverride('EventPattern', breakerEventPattern(this.watched.map((w) => w.roleArn)));
    // Denied read-only calls (a Describe the agent may not make) arrive only in this state.
    cfnRule.addPropertyOverride('State', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    this.rule.addTarget(
      new targets.LambdaFunction(this.handler, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      }),
    );

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLettersAlarm', {
      alarmDescription:
        'cdk-agent-guardrails circuit breaker: an agent event failed every retry (for instance a quarantine IAM refused). ' +
        'The agent may NOT be stopped: read the dead-letter queue and the handler logs; run `breaker trip` if in doubt.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alertTopic));

    Tags.of(this).add(GUARDRAIL_COMPONENT_TAG, 'circuit-breaker');
    if (this.monitorOnly) {
      Annotations.of(this).addWarningV2(
        'cdk-agent-guardrails:breaker-monitor-only',
        `CircuitBreaker ${this.node.path} is in MONITOR-ONLY mode: it counts and alerts but will NEVER quarantine ` +
          `${this.watched.map((w) => w.agentName).join(', ')}. ` +
          'A runaway agent keeps running. Remove monitorOnly once the thresholds are tuned.',
      );
    }
    Annotations.of(this).addInfoV2(
      'cdk-agent-guardrails:breaker-region',
      'CircuitBreaker watches CloudTrail events of its own region only: deploy one per region where the agents work, and keep a trail ' +
        '(AuditTrail) recording management events.',
    );
    if (props.globalEventsForwarded !== true) {
      // Decided once the whole app is built: a GlobalEventForwarding may be added after the breaker.
      Aspects.of(this).add({ visit: (node) => node === this && this.warnIfGlobalEventsUnseen() });
    }
    this.node.addValidation({ validate: () => this.validateInlinePolicyRoom() });
  }

  /** Warns when the breaker is (or may be) outside us-east-1 and nothing in the app forwards the global services' events to it. */
  private warnIfGlobalEventsUnseen(): void {
    const region = Stack.of(this).region;
    if (region === 'us-east-1') return;
    const unresolved = Token.isUnresolved(region);
    const forwarded = this.node.root.node
      .findAll()
      .filter((c): c is GlobalEventForwarding => c instanceof GlobalEventForwarding)
      .some(
        (f) => unresolved || JSON.stringify(Stack.of(f).resolve((f.rule.node.defaultChild as events.CfnRule).targets)).includes(`:events:${region}:`),
      );
    if (forwarded) return;
    const where = unresolved ? 'in a stack without an explicit region (if deployed outside us-east-1)' : `in ${region}`;
    const breakerRegion = unresolved ? 'THE_BREAKER_REGION' : region;
    Annotations.of(this).addWarningV2(
      'cdk-agent-guardrails:breaker-global-events',
      `CircuitBreaker ${this.node.path} is ${where}: the CloudTrail events of the global services (IAM, STS, Organizations, ` +
        'CloudFront, Route 53) arrive in us-east-1 only, so it never sees an agent delete a role, a DNS record or a distribution. ' +
        `Fix: deploy new GlobalEventForwarding(stack, 'Forward', { breakerRegion: '${breakerRegion}' }) in a us-east-1 stack, and set ` +
        'globalEventsForwarded: true on the breaker (or keep both in this app).',
    );
  }

  /** The command an operator runs to reset the breaker of an agent. */
  public resetCommand(agent: AgentRole): string {
    const watched = this.watched.find((w) => w.agentName === agent.agentName);
    if (!watched) {
      throw invalidProps('CircuitBreaker.AgentNotWatched', `CircuitBreaker: agent ${agent.agentName} is not watched by ${this.node.path}.`, {
        constructPath: this.node.path,
        received: agent.agentName,
        fix: `Ask for the reset command of an agent it watches (${this.watched.map((w) => w.agentName).join(', ')}), or watch the agent.`,
      });
    }
    return resetCommand(
      watched.agentName,
      watched.roleName,
      this.table.tableName,
      this.credentialsRoles.map((r) => r.roleName),
    );
  }

  /**
   * Grants a human operator's role what `breaker trip` and `breaker reset` need: writing the
   * quarantine policy of the watched agent roles, the breaker state and ledger, and alerts.
   * Refuses agent roles: an agent never resets a breaker.
   */
  public grantOperate(grantee: iam.IGrantable): iam.Grant {
    if (grantee instanceof AgentRole || grantee.grantPrincipal instanceof AgentRole) {
      throw invalidProps(
        'CircuitBreaker.AgentOperator',
        `CircuitBreaker: grantOperate was given agent role ${(grantee as AgentRole).agentName ?? ''}; an agent must never trip or reset a ` +
          `breaker. Grant it to a human operator's role.`,
        {
          constructPath: this.node.path,
          received: ((grantee instanceof AgentRole ? grantee : grantee.grantPrincipal) as AgentRole).node.path,
          fix: "Grant it to a human operator's role.",
        },
      );
    }
    const agentRoles = iam.Grant.addToPrincipal({
      grantee,
      actions: ['iam:PutRolePolicy', 'iam:GetRolePolicy'],
      resourceArns: this.agents.map((a) => a.roleArn),
    });
    // The reset removes the agent's quarantine from the credentials roles; a trip puts it there.
    const grant =
      this.credentialsRoles.length > 0
        ? agentRoles.combine(
            iam.Grant.addToPrincipal({
              grantee,
              actions: ['iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy'],
              resourceArns: this.credentialsRoles.map((r) => r.roleArn),
            }),
          )
        : agentRoles;
    this.grantStateWrites(grantee);
    this.table.grant(grantee, 'dynamodb:Query');
    grantPublishTo(this.alertTopic, grantee);
    return grant;
  }

  private grantStateWrites(grantee: iam.IGrantable): iam.Grant {
    return this.table.grant(grantee, 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:GetItem');
  }

  /**
   * The handler may put (and read back: a tripped agent's quarantine is checked on its next calls)
   * an inline policy on the watched agent roles and nothing else in IAM: no delete (a reset is human
   * only), no other role. IAM has no condition key for the inline policy
   * name; the role tag pins the agent roles a second time.
   */
  private quarantineStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'QuarantineWatchedAgents',
      actions: ['iam:PutRolePolicy', 'iam:GetRolePolicy'],
      resources: this.agents.map((a) => a.roleArn),
      conditions: { StringEquals: { [`aws:ResourceTag/${AGENT_TAG}`]: this.agents.map((a) => a.agentName) } },
    });
  }

  /**
   * On the approval gates' credentials roles, the handler puts and reads back a tripped agent's
   * quarantine; it never deletes one (a reset is human only).
   */
  private credentialsQuarantineStatement(actions: string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'QuarantineCollectedSessions',
      actions,
      resources: this.credentialsRoles.map((r) => r.roleArn),
    });
  }

  private validateInlinePolicyRoom(): string[] {
    const errors: string[] = [];
    const quarantine = policySize(quarantineDocument(new Date(0)));
    for (const agent of this.agents) {
      const inline = agent.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
      const used = inline ? policySize(Stack.of(agent).resolve(inline.document.toJSON())) : 0;
      if (used + quarantine > IAM_QUOTAS.inlinePoliciesPerRole) {
        errors.push(
          `CircuitBreaker: agent ${agent.agentName}'s inline policies use ${used} of the ${IAM_QUOTAS.inlinePoliciesPerRole} characters ` +
            `IAM allows per role; the quarantine policy (${quarantine}) would not fit, and the breaker could not stop the agent. ` +
            'Move grants to a managed policy.',
        );
      }
    }
    // Every watched agent may be tripped at once, each with its own policy; role names are at most 64 characters.
    const collected = this.agents.length * policySize(credentialsQuarantineDocument('r'.repeat(64)));
    for (const role of this.credentialsRoles) {
      const inline = role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
      const used = inline ? policySize(Stack.of(role).resolve(inline.document.toJSON())) : 0;
      if (used + collected > IAM_QUOTAS.inlinePoliciesPerRole) {
        errors.push(
          `CircuitBreaker: credentials role ${role.node.path}'s inline policies use ${used} of the ${IAM_QUOTAS.inlinePoliciesPerRole} ` +
            `characters IAM allows per role; the quarantines of ${this.agents.length} agents (${collected}) would not fit, and a trip ` +
            'could not revoke the sessions an agent collected. Watch fewer agents per breaker or give the gate fewer operations.',
        );
      }
    }
    return errors;
  }
}

/** The alert topic's key: usable by CloudWatch, so that the dead-letter alarm can notify the topic. */
function alertKey(scope: Construct): kms.Key {
  const key = new kms.Key(scope, 'AlertsKey', {
    description: 'cdk-agent-guardrails circuit breaker: alert topic',
    enableKeyRotation: true,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublishToAlertTopic',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }),
  );
  return key;
}

function validateAgents(agents: WatchedAgent[] | undefined, constructPath: string): AgentRole[] {
  if (!Array.isArray(agents) || agents.length === 0) {
    throw invalidProps(
      'CircuitBreaker.NoAgents',
      `CircuitBreaker: agents is empty (got ${JSON.stringify(agents)}). Give at least one agent: agents: [{ agent: myAgentRole }].`,
      {
        constructPath,
        received: JSON.stringify(agents) ?? 'undefined',
        fix: 'Give at least one agent: agents: [{ agent: myAgentRole }].',
      },
    );
  }
  if (agents.length > MAX_AGENTS) {
    throw invalidProps(
      'CircuitBreaker.TooManyAgents',
      `CircuitBreaker: ${agents.length} agents given; one breaker watches at most ${MAX_AGENTS} (its configuration travels in the function's 4 ` +
        `KB environment). Split them across several CircuitBreakers.`,
      {
        constructPath,
        received: `${agents.length} agents`,
        fix: `Split them across several CircuitBreakers of at most ${MAX_AGENTS} agents each.`,
      },
    );
  }
  const seen = new Set<string>();
  for (const w of agents) {
    if (!w || !AgentRole.isAgentRole(w.agent)) {
      throw invalidProps(
        'CircuitBreaker.NotAgentRole',
        `CircuitBreaker: every watched agent must be an AgentRole (its guard is what keeps the agent from removing its own quarantine); got ` +
          `${w?.agent?.constructor?.name ?? JSON.stringify(w)}.`,
        {
          constructPath,
          received: w?.agent?.constructor?.name ?? JSON.stringify(w) ?? 'undefined',
          fix: 'Watch the AgentRole the agent runs as (or guard the role with GuardAgents and make it an AgentRole).',
        },
      );
    }
    if (seen.has(w.agent.agentName)) {
      throw invalidProps(
        'CircuitBreaker.DuplicateAgent',
        `CircuitBreaker: agent ${w.agent.agentName} is listed twice. List each agent once, with its thresholds.`,
        {
          constructPath,
          received: w.agent.agentName,
          fix: 'List each agent once, with its thresholds.',
        },
      );
    }
    seen.add(w.agent.agentName);
  }
  return agents.map((w) => w.agent);
}

function validateCredentialsRoles(roles: iam.IRole[] | undefined, agents: AgentRole[], constructPath: string): iam.IRole[] {
  if (roles === undefined) return [];
  if (!Array.isArray(roles) || roles.some((r) => !r || typeof r.roleArn !== 'string' || typeof r.roleName !== 'string')) {
    const received = Array.isArray(roles) ? `[${roles.map((r) => (r as object)?.constructor?.name ?? String(r)).join(', ')}]` : String(roles);
    throw invalidProps(
      'CircuitBreaker.InvalidCredentialsRoles',
      `CircuitBreaker: credentialsRoles must be a list of IAM roles (ApprovalGate.credentialsRole), got ${received}.`,
      { constructPath, received, fix: 'Pass the credentials roles of your approval gates: credentialsRoles: [gate.credentialsRole!].' },
    );
  }
  for (const role of roles) {
    const agent = agents.find((a) => a === role);
    if (agent) {
      throw invalidProps(
        'CircuitBreaker.AgentAsCredentialsRole',
        `CircuitBreaker: credentialsRoles lists agent role ${agent.agentName}; it is already quarantined as a watched agent. ` +
          "List the approval gates' credentials roles only.",
        { constructPath, received: agent.node.path, fix: "List the approval gates' credentials roles only (gate.credentialsRole)." },
      );
    }
  }
  const sameArn = (r: iam.IRole, i: number) => !Token.isUnresolved(r.roleArn) && roles.findIndex((o) => o.roleArn === r.roleArn) !== i;
  const duplicate = roles.find((r, i) => roles.indexOf(r) !== i || sameArn(r, i));
  if (duplicate !== undefined) {
    throw invalidProps('CircuitBreaker.DuplicateCredentialsRole', `CircuitBreaker: credentials role ${duplicate.node.path} is listed twice.`, {
      constructPath,
      received: duplicate.node.path,
      fix: 'List each credentials role once.',
    });
  }
  return [...roles];
}

function resolveThresholds(what: string, given: BreakerThresholds | undefined, fallback: typeof DEFAULTS, constructPath: string): typeof DEFAULTS {
  const count = (name: keyof BreakerThresholds, value: number | undefined, inherited: number): number => {
    if (value === undefined) return inherited;
    if (Token.isUnresolved(value) || !Number.isInteger(value) || value < 1) {
      throw invalidProps(
        'CircuitBreaker.InvalidThreshold',
        `CircuitBreaker: ${what}: ${name} must be a whole number of at least 1 (the breaker trips on more than that many calls), got ${value}.`,
        {
          constructPath,
          received: `${name}: ${value}`,
          fix: `Set ${name} to a literal whole number of at least 1, or leave it out for the default.`,
        },
      );
    }
    return value;
  };
  let windowSeconds = fallback.windowSeconds;
  if (given?.window !== undefined) {
    const ms = given.window.toMilliseconds();
    if (Token.isUnresolved(ms)) {
      throw invalidProps('CircuitBreaker.WindowNotLiteral', `CircuitBreaker: ${what}: window must be a literal duration, not a token.`, {
        constructPath,
        received: given.window.toString(),
        fix: 'Give a literal duration such as Duration.minutes(5).',
      });
    }
    windowSeconds = ms / 1000;
    if (!Number.isInteger(windowSeconds) || windowSeconds < 60 || windowSeconds > 86400) {
      throw invalidProps(
        'CircuitBreaker.WindowOutOfRange',
        `CircuitBreaker: ${what}: window of ${given.window.toHumanString()} is out of range. Use whole seconds from 1 minute to 1 day, for ` +
          `example Duration.minutes(5).`,
        {
          constructPath,
          received: given.window.toHumanString(),
          fix: 'Use whole seconds from 1 minute to 1 day, for example Duration.minutes(5).',
        },
      );
    }
  }
  return {
    maxDestructiveCalls: count('maxDestructiveCalls', given?.maxDestructiveCalls, fallback.maxDestructiveCalls),
    maxDeniedCalls: count('maxDeniedCalls', given?.maxDeniedCalls, fallback.maxDeniedCalls),
    maxWriteCalls: count('maxWriteCalls', given?.maxWriteCalls, fallback.maxWriteCalls),
    windowSeconds,
  };
}

export { QUARANTINE_POLICY_NAME };
