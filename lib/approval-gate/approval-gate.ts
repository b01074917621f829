import { ArnFormat, Aspects, Duration, IAspect, Lazy, RemovalPolicy, Stack, Tags, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, IConstruct } from 'constructs';
import { AgentRole } from '../guard/agent-role';
import { handlerAssetDirectory } from '../shared/assets';
import { invalidProps } from '../shared/errors';
import { nodeRuntimeOf } from '../shared/lambda-runtime';
import { acknowledgeNagFindings, nagResourceFinding } from '../shared/nag-suppressions';
import {
  DEFAULT_APPROVAL_EXPIRY,
  DEFAULT_APPROVAL_TIMEOUT,
  DEFAULT_CREDENTIALS_DURATION,
  MAX_APPROVAL_EXPIRY,
  MAX_CREDENTIALS_DURATION,
  MIN_APPROVAL_EXPIRY,
  MIN_CREDENTIALS_DURATION,
  ValidatedOperation,
  refuseCredentialsEscalation,
  validateAdditionalActions,
  validateApprovers,
  validateDurationRange,
  validateOperation,
  validateOperations,
  validateTimeout,
} from './private/approval-validation';
import { BoundOperation, PSEUDO } from './runtime/approval-binding';
import { approvalWorkflow } from './private/approval-workflow';
import { acknowledgeDefaultRuntime, functionRole, grantPublishTo } from './private/function-resources';
import { acknowledgeUnscopableActions } from './private/unscopable-actions';
import { collectionParts } from './private/collection';
import { ApprovalChat, chatRoles } from './approval-chat';
import { reconciliation } from './private/reconciliation';
import { breakGlass } from './private/break-glass';
import { GUARDRAIL_COMPONENT_TAG } from '../guard/private/escalation-statements';

/** The value of the `guardrails:component` tag on the gate's parts. */
export const APPROVAL_GATE_COMPONENT = 'approval-gate';

/** How an approved request is carried out. */
export class ExecutionMode {
  /** The gate performs the approved call itself, once, with its executor role (one AWS SDK call). */
  public static readonly PERFORM = new ExecutionMode('PERFORM');
  /**
   * The requesting agent collects, once and within the approval's expiry, short-lived credentials
   * whose session policy allows exactly the approved actions on exactly the approved resource (for
   * multi-step work such as a failover runbook). The session may call those actions with any
   * parameters until it expires, so this mode is refused for code-execution actions, CloudFormation,
   * IAM, STS and Organizations, and on a gate granted to more than one requester role.
   */
  public static readonly CREDENTIALS = new ExecutionMode('CREDENTIALS');

  private constructor(
    /** The mode's name. */
    public readonly name: string,
  ) {}
}

/** One operation an approval gate may perform once approved. */
export interface GatedOperationOptions {
  /** The IAM service prefix, for example `rds`. */
  readonly service: string;
  /** One API action of the service, for example `DeleteDBInstance`; no wildcards. */
  readonly action: string;
  /** The ARNs (or ARN patterns with `*` inside a name) the operation may touch. */
  readonly resources: string[];
  /**
   * The AWS SDK client name Step Functions calls (`arn:aws:states:::aws-sdk:<client>:<api>`).
   * @default - the IAM prefix, or the known SDK name where it differs (efs, sfn, ...)
   */
  readonly sdkService?: string;
  /**
   * The ARN of the resource a request acts on, built from the request's API parameters:
   * `{Name}` stands for the parameter `Name` (a non-empty string), `${AWS::Partition}`,
   * `${AWS::Region}` and `${AWS::AccountId}` for the gate's stack's. Give `"{Name}"` alone for a
   * parameter that holds the whole ARN. The workflow, the notifier and the approval handler each
   * derive this ARN from the parameters and refuse a request whose `resource` is not exactly it,
   * so approvers always see what the executor will act on.
   * @default - the known binding of the action, for example
   * `arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:{DBInstanceIdentifier}` for
   * rds:DeleteDBInstance; an action without a known binding is refused at synth time
   */
  readonly resourceArn?: string;
  /**
   * Whether the single parameter in `resourceArn` may also hold the resource's full ARN (APIs
   * that take "a name or an ARN"); a value starting with `arn:` is then the target itself.
   * @default - the known binding's setting; false with an explicit resourceArn
   */
  readonly resourceParameterAcceptsArn?: boolean;
  /**
   * How an approved request is carried out: performed by the gate, or collected by the agent as
   * short-lived credentials limited to the approved resource.
   * @default ExecutionMode.PERFORM
   */
  readonly mode?: ExecutionMode;
  /**
   * ExecutionMode.CREDENTIALS only: further actions of the same service the issued session may call
   * on the approved resource (the steps of a runbook), each named in the IAM data and scoped to a
   * resource (`rds:RebootDBInstance` or `RebootDBInstance`).
   * @default - none: the session may call only `action`
   */
  readonly additionalActions?: string[];
}

