import { Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { splitTemplate } from '../runtime/approval-binding';
import { ValidatedOperation } from './approval-validation';

/** State names of the workflow; tests override the Task states by these names. */
export const APPROVAL_STATES = {
  checkFields: 'CheckRequestFields',
  validate: 'ValidateRequest',
  bind: (op: ValidatedOperation) => `BindResource ${op.iamAction}`,
  matchTarget: 'MatchResourceToParameters',
  refused: 'RequestRefused',
  canonicalize: 'CanonicalizeRequest',
  digest: 'DigestRequest',
  recordRequest: 'RecordRequest',
  wait: 'NotifyApproversAndWait',
  checkDecision: 'CheckDecision',
  checkQuorum: 'CheckQuorumInLedger',
  recordQuorumNotMet: 'RecordQuorumNotMet',
  perform: 'ChooseOperation',
  execute: (op: ValidatedOperation) => `Perform ${op.iamAction}`,
  recordExecuted: 'RecordExecuted',
  recordExecutionFailed: 'RecordExecutionFailed',
  recordRejected: 'RecordRejected',
  recordTimedOut: 'RecordTimedOut',
  recordDigestMismatch: 'RecordDigestMismatch',
  recordError: 'RecordError',
  authorizeCollection: 'AuthorizeCollection',
  awaitCollection: 'AwaitCollection',
  closeCollection: 'CloseCollectionWindow',
  readCollection: 'ReadCollection',
  collectionOutcome: 'CollectionOutcome',
} as const;

/** Ledger outcomes of credentials mode (the collection handler writes CREDENTIALS_ISSUED and ISSUE_FAILED). */
export const COLLECTION_OUTCOMES = { expired: 'EXPIRED', issued: 'CREDENTIALS_ISSUED' } as const;

export interface WorkflowProps {
  readonly operations: readonly ValidatedOperation[];
  readonly ledger: dynamodb.ITable;
  readonly notifier: lambda.IFunction;
  readonly executorRole: iam.IRole;
  readonly timeoutSeconds: number;
  readonly requiredApprovals: number;
  /** JSON list of the requesting agents' role ARNs, produced late (grantRequest runs after construction). */
  readonly requestersJson: string;
  /** The operations (IAM actions) whose approval lets the requester collect credentials instead of the gate performing them. */
  readonly credentialsOperations: readonly string[];
  /** How long an approved credentials-mode request stays collectable. */
  readonly collectWithinSeconds: number;
}

const str = (path: string) => tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt(path));

/**
 * The approval workflow: validate, digest, record, notify and wait, check the decision against the
 * digest, perform the operation with the executor role, record the outcome. Every error path ends
 * in a failed execution with nothing performed.
 */
