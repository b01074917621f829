import { serviceKeys } from '../../shared/iam-data';

/**
 * Documents of the broad AWS managed policies agents are most often given, so that verify can
 * evaluate them offline. They are written to grant at least what AWS's versions grant on the
 * destructive and escalation paths verify checks (over-approximating where AWS lists many
 * actions), so an offline "cannot" is never weaker than the real policy. Any other AWS managed
 * policy is reported as UNKNOWN and evaluated as if it allowed everything; `verify --live` asks
 * IAM itself.
 */
const FULL_ACCESS: Record<string, string[]> = {
  AmazonS3FullAccess: ['s3:*', 's3-object-lambda:*'],
  AmazonDynamoDBFullAccess: ['dynamodb:*', 'dax:*', 'application-autoscaling:*', 'cloudwatch:*', 'datapipeline:*', 'kinesis:*', 'lambda:*', 'sns:*', 'ec2:Describe*', 'iam:GetRole', 'iam:ListRoles', 'iam:PassRole'],
  AmazonRDSFullAccess: ['rds:*', 'application-autoscaling:*', 'cloudwatch:*', 'ec2:*', 'logs:*', 'outposts:*', 'pi:*', 'sns:*'],
  AmazonEC2FullAccess: ['ec2:*', 'elasticloadbalancing:*', 'cloudwatch:*', 'autoscaling:*'],
  AWSLambda_FullAccess: ['lambda:*', 'cloudformation:DescribeStacks', 'cloudwatch:*', 'logs:*', 'states:*', 'iam:PassRole', 'kms:ListAliases', 'ec2:Describe*', 'sqs:*', 's3:*', 'dynamodb:*', 'kinesis:*', 'events:*', 'xray:*'],
  AmazonSQSFullAccess: ['sqs:*'],
  AmazonSNSFullAccess: ['sns:*'],
  AWSCloudFormationFullAccess: ['cloudformation:*'],
  AmazonBedrockFullAccess: ['bedrock:*', 'kms:*', 'iam:PassRole', 'ec2:*', 'sagemaker:*'],
  AWSKeyManagementServicePowerUser: ['kms:*'],
  CloudWatchLogsFullAccess: ['logs:*', 'cloudwatch:*'],
  AmazonECS_FullAccess: ['ecs:*', 'elasticloadbalancing:*', 'autoscaling:*', 'application-autoscaling:*', 'ec2:*', 'iam:PassRole', 'logs:*', 'servicediscovery:*', 'cloudformation:*'],
  SecretsManagerReadWrite: ['secretsmanager:*', 'cloudformation:*', 'kms:*', 'lambda:*', 'rds:Describe*', 'redshift:Describe*', 'ec2:Describe*', 'tag:GetResources'],
  AmazonRoute53FullAccess: ['route53:*', 'route53domains:*', 'cloudfront:ListDistributions', 'elasticloadbalancing:Describe*', 'ec2:Describe*', 's3:ListAllMyBuckets'],
};

let readOnlyCache: unknown | undefined;

/** Every service's read and list actions: an over-approximation of ReadOnlyAccess and ViewOnlyAccess. */
function readOnlyDocument(): unknown {
  readOnlyCache ??= {
    Version: '2012-10-17',
    Statement: [{
      Effect: 'Allow',
      Action: serviceKeys().flatMap((s) => [`${s}:Describe*`, `${s}:Get*`, `${s}:List*`, `${s}:BatchGet*`]),
      Resource: '*',
    }],
  };
  return readOnlyCache;
}

const DOCUMENTS: Record<string, () => unknown> = {
  AdministratorAccess: () => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
  PowerUserAccess: () => ({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['account:GetAccountInformation', 'account:GetPrimaryEmail', 'account:ListRegions', 'iam:CreateServiceLinkedRole', 'iam:DeleteServiceLinkedRole', 'iam:ListRoles', 'organizations:DescribeOrganization'],
        Resource: '*',
      },
    ],
  }),
  IAMFullAccess: () => ({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['iam:*', 'organizations:DescribeAccount', 'organizations:DescribeOrganization', 'organizations:DescribeOrganizationalUnit', 'organizations:DescribePolicy', 'organizations:ListChildren', 'organizations:ListParents', 'organizations:ListPoliciesForTarget', 'organizations:ListRoots', 'organizations:ListPolicies', 'organizations:ListTargetsForPolicy'], Resource: '*' },
    ],
  }),
  ReadOnlyAccess: readOnlyDocument,
  ViewOnlyAccess: readOnlyDocument,
  SecurityAudit: readOnlyDocument,
  ...Object.fromEntries(Object.entries(FULL_ACCESS).map(([name, actions]) => [name, () => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] })])),
};

/** The name of an AWS managed policy from its ARN (`arn:aws:iam::aws:policy/[path/]Name`). */
export function awsManagedPolicyName(arn: string): string | undefined {
  const match = /^arn:aws[a-z-]*:iam::aws:policy\/(?:.*\/)?([^/]+)$/.exec(arn);
  return match ? match[1] : undefined;
}

/** The document verify ships for an AWS managed policy, or undefined when it has none. */
export function awsManagedPolicyDocument(arn: string): unknown | undefined {
  const name = awsManagedPolicyName(arn);
  return name && Object.prototype.hasOwnProperty.call(DOCUMENTS, name) ? DOCUMENTS[name]() : undefined;
}