/** An operation behind an approval gate, validated against the IAM service authorization data. */
export class GatedOperation {
  /** Gates one API action on the named resources. Throws at synth time for wildcards, unknown actions or unscoped resources. */
  public static of(options: GatedOperationOptions): GatedOperation {
    const validated = validateOperation(options.service, options.action, options.resources, options.sdkService, {
      resourceArn: options.resourceArn,
      resourceParameterAcceptsArn: options.resourceParameterAcceptsArn,
    });
    const mode = options.mode ?? ExecutionMode.PERFORM;
    if (mode !== ExecutionMode.PERFORM && mode !== ExecutionMode.CREDENTIALS) {
      throw invalidProps('GatedOperation.UnknownMode', `GatedOperation ${validated.iamAction}: mode ${String((mode as any)?.name)} is not known.`, {
        received: String((mode as any)?.name ?? mode),
        fix: 'Use ExecutionMode.PERFORM or ExecutionMode.CREDENTIALS.',
      });
    }
    const actions = validateAdditionalActions(validated, options.additionalActions, mode === ExecutionMode.CREDENTIALS);
    if (mode === ExecutionMode.CREDENTIALS) refuseCredentialsEscalation(actions);
    return new GatedOperation(validated, mode, actions);
  }

  /** Gates one API action whose approval lets the requesting agent collect credentials for it (`mode: ExecutionMode.CREDENTIALS`). */
  public static credentials(options: GatedOperationOptions): GatedOperation {
    return GatedOperation.of({ ...options, mode: ExecutionMode.CREDENTIALS });
  }

  /** `service:Action` as IAM names it. */
  public readonly iamAction: string;
  /** The resources the operation may touch. */
  public readonly resources: string[];
  /** The ARN template a request's parameters fill to name the resource acted on (see `GatedOperationOptions.resourceArn`). */
  public readonly resourceArn: string;
  /** How an approved request is carried out. */
  public readonly mode: ExecutionMode;
  /** Every action an approval covers: `iamAction`, then the additional actions (credentials mode). */
  public readonly actions: string[];

  private constructor(
    private readonly validated: ValidatedOperation,
    mode: ExecutionMode,
    actions: string[],
  ) {
    this.iamAction = validated.iamAction;
    this.resources = validated.resources;
    this.resourceArn = validated.binding.resourceArn;
    this.mode = mode;
    this.actions = actions;
  }

  /** @internal */
  public get _validated(): ValidatedOperation {
    return this.validated;
  }
}

/** An IAM principal allowed to decide on requests. */
export class Approver {
  /** A role whose sessions may decide (all sessions of one role count as one approver). */
  public static role(role: iam.IRole): Approver {
    return new Approver(role.roleArn, role);
  }
  /** An IAM user who may decide. */
  public static user(user: iam.IUser): Approver {
    return new Approver(user.userArn, user);
  }

  private constructor(
    /** The ARN of the role or user. */
    public readonly arn: string,
    /** The principal. */
    public readonly principal: iam.IPrincipal,
  ) {}
}

/** Properties of an ApprovalGate. */
export interface ApprovalGateProps {
  /**
   * The Lambda runtime of the guardrail's functions (Node.js 20 or later).
   * @default lambda.Runtime.NODEJS_22_X
   */
  readonly lambdaRuntime?: lambda.Runtime;
  /** The operations the gate performs once approved. */
  readonly operations: GatedOperation[];
  /** Who may decide. An agent role is never an approver. */
  readonly approvers: Approver[];
  /**
   * How many distinct approvers must approve.
   * @default 1
   */
  readonly requiredApprovals?: number;
  /**
   * How long a request waits for a decision; reaching it means rejected. 1 minute to 364 days.
   * @default Duration.hours(4)
   */
  readonly timeout?: Duration;
  /**
   * The topic that tells approvers about requests.
   * @default - a new topic
   */
  readonly notificationTopic?: sns.ITopic;
  /**
   * Email addresses subscribed to the topic.
   * @default - none
   */
  readonly approverEmails?: string[];
  /**
   * Chat channels (Slack, Microsoft Teams) that AWS Chatbot tells about requests and decisions, from
   * the notification topic. The channel configurations the gate creates can run nothing (a channel
   * role without permissions and a deny-all guardrail); approvers decide with their own credentials.
   * @default - none
   */
  readonly chatChannels?: ApprovalChat[];
  /**
   * The emergency roles operators assume when the gate cannot wait (docs/approval-gate.md, "Break
   * glass"): every sts:AssumeRole into one of them is recorded in the ledger (request id BREAK_GLASS)
   * and told to the approvers. Agents granted to request are denied every action on them.
   * @default - none
   */
  readonly breakGlassRoles?: iam.IRole[];
  /**
   * Credentials mode: how long the issued credentials last. 15 minutes to 1 hour: the collection
   * function assumes the credentials role from its own session (role chaining), which STS caps at 1 hour.
   * @default Duration.minutes(15)
   */
  readonly credentialsDuration?: Duration;
  /**
   * How long an approval stays usable; credentials mode: the window to collect it, after which it
   * expires (refused at collection, closed as EXPIRED in the ledger). 1 minute to 12 hours.
   * @default Duration.hours(1)
   */
  readonly approvalExpiry?: Duration;
}

