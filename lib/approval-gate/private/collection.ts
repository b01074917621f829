import { Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { GUARDRAIL_COMPONENT_TAG } from '../../shared/tags';
import { handlerAssetDirectory } from '../../shared/assets';
import { acknowledgeNagFindings, nagResourceFinding } from '../../shared/nag-suppressions';
import type { CredentialOperation } from '../runtime/collect';
import { REQUEST_TAG, REQUESTER_TAG } from '../runtime/collect';
import { ValidatedOperation } from './approval-validation';
import { acknowledgeDefaultRuntime, functionRole } from './function-resources';
import { refuseGrantsOnStar } from './unscopable-actions';

/** What the collection parts need of the gate. */
export interface CollectionProps {
  /** The credentials-mode operations, with every action an approval covers. */
  readonly operations: ReadonlyArray<{ readonly iamAction: string; readonly actions: string[]; readonly resources: string[] }>;
  /** The same operations, validated, with their bindings resolved to the gate's stack. */
  readonly validated: readonly ValidatedOperation[];
  readonly ledger: dynamodb.ITable;
  readonly runtime: lambda.Runtime;
  readonly runtimeChosen: boolean;
  readonly credentialsSeconds: number;
  readonly expirySeconds: number;
}

export interface CollectionParts {
  readonly handler: lambda.Function;
  readonly handlerRole: iam.Role;
  readonly url: string;
  readonly credentialsRole: iam.Role;
  readonly functionName: string;
}

/** The collection handler's fixed name: agents are granted and denied it by name, without a cross-stack reference. */
export function collectionFunctionName(gate: Construct): string {
  return `approval-collect-${gate.node.addr}`;
}

/**
 * Credentials mode: the collection handler (its own function URL, AWS_IAM auth) and the credentials
 * role it alone may assume. The role's policies are the union of what approvals may grant: each
 * credentials-mode operation's actions on its gated resources, nothing on `*`. Every issued session
 * is narrowed further by its session policy to one approved resource.
 */
export function collectionParts(gate: Construct, props: CollectionProps): CollectionParts {
  const component = (c: Construct) => Tags.of(c).add(GUARDRAIL_COMPONENT_TAG, 'approval-gate');
  const stack = Stack.of(gate);
  const handlerLogs = new logs.LogGroup(gate, 'CollectorLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
  component(handlerLogs);
  const handlerRole = functionRole(
    gate,
    'CollectorServiceRole',
    handlerLogs,
    'cdk-agent-guardrails approval collection: records the collection, assumes the credentials role with a session policy',
  );
  component(handlerRole);

  const collectorPrincipal = new iam.ArnPrincipal(handlerRole.roleArn);
  const credentialsRole = new iam.Role(gate, 'CredentialsRole', {
    assumedBy: collectorPrincipal,
    description: `cdk-agent-guardrails approval credentials: sessions limited to one approved ${props.operations.map((o) => o.iamAction).join(', ')}`,
    maxSessionDuration: Duration.hours(1),
  });
  // The collection handler names the request and the collecting agent's role in session tags, and the
  // request in the source identity; nothing else may be set.
  credentialsRole.assumeRolePolicy!.addStatements(
    new iam.PolicyStatement({
      actions: ['sts:TagSession'],
      principals: [collectorPrincipal],
      conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [REQUEST_TAG, REQUESTER_TAG] } },
    }),
    new iam.PolicyStatement({
      actions: ['sts:SetSourceIdentity'],
      principals: [collectorPrincipal],
      conditions: { StringLike: { 'sts:SourceIdentity': 'approval-*' } },
    }),
  );
  for (const op of props.operations) {
    credentialsRole.addToPolicy(new iam.PolicyStatement({ actions: op.actions, resources: op.resources }));
  }
  component(credentialsRole);
  refuseGrantsOnStar(credentialsRole, []);
  const patterns = [...new Set(props.operations.flatMap((op) => op.resources.map((r) => nagResourceFinding(stack.resolve(r)))))].filter((f) =>
    f.includes('*'),
  );
  if (patterns.length > 0) {
    acknowledgeNagFindings(credentialsRole, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'These are the resource patterns the gate was given for its credentials-mode operations (GatedOperation refuses a pattern that names ' +
          'a whole resource type). Every session is issued with a session policy naming the one approved resource.',
        appliesTo: patterns,
      },
    ]);
  }

  const functionName = collectionFunctionName(gate);
  const bound: CredentialOperation[] = props.validated.map((v) => ({
    operation: v.iamAction,
    resources: v.resources,
    ...v.binding,
    actions: props.operations.find((o) => o.iamAction === v.iamAction)!.actions,
  }));
  const handler = new lambda.Function(gate, 'Collector', {
    functionName,
    code: lambda.Code.fromAsset(handlerAssetDirectory('approval-collector')),
    handler: 'index.handler',
    runtime: props.runtime,
    timeout: Duration.seconds(30),
    description: 'cdk-agent-guardrails approval collection (IAM-authenticated function URL): approved, single-use, short-lived credentials',
    logGroup: handlerLogs,
    role: handlerRole,
    environment: {
      LEDGER_TABLE: props.ledger.tableName,
      CREDENTIALS_ROLE_ARN: credentialsRole.roleArn,
      CREDENTIALS_DURATION_SECONDS: String(props.credentialsSeconds),
      COLLECT_WITHIN_SECONDS: String(props.expirySeconds),
      CREDENTIAL_OPERATIONS: stack.toJsonString(bound),
    },
  });
  const url = handler.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
  // Reads the request and appends the collection; never deletes.
  handler.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resources: [props.ledger.tableArn] }),
  );
  handler.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'], resources: [credentialsRole.roleArn] }),
  );
  acknowledgeDefaultRuntime(handler, props.runtime, props.runtimeChosen);
  return { handler, handlerRole, url: url.url, credentialsRole, functionName };
}