export function approvalWorkflow(scope: Construct, props: WorkflowProps): sfn.IChainable {
  const S = APPROVAL_STATES;
  const key = {
    requestId: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$$.Execution.Name')),
    record: tasks.DynamoAttributeValue.fromString('REQUEST'),
  };
  const recordOutcome = (id: string, outcome: string, detailPath: string | undefined, next: sfn.IChainable) => {
    const task = new tasks.DynamoUpdateItem(scope, id, {
      stateName: id,
      table: props.ledger,
      key,
      updateExpression: 'SET outcome = :o, outcomeDetail = :d, finishedAt = :t',
      expressionAttributeValues: {
        ':o': tasks.DynamoAttributeValue.fromString(outcome),
        ':d': detailPath
          ? tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(detailPath)))
          : tasks.DynamoAttributeValue.fromString(outcome),
        ':t': str('$$.State.EnteredTime'),
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    // Recording is idempotent; retry for about a minute so that the record survives throttling and
    // a brief outage (a request whose outcome is never written would look pending to approvers).
    task.addRetry({ errors: ['States.ALL'], maxAttempts: 6, interval: Duration.seconds(1), backoffRate: 2 });
    return task.next(next);
  };
  const fail = (id: string, error: string, cause: string) => new sfn.Fail(scope, id, { stateName: id, error, cause });

  const refused = fail(
    S.refused,
    'RequestRefused',
    'The request names an operation or resource this gate does not allow, its parameters ' +
      'do not name exactly that resource, or it lacks operation, resource, parameters, reason or sourceIdentity. Nothing was recorded or performed.',
  );
  const failRejected = recordOutcome(
    S.recordRejected,
    'REJECTED',
    '$.error',
    fail('Rejected', 'Rejected', 'An approver rejected the request. Nothing was performed.'),
  );
  const failTimedOut = recordOutcome(
    S.recordTimedOut,
    'TIMED_OUT',
    '$.error',
    fail('TimedOut', 'TimedOut', 'No decision before the timeout: rejected. Nothing was performed.'),
  );
  const failError = recordOutcome(
    S.recordError,
    'ERROR',
    '$.error',
    fail('ApprovalError', 'ApprovalError', 'The approval failed. Nothing was performed.'),
  );
  const failMismatch = recordOutcome(
    S.recordDigestMismatch,
    'DIGEST_MISMATCH',
    '$.decision',
    fail('DigestMismatch', 'DigestMismatch', 'The decision does not match the digest of the request. Nothing was performed.'),
  );
  const failExecution = recordOutcome(
    S.recordExecutionFailed,
    'EXECUTION_FAILED',
    '$.error',
    fail('ExecutionFailed', 'ExecutionFailed', 'The approved operation failed; the error is in the ledger.'),
  );
  const failQuorum = recordOutcome(
    S.recordQuorumNotMet,
    'QUORUM_NOT_MET',
    '$.error',
    fail('QuorumNotMet', 'QuorumNotMet', 'The ledger does not hold an approval of this digest by enough approvers. Nothing was performed.'),
  );
  const succeeded = recordOutcome(S.recordExecuted, 'EXECUTED', '$.result', new sfn.Succeed(scope, 'Performed', { stateName: 'Performed' }));

  // 1. Validate before anything is recorded or anyone is asked. Presence first: comparing a
  // missing path is a runtime error, and every field must be a string (parameters an object).
  // Then the resource the parameters act on is derived from them and must be exactly `resource`:
  // approvers read `resource`, the executor sends `parameters`.
  const matchTarget = new sfn.Choice(scope, S.matchTarget, { stateName: S.matchTarget })
    .when(sfn.Condition.stringEqualsJsonPath('$.binding.target', '$.resource'), canonicalizeState(scope))
    .otherwise(refused);
  const validate = new sfn.Choice(scope, S.validate, { stateName: S.validate });
  for (const op of props.operations) {
    validate.when(
      sfn.Condition.and(
        sfn.Condition.stringEquals('$.operation', op.iamAction),
        op.resources.length === 1 ? matchResource(op.resources[0]) : sfn.Condition.or(...op.resources.map(matchResource)),
      ),
      bindState(scope, op, matchTarget, refused),
    );
  }
  validate.otherwise(refused);
  // Presence first, then types: comparing a missing path is a runtime error.
  const checkTypes = new sfn.Choice(scope, 'CheckRequestTypes', { stateName: 'CheckRequestTypes' })
    .when(
      sfn.Condition.and(
        sfn.Condition.isString('$.operation'),
        sfn.Condition.isString('$.resource'),
        sfn.Condition.isString('$.reason'),
        sfn.Condition.isString('$.sourceIdentity'),
        // parameters must be an object: refuse the other JSON types the Choice state can test
        sfn.Condition.not(
          sfn.Condition.or(
            sfn.Condition.isString('$.parameters'),
            sfn.Condition.isNumeric('$.parameters'),
            sfn.Condition.isBoolean('$.parameters'),
            sfn.Condition.isNull('$.parameters'),
          ),
        ),
      ),
      validate,
    )
    .otherwise(refused);
  const checkFields = new sfn.Choice(scope, S.checkFields, { stateName: S.checkFields })
    .when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.operation'),
        sfn.Condition.isPresent('$.resource'),
        sfn.Condition.isPresent('$.parameters'),
        sfn.Condition.isPresent('$.reason'),
        sfn.Condition.isPresent('$.sourceIdentity'),
      ),
      checkTypes,
    )
    .otherwise(refused);

  // 2. Digest and record.
  const digest = new sfn.Pass(scope, S.digest, {
    stateName: S.digest,
    parameters: {
      'request.$': '$.request',
      'canonical.$': '$.canonical',
      'digest.$': "States.Hash($.canonical, 'SHA-256')",
    },
  });
  const recordRequest = new tasks.DynamoPutItem(scope, S.recordRequest, {
    stateName: S.recordRequest,
    table: props.ledger,
    item: {
      ...key,
      status: tasks.DynamoAttributeValue.fromString('PENDING'),
      operation: str('$.request.operation'),
      resource: str('$.request.resource'),
      canonical: str('$.canonical'),
      digest: str('$.digest'),
      reason: str('$.request.reason'),
      sourceIdentity: str('$.request.sourceIdentity'),
      requesters: tasks.DynamoAttributeValue.fromString(props.requestersJson),
      requiredApprovals: tasks.DynamoAttributeValue.fromNumber(props.requiredApprovals),
      executionArn: str('$$.Execution.Id'),
      requestedAt: str('$$.Execution.StartTime'),
    },
    // A request is recorded once; an execution name is never reused for another request. The
    // second branch lets a retry whose first attempt applied (answer lost) succeed: same execution,
    // not yet waiting (no token), so nothing recorded since is overwritten.
    conditionExpression: 'attribute_not_exists(requestId) OR (executionArn = :self AND attribute_not_exists(taskToken))',
    expressionAttributeValues: { ':self': str('$$.Execution.Id') },
    resultPath: sfn.JsonPath.DISCARD,
  });
  noRetryOnCondition(recordRequest);
  recordRequest.addCatch(failError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  // 3. Notify and wait for the decision, at most the timeout.
  const wait = new tasks.LambdaInvoke(scope, S.wait, {
    stateName: S.wait,
    lambdaFunction: props.notifier,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({ taskToken: sfn.JsonPath.taskToken, requestId: sfn.JsonPath.stringAt('$$.Execution.Name') }),
    taskTimeout: sfn.Timeout.duration(Duration.seconds(props.timeoutSeconds)),
    // A retried notification would ask for a second token; the notifier refuses it anyway.
    retryOnServiceExceptions: false,
    resultPath: '$.decision',
  });
  wait.addCatch(failRejected, { errors: ['Rejected'], resultPath: '$.error' });
  wait.addCatch(failTimedOut, { errors: [sfn.Errors.TIMEOUT], resultPath: '$.error' });
  wait.addCatch(failError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  // 4. The decision must be an approval of exactly this digest.
  const perform = new sfn.Choice(scope, S.perform, { stateName: S.perform });
  if (props.credentialsOperations.length > 0) {
    perform.when(
      sfn.Condition.or(...props.credentialsOperations.map((op) => sfn.Condition.stringEquals('$.request.operation', op))),
      collectionWindow(scope, props, key),
    );
  }
  for (const op of props.operations.filter((o) => !props.credentialsOperations.includes(o.iamAction))) {
    perform.when(
      sfn.Condition.stringEquals('$.request.operation', op.iamAction),
      executeState(scope, op, props.executorRole, failExecution).next(succeeded),
    );
  }
  perform.otherwise(failError);
  // 5. Whoever sent the token, the ledger is the authority: it must record this request as APPROVED,
  // for this digest, by at least the required number of distinct approvers, and not closed. The
  // handler's checks alone would let a token sent by another path perform with one approver.
  // The update only marks acceptance (idempotent), so a retried write cannot fail its own condition.
  const checkQuorum = new tasks.DynamoUpdateItem(scope, S.checkQuorum, {
    stateName: S.checkQuorum,
    table: props.ledger,
    key,
    updateExpression: 'SET acceptedAt = if_not_exists(acceptedAt, :t)',
    conditionExpression: '#s = :approved AND digest = :digest AND size(approvals) >= :n AND attribute_not_exists(outcome)',
    expressionAttributeNames: { '#s': 'status' },
    expressionAttributeValues: {
      ':approved': tasks.DynamoAttributeValue.fromString('APPROVED'),
      ':digest': str('$.digest'),
      ':n': tasks.DynamoAttributeValue.fromNumber(props.requiredApprovals),
      ':t': str('$$.State.EnteredTime'),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  noRetryOnCondition(checkQuorum);
  checkQuorum.addCatch(failQuorum, { errors: [CONDITION_FAILED], resultPath: '$.error' });
  checkQuorum.addCatch(failError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  checkQuorum.next(perform);
  const checkDecision = new sfn.Choice(scope, S.checkDecision, { stateName: S.checkDecision })
    .when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.decision.decision'),
        sfn.Condition.isPresent('$.decision.digest'),
        sfn.Condition.isString('$.decision.decision'),
        sfn.Condition.isString('$.decision.digest'),
      ),
      new sfn.Choice(scope, 'MatchDigest', { stateName: 'MatchDigest' })
        .when(
          sfn.Condition.and(
            sfn.Condition.stringEquals('$.decision.decision', 'APPROVED'),
            sfn.Condition.stringEqualsJsonPath('$.decision.digest', '$.digest'),
          ),
          checkQuorum,
        )
        .otherwise(failMismatch),
    )
    .otherwise(failMismatch);

  const canonicalize = canonicalizeState(scope);
  canonicalize.next(digest).next(recordRequest).next(wait).next(checkDecision);
  return checkFields;
}

/**
 * Credentials mode: instead of performing, the workflow marks the approved request collectable
 * (when, and for how long), waits out the window, then closes it: EXPIRED when nothing was
 * collected, otherwise the outcome the collection handler recorded. The two conditional writes
 * (collection: no outcome yet; close: not collected) make "collected" and "expired" exclusive.
 */
function collectionWindow(scope: Construct, props: WorkflowProps, key: Record<string, tasks.DynamoAttributeValue>): sfn.IChainable {
  const S = APPROVAL_STATES;
  // Nothing is written on these paths: the ledger already holds an outcome (or could not be read).
  const closedElsewhere = new sfn.Fail(scope, 'CollectionClosed', {
    stateName: 'CollectionClosed',
    error: 'CollectionClosed',
    cause: 'The request was closed before or during its collection window (see its outcome in the ledger). No credentials were issued by this path.',
  });
  const windowError = new sfn.Fail(scope, 'CollectionWindowError', {
    stateName: 'CollectionWindowError',
    error: 'CollectionWindowError',
    cause: 'The ledger could not be updated for the collection window; the collection handler refuses a request without a window.',
  });
  const authorize = new tasks.DynamoUpdateItem(scope, S.authorizeCollection, {
    stateName: S.authorizeCollection,
    table: props.ledger,
    key,
    // if_not_exists: a retried write whose first attempt applied keeps the first start of the window.
    updateExpression: 'SET collectableAt = if_not_exists(collectableAt, :t), collectWithinSeconds = :w',
    conditionExpression: 'attribute_exists(acceptedAt) AND attribute_not_exists(outcome)',
    expressionAttributeValues: {
      ':t': str('$$.State.EnteredTime'),
      ':w': tasks.DynamoAttributeValue.fromNumber(props.collectWithinSeconds),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  noRetryOnCondition(authorize);
  authorize.addCatch(closedElsewhere, { errors: [CONDITION_FAILED], resultPath: '$.error' });
  authorize.addCatch(windowError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  const wait = new sfn.Wait(scope, S.awaitCollection, {
    stateName: S.awaitCollection,
    time: sfn.WaitTime.duration(Duration.seconds(props.collectWithinSeconds)),
  });
  const expired = new sfn.Fail(scope, 'Expired', {
    stateName: 'Expired',
    error: 'Expired',
    cause: 'Approved, but the requester did not collect the credentials within the window. Nothing was issued.',
  });
  const close = new tasks.DynamoUpdateItem(scope, S.closeCollection, {
    stateName: S.closeCollection,
    table: props.ledger,
    key,
    updateExpression: 'SET outcome = :o, outcomeDetail = :d, finishedAt = :t',
    conditionExpression: 'attribute_not_exists(collectedAt) AND (attribute_not_exists(outcome) OR outcome = :o)',
    expressionAttributeValues: {
      ':o': tasks.DynamoAttributeValue.fromString(COLLECTION_OUTCOMES.expired),
      ':d': tasks.DynamoAttributeValue.fromString('not collected within the window; nothing was issued'),
      ':t': str('$$.State.EnteredTime'),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  noRetryOnCondition(close);
  const read = new tasks.DynamoGetItem(scope, S.readCollection, {
    stateName: S.readCollection,
    table: props.ledger,
    key,
    consistentRead: true,
    projectionExpression: [new tasks.DynamoProjectionExpression().withAttribute('outcome')],
    // The whole answer: a selector naming `$.Item.outcome.S` would raise States.Runtime (which no Catch
    // takes) when the collector has not recorded an outcome; the Choice below tests for it instead.
    resultPath: '$.collection',
  });
  read.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 6, interval: Duration.seconds(1), backoffRate: 2 });
  read.addCatch(closedElsewhere, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  close.addCatch(read, { errors: [CONDITION_FAILED], resultPath: '$.error' });
  close.addCatch(windowError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  close.next(expired);
  read.next(
    new sfn.Choice(scope, S.collectionOutcome, { stateName: S.collectionOutcome })
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.collection.Item.outcome.S'),
          sfn.Condition.stringEquals('$.collection.Item.outcome.S', COLLECTION_OUTCOMES.issued),
        ),
        new sfn.Succeed(scope, 'CredentialsIssued', { stateName: 'CredentialsIssued' }),
      )
      .otherwise(closedElsewhere),
  );
  return authorize.next(wait).next(close);
}

/** The error a Step Functions DynamoDB task raises when its condition fails. */
const CONDITION_FAILED = 'DynamoDB.ConditionalCheckFailedException';

/**
 * A failed condition is an answer, not a fault: never retried (Step Functions uses the first
 * retrier that matches). Everything else (throttling, 5xx, an outage) is retried with backoff.
 */
function noRetryOnCondition(task: sfn.TaskStateBase): void {
  task.addRetry({ errors: [CONDITION_FAILED], maxAttempts: 0 });
  task.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 6, interval: Duration.seconds(1), backoffRate: 2 });
}

/** StringMatches: `*` is the only wildcard; a literal backslash or star would need escaping, ARNs have neither outside patterns. */
function matchResource(pattern: string): sfn.Condition {
  return pattern.includes('*') ? sfn.Condition.stringMatches('$.resource', pattern) : sfn.Condition.stringEquals('$.resource', pattern);
}

/**
 * Escapes a literal for an intrinsic function's string argument. Braces are left alone: CDK token
 * markers in the literal (the stack's partition, region, account) carry them until synth, and
 * validation refuses braces anywhere else in the template.
 */
function intrinsicLiteral(text: string): string {
  return text.replace(/[\\']/g, (c) => `\\${c}`);
}

/**
 * Derives `$.binding.target`, the ARN the request's parameters act on, from the operation's ARN
 * template. Each identifier parameter must be present and a string (presence first: testing the
 * type of a missing path is a runtime error); anything else is refused.
 */
function bindState(scope: Construct, op: ValidatedOperation, next: sfn.IChainable, refused: sfn.IChainable): sfn.Choice {
  const name = APPROVAL_STATES.bind(op);
  const { parts, names } = splitTemplate(op.binding.resourceArn);
  const paths = names.map((n) => `$.parameters.${n}`);
  const fromName = new sfn.Pass(scope, `${name} from parameters`, {
    stateName: `${name} from parameters`,
    parameters: { 'target.$': `States.Format('${parts.map(intrinsicLiteral).join('{}')}', ${paths.join(', ')})` },
    resultPath: '$.binding',
  }).next(next);
  let derive: sfn.IChainable = fromName;
  if (op.binding.acceptsArn && names.length === 1) {
    const fromArn = new sfn.Pass(scope, `${name} from ARN parameter`, {
      stateName: `${name} from ARN parameter`,
      parameters: { 'target.$': paths[0] },
      resultPath: '$.binding',
    }).next(next);
    derive = new sfn.Choice(scope, `${name} name or ARN`, { stateName: `${name} name or ARN` })
      .when(sfn.Condition.stringMatches(paths[0], 'arn:*'), fromArn)
      .otherwise(fromName);
  }
  const typed = new sfn.Choice(scope, `${name} types`, { stateName: `${name} types` })
    .when(sfn.Condition.and(...paths.map((p) => sfn.Condition.isString(p)), sfn.Condition.isString('$.resource')), derive)
    .otherwise(refused);
  return new sfn.Choice(scope, name, { stateName: name })
    .when(sfn.Condition.and(...paths.map((p) => sfn.Condition.isPresent(p))), typed)
    .otherwise(refused);
}

function canonicalizeState(scope: Construct): sfn.Pass {
  const existing = scope.node.tryFindChild(APPROVAL_STATES.canonicalize) as sfn.Pass | undefined;
  return (
    existing ??
    new sfn.Pass(scope, APPROVAL_STATES.canonicalize, {
      stateName: APPROVAL_STATES.canonicalize,
      parameters: {
        'request': {
          'operation.$': '$.operation',
          'resource.$': '$.resource',
          'parameters.$': '$.parameters',
          'reason.$': '$.reason',
          'sourceIdentity.$': '$.sourceIdentity',
        },
        'canonical.$': 'States.JsonToString(States.Array($.operation, $.resource, $.parameters))',
      },
    })
  );
}

/**
 * The operation itself, as an AWS SDK service integration run with the executor role's
 * credentials. Written as a custom state because CallAwsService grants the operation to the state
 * machine's own role (a second role able to perform it) and cannot hand over the approved
 * parameters object as a whole. No Retry: the operation is performed at most once.
 */
function executeState(scope: Construct, op: ValidatedOperation, executor: iam.IRole, onError: sfn.IChainable): sfn.CustomState {
  const name = APPROVAL_STATES.execute(op);
  const state = new sfn.CustomState(scope, name, {
    stateJson: {
      Type: 'Task',
      Resource: `arn:${Stack.of(scope).partition}:states:::aws-sdk:${op.sdkService}:${op.sdkApi}`,
      InputPath: '$.request.parameters',
      ResultPath: '$.result',
      Credentials: { RoleArn: executor.roleArn },
    },
  });
  state.addCatch(onError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  return state;
}