/**
 * Human approval for high-risk agent actions. The agent starts an execution naming an operation,
 * a resource and the API parameters; the workflow validates it, records it with a SHA-256 digest
 * in the ledger, asks the approvers and waits; on approval of exactly that digest by enough
 * distinct approvers it performs the operation itself with an executor role that can do nothing
 * else. Rejection, timeout and errors end in a failed execution with nothing performed.
 */
export class ApprovalGate extends Construct {
  /** The workflow. Deliberately not tagged as a guardrail component: agents must be able to start it. */
  public readonly stateMachine: sfn.StateMachine;
  /** The audit ledger. */
  public readonly ledger: dynamodb.TableV2;
  /** The topic approvers are told on. */
  public readonly topic: sns.ITopic;
  /** The approval handler, reached through its IAM-authenticated function URL. */
  public readonly approvalHandler: lambda.IFunction;
  /** The function URL approvers call (SigV4-signed). */
  public readonly approvalUrl: string;
  /** The role that performs the approved operations, and nothing else. */
  public readonly executorRole: iam.Role;
  /** The operations gated. */
  public readonly operations: GatedOperation[];

  /** The workflow's fixed name: agents anywhere in the app are denied it by name, without cross-stack references. */
  public readonly stateMachineName: string;
  /** Credentials mode: the collection handler the requesting agent calls (IAM-authenticated function URL); undefined without such operations. */
  public readonly collectionHandler?: lambda.IFunction;
  /** Credentials mode: the function URL the requesting agent collects through (SigV4-signed `POST /requests/<id>/collect`). */
  public readonly collectionUrl?: string;
  /** Credentials mode: the role whose sessions are issued; trusted only by the collection handler's role. */
  public readonly credentialsRole?: iam.Role;
  /** Status changes of the workflow the approval handler could not take (after retries); every message raises `reconciliationAlarm`. */
  public readonly reconciliationDeadLetterQueue: sqs.IQueue;
  /** In alarm while a final state of an execution is not reflected in the ledger (a dead letter); add your alarm actions. */
  public readonly reconciliationAlarm: cloudwatch.IAlarm;
  /** Credentials mode: the collection handler's fixed function name (agents are granted and denied it by name). */
  public readonly collectionFunctionName?: string;

  private readonly requesters: iam.IRole[] = [];
  /** The requesters' role ARNs as the ledger records them (built from the name for a role of another stack). */
  private readonly requesterArns: string[] = [];
  private readonly collectionRole?: iam.IRole;
  private readonly breakGlassRoles: iam.IRole[];
  private readonly approverArns: string[];
  private readonly notifier: lambda.IFunction;

