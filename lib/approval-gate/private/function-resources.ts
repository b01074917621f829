import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledgeNagFindings, defaultRuntimeAcknowledgement, latestNodeRuntimeName, nagResourceFinding } from '../../shared/nag-suppressions';

/**
 * The execution role of one of the gate's functions: it may write to the function's own log group
 * and nothing else until granted more. Replaces CDK's default role, which carries the AWS managed
 * AWSLambdaBasicExecutionRole (logs:CreateLogGroup and writes to every log group of the account:
 * AwsSolutions-IAM4), so that a guardrail function cannot write into another log group.
 */
export function functionRole(scope: Construct, id: string, logGroup: logs.ILogGroup, description: string): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
  // The log group's Arn attribute ends in `:*`: its log streams, and only its.
  role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
  return role;
}

/**
 * Lets a principal publish to a topic: sns:Publish on it and, for a topic encrypted with a customer
 * managed key, exactly kms:GenerateDataKey and kms:Decrypt on that key (what SNS needs of a
 * publisher), where `topic.grantPublish` grants `kms:GenerateDataKey*` (AwsSolutions-IAM5).
 */
export function grantPublishTo(topic: sns.ITopic, grantee: iam.IGrantable): iam.Grant {
  const grant = iam.Grant.addToPrincipalOrResource({
    grantee,
    actions: ['sns:Publish'],
    resourceArns: [topic.topicArn],
    resource: topic as unknown as iam.IResourceWithPolicy,
  });
  topic.masterKey?.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
  if (topic.masterKey && !(topic.masterKey instanceof kms.Key) && grantee.grantPrincipal instanceof Construct) {
    // An alias (SNS's AWS managed key) names no key ARN before deployment: with the flag
    // @aws-cdk/aws-kms:applyImportedAliasPermissionsToPrincipal (set by cdk init) CDK grants key/*
    // under the condition kms:ResourceAliases = the alias, which is what scopes it.
    const stack = Stack.of(topic);
    const anyKey = stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
    acknowledgeNagFindings(grantee.grantPrincipal, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'The topic is encrypted with an AWS managed key named by its alias; CDK grants kms:Decrypt and kms:GenerateDataKey on key/* ' +
          'only under the condition kms:ResourceAliases = that alias, so no other key is reachable.',
        appliesTo: [nagResourceFinding(stack.resolve(anyKey))],
      },
    ]);
  }
  return grant;
}

/** Acknowledges AwsSolutions-L1 on a function running the library's default runtime while a newer one exists. */
export function acknowledgeDefaultRuntime(fn: lambda.Function, runtime: lambda.Runtime, chosenByUser: boolean): void {
  const ack = defaultRuntimeAcknowledgement(runtime.name, latestNodeRuntimeName(lambda.Runtime.ALL.map((r) => r.name)), chosenByUser);
  if (ack) acknowledgeNagFindings(fn, [ack]);
}
