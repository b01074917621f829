import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeNagFindings } from '../../shared/nag-suppressions';

/** The final statuses of an execution: each one is reflected in the ledger by the approval handler. */
export const FINAL_EXECUTION_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

export interface ReconciliationProps {
  readonly handler: lambda.IFunction;
  /** The workflow's ARN, built from its fixed name. */
  readonly stateMachineArn: string;
  /** The workflow's executions (`arn:...:execution:<name>:*`). */
  readonly executionsArn: string;
}

export interface ReconciliationParts {
  readonly sweepRule: events.Rule;
  readonly statusRule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
  readonly deadLetterAlarm: cloudwatch.Alarm;
}

/**
 * Issue 11, class 3 (the construct side): every execution's final state reaches the approval handler
 * (Step Functions status-change events of this workflow, retried, with a dead-letter queue whose
 * every message raises an alarm), and a sweep every 5 minutes redelivers recorded decisions and
 * closes ghost requests. The handler tells the two events apart by their `detail-type`.
 */
export function reconciliation(scope: Construct, props: ReconciliationProps): ReconciliationParts {
  const deadLetterQueue = new sqs.Queue(scope, 'ReconciliationDeadLetters', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  acknowledgeNagFindings(deadLetterQueue, [
    {
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is itself the dead-letter queue of the status-change rule's target (cdk-nag recognizes only queue-to-queue redrive). " +
        'A message here is kept 14 days and raises the alarm at once; a further queue would only move it.',
    },
  ]);
  const deadLetterAlarm = new cloudwatch.Alarm(scope, 'ReconciliationDeadLetterAlarm', {
    alarmDescription:
      'An execution status change of the approval workflow (or a break-glass use) could not be delivered to its handler: the ledger may ' +
      'not show it. Inspect the dead-letter queue, then run `approvals show` for its execution (or read the BREAK_GLASS records).',
    metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const target = new targets.LambdaFunction(props.handler, {
    retryAttempts: 8,
    maxEventAge: Duration.hours(6),
    deadLetterQueue,
  });
  const statusRule = new events.Rule(scope, 'ExecutionStatusRule', {
    description: 'cdk-agent-guardrails approval gate: final states of its workflow, reflected in the ledger',
    eventPattern: {
      source: ['aws.states'],
      detailType: ['Step Functions Execution Status Change'],
      detail: { stateMachineArn: [props.stateMachineArn], status: [...FINAL_EXECUTION_STATUSES] },
    },
    targets: [target],
  });
  const sweepRule = new events.Rule(scope, 'SweepSchedule', {
    description: 'cdk-agent-guardrails approval gate: redelivers recorded decisions and closes ghost requests',
    schedule: events.Schedule.rate(Duration.minutes(5)),
    targets: [new targets.LambdaFunction(props.handler, { retryAttempts: 2, maxEventAge: Duration.minutes(5) })],
  });
  // Reads the final state of an execution of this workflow, and of no other.
  props.handler.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [props.executionsArn] }));
  return { sweepRule, statusRule, deadLetterQueue, deadLetterAlarm };
}