  constructor(scope: Construct, id: string, props: ApprovalGateProps) {
    super(scope, id);
    const operations = props.operations ?? [];
    validateOperations(
      operations.map((o) => o._validated),
      this.node.path,
    );
    const approvers = props.approvers ?? [];
    const requiredApprovals = props.requiredApprovals ?? 1;
    validateApprovers(approvers.length, requiredApprovals, this.node.path);
    for (const approver of approvers) {
      if (approver.principal instanceof AgentRole) {
        throw invalidProps(
          'ApprovalGate.AgentApprover',
          `ApprovalGate: approver ${approver.principal.node.path} is an agent role (${approver.principal.agentName}). An agent never approves; ` +
            `name the roles or users of people.`,
          {
            constructPath: this.node.path,
            received: approver.principal.node.path,
            fix: 'Name the IAM roles or users of the people who decide (Approver.role(securityLeadRole)); an agent only requests (grantRequest).',
          },
        );
      }
    }
    const timeoutSeconds = validateTimeout(props.timeout ?? DEFAULT_APPROVAL_TIMEOUT, this.node.path);
    const credentialsSeconds = validateDurationRange(
      'credentialsDuration',
      props.credentialsDuration ?? DEFAULT_CREDENTIALS_DURATION,
      MIN_CREDENTIALS_DURATION,
      MAX_CREDENTIALS_DURATION,
      'STS issues at least 15 minutes, and caps a session assumed from another role session at 1 hour',
      this.node.path,
    );
    const expirySeconds = validateDurationRange(
      'approvalExpiry',
      props.approvalExpiry ?? DEFAULT_APPROVAL_EXPIRY,
      MIN_APPROVAL_EXPIRY,
      MAX_APPROVAL_EXPIRY,
      'an approval is used soon or asked again',
      this.node.path,
    );
    this.operations = [...operations];
    this.approverArns = approvers.map((a) => a.arn);
    // The target ARN of each operation in the gate's partition, region and account: the workflow's
    // SDK integrations act there, with the executor role of this account.
    const stack = Stack.of(this);
    const resolvePseudo = (template: string) =>
      template.split(PSEUDO.partition).join(stack.partition).split(PSEUDO.region).join(stack.region).split(PSEUDO.account).join(stack.account);
    const validated = operations
      .map((o) => o._validated)
      .map((o) => ({ ...o, binding: { ...o.binding, resourceArn: resolvePseudo(o.binding.resourceArn) } }));
    const bound: BoundOperation[] = validated.map((o) => ({ operation: o.iamAction, resources: o.resources, ...o.binding }));
    const boundJson = stack.toJsonString(bound);
    const component = (c: Construct) => Tags.of(c).add(GUARDRAIL_COMPONENT_TAG, APPROVAL_GATE_COMPONENT);

    this.ledger = new dynamodb.TableV2(this, 'Ledger', {
      partitionKey: { name: 'requestId', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'record', type: dynamodb.AttributeType.STRING },
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    component(this.ledger);

    this.topic =
      props.notificationTopic ??
      new sns.Topic(this, 'Notifications', {
        displayName: 'Approval requests of AI agents',
        enforceSSL: true,
        // Encrypted at rest with the AWS managed key: only the notifier publishes (CloudWatch never
        // does), and email subscriptions work with it.
        masterKey: kms.Alias.fromAliasName(this, 'NotificationsKey', 'alias/aws/sns'),
      });
    if (!props.notificationTopic) component(this.topic);
    for (const email of props.approverEmails ?? []) {
      if (!Token.isUnresolved(email) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
        throw invalidProps(
          'ApprovalGate.InvalidApproverEmail',
          `ApprovalGate: approverEmails contains ${JSON.stringify(email)}, which is not an email address.`,
          {
            constructPath: this.node.path,
            received: JSON.stringify(email),
            fix: 'Give email addresses such as security-lead@example.com.',
          },
        );
      }
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    let chat: ReturnType<typeof chatRoles> | undefined;
    const chatParts = () => (chat ??= chatRoles(this));
    (props.chatChannels ?? []).forEach((channel, i) =>
      channel._bind(
        this,
        `Chat${channel.kind}${i}`,
        this.topic,
        () => chatParts().role,
        () => chatParts().guardrail,
      ),
    );

    // Bundled when the package is built: a consumer's synth needs neither esbuild nor Docker.
    const code = lambda.Code.fromAsset(handlerAssetDirectory('approval-handler'));
    const runtime = nodeRuntimeOf(props.lambdaRuntime ?? lambda.Runtime.NODEJS_22_X, 'ApprovalGate');
    const handlerLogs = new logs.LogGroup(this, 'ApprovalHandlerLogs', {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const handlerRole = functionRole(
      this,
      'ApprovalHandlerServiceRole',
      handlerLogs,
      'cdk-agent-guardrails approval handler: records decisions, completes the waiting task',
    );
    // How requests are carried out, told to approvers by the handler and the notifier (credentials mode: what the session allows).
    const termsJson = stack.toJsonString({
      timeoutSeconds,
      credentialsSeconds,
      collectWithinSeconds: expirySeconds,
      credentials: operations.filter((o) => o.mode === ExecutionMode.CREDENTIALS).map((o) => ({ operation: o.iamAction, actions: o.actions })),
    });
    this.stateMachineName = `approval-gate-${this.node.addr}`;
    const handler = new lambda.Function(this, 'ApprovalHandler', {
      code,
      handler: 'index.handler',
      runtime,
      timeout: Duration.seconds(30),
      description: 'cdk-agent-guardrails approval handler (IAM-authenticated function URL)',
      logGroup: handlerLogs,
      role: handlerRole,
      environment: {
        LEDGER_TABLE: this.ledger.tableName,
        APPROVERS: Stack.of(this).toJsonString(this.approverArns),
        REQUIRED_APPROVALS: String(requiredApprovals),
        OPERATIONS: boundJson,
        GATE_TERMS: termsJson,
        // Status events of any other state machine are refused; by name, so the handler does not depend on the workflow.
        STATE_MACHINE_ARN: stack.formatArn({
          service: 'states',
          resource: 'stateMachine',
          resourceName: this.stateMachineName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
        // The handler announces decisions and outcomes itself. (APPROVAL_URL stays unset: the function
        // cannot name its own URL without a cycle; the notices' commands then omit --url.)
        TOPIC_ARN: this.topic.topicArn,
      },
    });
    const url = handler.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    this.approvalHandler = handler;
    this.approvalUrl = url.url;
    grantPublishTo(this.topic, handler);
    // The handler reads and appends; it never deletes a ledger record.
    handler.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [this.ledger.tableArn],
      }),
    );
    // Task tokens support no resource-level permissions (IAM data: SendTaskSuccess names no resource type).
    const taskTokenActions = ['states:SendTaskSuccess', 'states:SendTaskFailure'];
    handler.addToRolePolicy(new iam.PolicyStatement({ actions: taskTokenActions, resources: ['*'] }));
    acknowledgeUnscopableActions(
      handlerRole,
      taskTokenActions,
      'states:SendTaskSuccess and states:SendTaskFailure support no resource-level permissions (the IAM service authorization data lists no ' +
        'resource type), so IAM accepts only "*". The handler completes a task only with a token it reads from its own ledger, after checking ' +
        'the IAM-authenticated caller is a named approver; agent roles are denied both actions by their escalation denies.',
    );
    approvers.forEach((approver, i) => {
      // Resource policy: approvers may call the URL, and invoke only through it (a direct invoke could forge the caller).
      new lambda.CfnPermission(this, `ApproverUrl${i}`, {
        action: 'lambda:InvokeFunctionUrl',
        functionName: handler.functionArn,
        principal: approver.arn,
        functionUrlAuthType: 'AWS_IAM',
      });
      new lambda.CfnPermission(this, `ApproverViaUrl${i}`, {
        action: 'lambda:InvokeFunction',
        functionName: handler.functionArn,
        principal: approver.arn,
        invokedViaFunctionUrl: true,
      });
    });
    component(handler);

    const notifierLogs = new logs.LogGroup(this, 'NotifierLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    const notifier = new lambda.Function(this, 'Notifier', {
      code,
      handler: 'index.notify',
      runtime,
      timeout: Duration.seconds(30),
      description: 'cdk-agent-guardrails approval notifier (stores the task token, tells the approvers)',
      logGroup: notifierLogs,
      role: functionRole(
        this,
        'NotifierServiceRole',
        notifierLogs,
        'cdk-agent-guardrails approval notifier: stores the task token, tells the approvers',
      ),
      environment: {
        LEDGER_TABLE: this.ledger.tableName,
        TOPIC_ARN: this.topic.topicArn,
        APPROVAL_URL: url.url,
        OPERATIONS: boundJson,
        GATE_TERMS: termsJson,
      },
    });
    notifier.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [this.ledger.tableArn] }));
    grantPublishTo(this.topic, notifier);
    for (const fn of [handler, notifier]) acknowledgeDefaultRuntime(fn, runtime, props.lambdaRuntime !== undefined);
    component(notifier);
    this.notifier = notifier;

    const workflowRole = new iam.Role(this, 'WorkflowRole', {
      assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('states.amazonaws.com'), {
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      }),
      description: 'cdk-agent-guardrails approval workflow: records, notifies, and assumes the executor role',
    });
    component(workflowRole);
    this.executorRole = new iam.Role(this, 'ExecutorRole', {
      assumedBy: new iam.ArnPrincipal(workflowRole.roleArn),
      description: `cdk-agent-guardrails approval executor: only ${operations.map((o) => o.iamAction).join(', ')} on the gated resources`,
      maxSessionDuration: Duration.hours(1),
    });
    const performed = operations.filter((o) => o.mode === ExecutionMode.PERFORM);
    const collected = operations.filter((o) => o.mode === ExecutionMode.CREDENTIALS);
    for (const op of performed) {
      this.executorRole.addToPolicy(new iam.PolicyStatement({ actions: [op.iamAction], resources: op.resources }));
    }
    component(this.executorRole);
    // A `*` inside a gated resource's name (a stack's generated id, a family of names) was given on
    // purpose; a pattern naming a whole resource type was refused by GatedOperation.of.
    const patterns = [...new Set(performed.flatMap((op) => op.resources.map((r) => nagResourceFinding(stack.resolve(r)))))].filter((f) =>
      f.includes('*'),
    );
    if (patterns.length > 0) {
      acknowledgeNagFindings(this.executorRole, [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'These are the resource patterns the gate was given for its operations (GatedOperation.of refuses a pattern that names a whole ' +
            'resource type). The executor acts only after approval, and only on the one resource the request names: the workflow derives it ' +
            "from the request's parameters and checks it against these patterns before any approver is asked.",
          appliesTo: patterns,
        },
      ]);
    }
    workflowRole.addToPolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [this.executorRole.roleArn] }));

    if (collected.length > 0) {
      const parts = collectionParts(this, {
        operations: collected,
        validated: validated.filter((v) => collected.some((o) => o.iamAction === v.iamAction)),
        ledger: this.ledger,
        runtime,
        runtimeChosen: props.lambdaRuntime !== undefined,
        credentialsSeconds,
        expirySeconds,
      });
      this.collectionHandler = parts.handler;
      this.collectionUrl = parts.url;
      this.credentialsRole = parts.credentialsRole;
      this.collectionFunctionName = parts.functionName;
      this.collectionRole = parts.handlerRole;
    }

    const definition = approvalWorkflow(this, {
      operations: validated,
      ledger: this.ledger,
      notifier,
      executorRole: this.executorRole,
      timeoutSeconds,
      requiredApprovals,
      requestersJson: Lazy.string({ produce: () => Stack.of(this).toJsonString(this.requesterArns) }),
      credentialsOperations: collected.map((o) => o.iamAction),
      collectWithinSeconds: expirySeconds,
    });
    // Every state transition is logged, without the execution data: the notifier's input carries
    // the task token, which with the request's digest is an approval, and the request's
    // parameters may hold secrets. The ledger is the record of what was asked and decided.
    const workflowLogs = new logs.LogGroup(this, 'WorkflowLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    component(workflowLogs);
    this.stateMachine = new sfn.StateMachine(this, 'Workflow', {
      stateMachineName: this.stateMachineName,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      role: workflowRole,
      // The wait is bounded by the gate's timeout; the execution as a whole by one more hour to act and
      // record (and, in credentials mode, by the collection window).
      timeout: Duration.seconds(timeoutSeconds + 3600 + (collected.length > 0 ? expirySeconds : 0)),
      comment: 'cdk-agent-guardrails approval gate',
      logs: { destination: workflowLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    acknowledgeUnscopableActions(
      workflowRole,
      [...STEP_FUNCTIONS_LOG_DELIVERY_ACTIONS, ...XRAY_WRITE_ACTIONS],
      'Step Functions sets up its CloudWatch Logs delivery (logs:*LogDelivery*, logs:PutResourcePolicy, logs:Describe*) and writes X-Ray ' +
        'traces with actions that support no resource-level permissions (the IAM service authorization data lists no resource type), so ' +
        'IAM accepts only "*"; the role is assumable only by Step Functions of this account and used by this one workflow.',
    );
    acknowledgeNagFindings(workflowRole, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'The Lambda task integration grants lambda:InvokeFunction on the notifier and its versions and aliases (ARN:*). The wildcard ' +
          "spans only qualifiers of the gate's own notifier function, which publishes none; the workflow invokes the unqualified ARN.",
        appliesTo: [nagResourceFinding(stack.resolve(`${notifier.functionArn}:*`))],
      },
    ]);
    const reconciled = reconciliation(this, {
      handler,
      stateMachineArn: stack.formatArn({
        service: 'states',
        resource: 'stateMachine',
        resourceName: this.stateMachineName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
      executionsArn: this.executionsArn(),
    });
    for (const part of [reconciled.statusRule, reconciled.sweepRule, reconciled.deadLetterQueue, reconciled.deadLetterAlarm]) component(part);
    this.reconciliationDeadLetterQueue = reconciled.deadLetterQueue;
    this.breakGlassRoles = [...(props.breakGlassRoles ?? [])];
    if (this.breakGlassRoles.length > 0) {
      breakGlass(this, {
        roles: this.breakGlassRoles,
        ledger: this.ledger,
        topic: this.topic,
        runtime,
        runtimeChosen: props.lambdaRuntime !== undefined,
        deadLetterQueue: reconciled.deadLetterQueue,
      });
    }
    this.reconciliationAlarm = reconciled.deadLetterAlarm;
    acknowledgeNagFindings(handlerRole, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'The handler reads the final state of an execution named by a status-change event or by its ledger record: ' +
          `states:DescribeExecution on the executions of this gate's workflow (${this.stateMachineName}) only.`,
        appliesTo: [nagResourceFinding(stack.resolve(this.executionsArn()))],
      },
    ]);
    // The workflow carries no guardrail-component tag (that would deny StartExecution too), so every
    // other AgentRole of the app is denied every action on it by name.
    Aspects.of(this.node.root).add(new DenyGateToOtherAgents(this));
  }

  /** @internal */
  public _isRequester(role: iam.IRole): boolean {
    return this.requesters.includes(role);
  }

  /** ARNs of the workflow, its versions and aliases, and its executions, by name (any account and region). */
  public workflowArnPatterns(): string[] {
    return [
      `arn:*:states:*:*:stateMachine:${this.stateMachineName}`,
      `arn:*:states:*:*:stateMachine:${this.stateMachineName}:*`,
      `arn:*:states:*:*:execution:${this.stateMachineName}:*`,
      `arn:*:states:*:*:express:${this.stateMachineName}:*`,
    ];
  }

  /**
   * Lets an agent request gated operations: start executions of this gate and describe them.
   * Nothing more: the agent is explicitly denied every other action on the gate (stopping,
   * updating, deleting, redriving or retagging it), invoking the approval handler or notifier,
   * touching the ledger, topic or executor, and the gated operations themselves.
   */
  public grantRequest(agent: iam.IGrantable): iam.Grant {
    const role = agent.grantPrincipal instanceof iam.Role ? agent.grantPrincipal : undefined;
    if (role) {
      if (this.approverArns.some((arn) => arn === role.roleArn)) {
        throw invalidProps(
          'ApprovalGate.ApproverIsRequester',
          `ApprovalGate: ${role.node.path} is both an approver and a requester of this gate. Whoever requests must never approve; use different ` +
            `roles.`,
          {
            constructPath: this.node.path,
            received: role.node.path,
            fix: "Grant requests to the agent's role and name the roles of people as approvers.",
          },
        );
      }
      if (!this.requesters.includes(role)) {
        this.refuseSecondCredentialsRequester(role);
        this.requesterArns.push(this.requesterArnOf(role));
        this.requesters.push(role);
      }
    } else {
      throw invalidProps(
        'ApprovalGate.RequesterNotRole',
        'ApprovalGate.grantRequest: the grantee must be an IAM role (an AgentRole), so that the handler can refuse its approval.',
        {
          constructPath: this.node.path,
          received: agent.grantPrincipal.constructor?.name ?? String(agent.grantPrincipal),
          fix: 'Pass the AgentRole (or the iam.Role) the agent runs as.',
        },
      );
    }
    // By the workflow's fixed name, not by reference: the grant then holds no reference to the
    // workflow, whose definition refers to the requesters' roles (a reference back from the role's
    // policies or boundary would be a dependency cycle), nor a cross-stack reference.
    const stack = Stack.of(this);
    const byName = (resource: string, resourceName: string) =>
      stack.formatArn({
        service: 'states',
        resource,
        resourceName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    const smArn = byName('stateMachine', this.stateMachineName);
    const executions = byName('execution', `${this.stateMachineName}:*`);
    const grant = iam.Grant.addToPrincipal({ grantee: agent, actions: ['states:StartExecution'], resourceArns: [smArn] });
    iam.Grant.addToPrincipal({ grantee: agent, actions: ['states:DescribeExecution'], resourceArns: [executions] });
    if (this.collectionFunctionName) this.grantCollect(agent);
    for (const statement of this.requesterDenies(smArn, executions)) {
      agent.grantPrincipal.addToPrincipalPolicy(statement);
    }
    acknowledgeNagFindings(role, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'An execution is named when the agent starts it, so states:DescribeExecution (read only) cannot name it in advance; the ' +
          `wildcard spans only the executions of the approval gate ${this.node.path} (${this.stateMachineName}), which the agent may follow.`,
        appliesTo: [nagResourceFinding(stack.resolve(executions))],
      },
    ]);
    return grant;
  }

  /**
   * The collection handler accepts any requester role of the gate (the ledger records the gate's
   * requester list, not the session that started the execution), so with two requester roles one
   * agent could collect another's approved session (review HIGH-1). Until the starter is recorded
   * from an authenticated source, a gate with credentials-mode operations serves one agent role.
   */
  private refuseSecondCredentialsRequester(role: iam.Role): void {
    if (!this.collectionFunctionName || this.requesters.length === 0) return;
    const credentialsOps = this.operations.filter((o) => o.mode === ExecutionMode.CREDENTIALS).map((o) => o.iamAction);
    throw invalidProps(
      'ApprovalGate.CredentialsModeNeedsOneRequester',
      `ApprovalGate.grantRequest: ${role.node.path} would be a second requester role of a gate with credentials-mode operations ` +
        `(${credentialsOps.join(', ')}); it already serves ${this.requesters.map((r) => r.node.path).join(', ')}. The collection ` +
        "handler cannot yet tell which requester started a request, so any of them could collect another's approved credentials.",
      {
        constructPath: this.node.path,
        received: [...this.requesters, role].map((r) => r.node.path).join(', '),
        fix:
          'Create one gate per agent role for credentials-mode operations, or gate these operations in ExecutionMode.PERFORM (a gate in ' +
          'perform mode may serve several agents).',
      },
    );
  }

  /**
   * The requester's ARN as the workflow records it. A role of the gate's own stack is referenced. A
   * role of another stack is named, not referenced: the agent's stack already depends on the gate's
   * (its policies name the gate's parts), so a reference back would be a dependency cycle. Its ARN is
   * built from its literal name in the gate's partition and account (the handlers compare principals
   * without paths); a role without a literal name cannot be named and is refused with the fix.
   */
  private requesterArnOf(role: iam.Role): string {
    const gateStack = Stack.of(this);
    const roleStack = Stack.of(role);
    if (roleStack === gateStack) return role.roleArn;
    const cfnRole = role.node.defaultChild as iam.CfnRole;
    const name = cfnRole.roleName;
    if (typeof name !== 'string' || Token.isUnresolved(name)) {
      throw invalidProps(
        'ApprovalGate.CrossStackRequesterWithoutName',
        `ApprovalGate.grantRequest: ${role.node.path} is in stack ${roleStack.stackName}, the gate in ${gateStack.stackName}. A gate shared ` +
          "across stacks records its requesters by role name (a reference would make the gate's stack depend on the agent's, which already " +
          'depends on the gate: a cycle), and this role has no literal roleName.',
        {
          constructPath: this.node.path,
          received: `${role.node.path} (roleName ${name === undefined ? 'not set' : 'from a token'})`,
          fix:
            "Give the agent's role a literal roleName (new AgentRole(stack, 'Agent', { roleName: 'ops-assistant', ... })), or create the gate " +
            "in the agent's stack.",
        },
      );
    }
    const accounts = [gateStack.account, roleStack.account];
    if (accounts.every((a) => !Token.isUnresolved(a)) && accounts[0] !== accounts[1]) {
      throw invalidProps(
        'ApprovalGate.CrossAccountRequester',
        `ApprovalGate.grantRequest: ${role.node.path} is in account ${accounts[1]}, the gate in ${accounts[0]}. A gate serves agents of its own ` +
          "account: its collection and approval handlers trust identity policies of that account's roles.",
        { constructPath: this.node.path, received: accounts[1], fix: "Create a gate in the agent's account." },
      );
    }
    return gateStack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  }

  /** The ARN pattern of the workflow's executions, by its fixed name. */
  private executionsArn(): string {
    return Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** The collection handler's ARN, by its fixed name (no reference to the function). */
  private collectionArn(): string {
    return Stack.of(this).formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: this.collectionFunctionName!,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /**
   * Credentials mode: the requester may call the collection handler through its function URL, and only
   * so. Same account, so its identity policy suffices (a function URL created since October 2025 needs
   * both actions); a direct invocation, which could forge the caller in the event, is denied
   * (`DenyCollectionDirectInvoke`).
   */
  private grantCollect(agent: iam.IGrantable): void {
    const fn = this.collectionArn();
    // One statement, without conditions (it is carried into the agent's boundary, which is short of
    // room): the explicit deny of requesterDenies refuses every invocation not made through the URL.
    agent.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunctionUrl', 'lambda:InvokeFunction'], resources: [fn] }),
    );
  }

  private collectionDenies(): iam.PolicyStatement[] {
    if (!this.collectionFunctionName) return [];
    const fn = this.collectionArn();
    const suffix = this.node.addr.slice(0, 8);
    return [
      new iam.PolicyStatement({
        sid: `DenyCollectionTampering${suffix}`,
        effect: iam.Effect.DENY,
        notActions: ['lambda:InvokeFunctionUrl', 'lambda:InvokeFunction'],
        resources: [fn, `${fn}:*`],
      }),
      new iam.PolicyStatement({
        sid: `DenyCollectionDirectInvoke${suffix}`,
        effect: iam.Effect.DENY,
        actions: ['lambda:InvokeFunction'],
        resources: [fn, `${fn}:*`],
        conditions: { BoolIfExists: { 'lambda:InvokedViaFunctionUrl': 'false' } },
      }),
    ];
  }

  private requesterDenies(smArn: string, executions: string): iam.PolicyStatement[] {
    return [
      ...this.collectionDenies(),
      // The workflow is untagged so that StartExecution works; everything else on it is denied here.
      new iam.PolicyStatement({
        sid: `DenyApprovalGateTampering${this.node.addr.slice(0, 8)}`,
        effect: iam.Effect.DENY,
        notActions: ['states:StartExecution', 'states:DescribeExecution'],
        resources: [smArn, `${smArn}:*`, executions, ...this.workflowArnPatterns()],
      }),
      new iam.PolicyStatement({
        sid: `DenyApprovalGateParts${this.node.addr.slice(0, 8)}`,
        effect: iam.Effect.DENY,
        actions: ['*'],
        resources: [
          this.approvalHandler.functionArn,
          this.notifier.functionArn,
          this.ledger.tableArn,
          `${this.ledger.tableArn}/*`,
          this.executorRole.roleArn,
          this.stateMachine.role.roleArn,
          ...(this.credentialsRole ? [this.credentialsRole.roleArn] : []),
          ...(this.collectionRole ? [this.collectionRole.roleArn] : []),
          ...this.breakGlassRoles.map((r) => r.roleArn),
        ],
      }),
      new iam.PolicyStatement({
        sid: `DenyGatedOperationsDirectly${this.node.addr.slice(0, 8)}`,
        effect: iam.Effect.DENY,
        actions: this.operations.map((o) => o.iamAction),
        resources: [...new Set(this.operations.flatMap((o) => o.resources))],
      }),
    ];
  }
}

/** What Step Functions needs to deliver its logs to CloudWatch Logs (CDK grants these with `logs`). */
const STEP_FUNCTIONS_LOG_DELIVERY_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
];
/** What a traced state machine needs to write to X-Ray (CDK grants these with `tracingEnabled`). */
const XRAY_WRITE_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'];

/** Denies agents that were not granted to request every action on the gate's workflow. */
class DenyGateToOtherAgents implements IAspect {
  constructor(private readonly gate: ApprovalGate) {}

  public visit(node: IConstruct): void {
    if (node instanceof AgentRole && !this.gate._isRequester(node)) {
      node.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: `DenyApprovalGateToOtherAgents${this.gate.node.addr.slice(0, 8)}`,
          effect: iam.Effect.DENY,
          actions: ['states:*'],
          resources: this.gate.workflowArnPatterns(),
        }),
      );
    }
  }
}
