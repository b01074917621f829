import { Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { handlerAssetDirectory } from '../../shared/assets';
import { GUARDRAIL_COMPONENT_TAG } from '../../shared/tags';
import { acknowledgeDefaultRuntime, functionRole, grantPublishTo } from './function-resources';

export interface BreakGlassProps {
  readonly roles: iam.IRole[];
  readonly ledger: dynamodb.ITable;
  readonly topic: sns.ITopic;
  readonly runtime: lambda.Runtime;
  readonly runtimeChosen: boolean;
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * Break glass: every sts:AssumeRole into one of the named emergency roles (CloudTrail, through
 * EventBridge) is appended to the ledger and told to the approvers. Retried, then dead-lettered into
 * the gate's reconciliation queue, whose alarm fires on any message.
 */
export function breakGlass(scope: Construct, props: BreakGlassProps): { rule: events.Rule; recorder: lambda.Function } {
  const component = (c: Construct) => Tags.of(c).add(GUARDRAIL_COMPONENT_TAG, 'approval-gate');
  const recorderLogs = new logs.LogGroup(scope, 'BreakGlassLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
  component(recorderLogs);
  const role = functionRole(scope, 'BreakGlassServiceRole', recorderLogs, 'cdk-agent-guardrails break-glass recorder: ledger and alert');
  const recorder = new lambda.Function(scope, 'BreakGlassRecorder', {
    code: lambda.Code.fromAsset(handlerAssetDirectory('approval-break-glass')),
    handler: 'index.handler',
    runtime: props.runtime,
    timeout: Duration.seconds(30),
    description: 'cdk-agent-guardrails break-glass recorder: records each use of an emergency role in the ledger and alerts the approvers',
    logGroup: recorderLogs,
    role,
    environment: { LEDGER_TABLE: props.ledger.tableName, TOPIC_ARN: props.topic.topicArn },
  });
  // Appends and marks its own records; never deletes.
  recorder.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resources: [props.ledger.tableArn] }),
  );
  grantPublishTo(props.topic, recorder);
  acknowledgeDefaultRuntime(recorder, props.runtime, props.runtimeChosen);
  component(recorder);
  const rule = new events.Rule(scope, 'BreakGlassRule', {
    description: 'cdk-agent-guardrails approval gate: an emergency role was assumed',
    eventPattern: {
      source: ['aws.sts'],
      detailType: ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['sts.amazonaws.com'],
        eventName: ['AssumeRole'],
        requestParameters: { roleArn: props.roles.map((r) => r.roleArn) },
      },
    },
    targets: [new targets.LambdaFunction(recorder, { retryAttempts: 8, maxEventAge: Duration.hours(6), deadLetterQueue: props.deadLetterQueue })],
  });
  component(rule);
  return { rule, recorder };
}
