import { serviceKeys, wildcardRegex } from './iam-data';
import { toList } from './list';

/**
 * The one model of the AWS managed policies agents are most often given: their documents, so that
 * verify and the tests can evaluate them offline, and what the synth-time checks may conclude from
 * them. A document is either `exact` (what AWS publishes, for the statements that matter here) or
 * an over-approximation, written to grant at least what AWS's version grants on the destructive
 * and escalation paths verify checks, so an offline "cannot" is never weaker than the real policy.
 * Any other AWS managed policy has no document: verify reports it as UNKNOWN and evaluates it as
 * if it allowed everything (`verify --live` asks IAM itself); the checks cannot decide on it.
 */
export interface AwsManagedPolicyModel {
  readonly name: string;
  /** Exact for the statements that grant anything; otherwise an over-approximation. */
  readonly exact: boolean;
  readonly document: () => PolicyDocument;
}

interface PolicyStatement {
  readonly Effect: 'Allow';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource: '*';
}

interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: PolicyStatement[];
}

const FULL_ACCESS: Record<string, string[]> = {
  AmazonS3FullAccess: ['s3:*', 's3-object-lambda:*'],
  AmazonDynamoDBFullAccess: [
    'dynamodb:*',
    'dax:*',
    'application-autoscaling:*',
    'cloudwatch:*',
    'datapipeline:*',
    'kinesis:*',
    'lambda:*',
    'sns:*',
    'ec2:Describe*',
    'iam:GetRole',
    'iam:ListRoles',
    'iam:PassRole',
  ],
  AmazonRDSFullAccess: ['rds:*', 'application-autoscaling:*', 'cloudwatch:*', 'ec2:*', 'logs:*', 'outposts:*', 'pi:*', 'sns:*'],
  AmazonEC2FullAccess: ['ec2:*', 'elasticloadbalancing:*', 'cloudwatch:*', 'autoscaling:*'],
  AWSLambda_FullAccess: [
    'lambda:*',
    'cloudformation:DescribeStacks',
    'cloudwatch:*',
    'logs:*',
    'states:*',
    'iam:PassRole',
    'kms:ListAliases',
    'ec2:Describe*',
    'sqs:*',
    's3:*',
    'dynamodb:*',
    'kinesis:*',
    'events:*',
    'xray:*',
  ],
  AmazonSQSFullAccess: ['sqs:*'],
  AmazonSNSFullAccess: ['sns:*'],
  AWSCloudFormationFullAccess: ['cloudformation:*'],
  AmazonBedrockFullAccess: ['bedrock:*', 'kms:*', 'iam:PassRole', 'ec2:*', 'sagemaker:*'],
  AWSKeyManagementServicePowerUser: ['kms:*'],
  CloudWatchLogsFullAccess: ['logs:*', 'cloudwatch:*'],
  AmazonECS_FullAccess: [
    'ecs:*',
    'elasticloadbalancing:*',
    'autoscaling:*',
    'application-autoscaling:*',
    'ec2:*',
    'iam:PassRole',
    'logs:*',
    'servicediscovery:*',
    'cloudformation:*',
  ],
  SecretsManagerReadWrite: [
    'secretsmanager:*',
    'cloudformation:*',
    'kms:*',
    'lambda:*',
    'rds:Describe*',
    'redshift:Describe*',
    'ec2:Describe*',
    'tag:GetResources',
  ],
  AmazonRoute53FullAccess: [
    'route53:*',
    'route53domains:*',
    'cloudfront:ListDistributions',
    'elasticloadbalancing:Describe*',
    'ec2:Describe*',
    's3:ListAllMyBuckets',
  ],
};

let readOnlyCache: PolicyDocument | undefined;

/** Every service's read and list actions: an over-approximation of ReadOnlyAccess and ViewOnlyAccess. */
function readOnlyDocument(): PolicyDocument {
  readOnlyCache ??= {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: serviceKeys().flatMap((s) => [`${s}:Describe*`, `${s}:Get*`, `${s}:List*`, `${s}:BatchGet*`]),
        Resource: '*',
      },
    ],
  };
  return readOnlyCache;
}

const allowing = (...statements: Array<Omit<PolicyStatement, 'Effect' | 'Resource'>>): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: statements.map((s) => ({ Effect: 'Allow', ...s, Resource: '*' })),
});

const MODELS: readonly AwsManagedPolicyModel[] = [
  { name: 'AdministratorAccess', exact: true, document: () => allowing({ Action: '*' }) },
  {
    name: 'PowerUserAccess',
    exact: true,
    document: () =>
      allowing(
        { NotAction: ['iam:*', 'organizations:*', 'account:*'] },
        {
          Action: [
            'account:GetAccountInformation',
            'account:GetPrimaryEmail',
            'account:ListRegions',
            'iam:CreateServiceLinkedRole',
            'iam:DeleteServiceLinkedRole',
            'iam:ListRoles',
            'organizations:DescribeOrganization',
          ],
        },
      ),
  },
  {
    name: 'IAMFullAccess',
    exact: true,
    document: () =>
      allowing({
        Action: [
          'iam:*',
          'organizations:DescribeAccount',
          'organizations:DescribeOrganization',
          'organizations:DescribeOrganizationalUnit',
          'organizations:DescribePolicy',
          'organizations:ListChildren',
          'organizations:ListParents',
          'organizations:ListPoliciesForTarget',
          'organizations:ListRoots',
          'organizations:ListPolicies',
          'organizations:ListTargetsForPolicy',
        ],
      }),
  },
  { name: 'ReadOnlyAccess', exact: false, document: readOnlyDocument },
  { name: 'ViewOnlyAccess', exact: false, document: readOnlyDocument },
  { name: 'SecurityAudit', exact: false, document: readOnlyDocument },
  ...Object.entries(FULL_ACCESS).map(([name, actions]): AwsManagedPolicyModel => ({
    name,
    exact: false,
    document: () => allowing({ Action: actions }),
  })),
];

const BY_NAME: ReadonlyMap<string, AwsManagedPolicyModel> = new Map(MODELS.map((m) => [m.name, m]));

/**
 * The path and name of an AWS managed policy from its ARN (`arn:aws:iam::aws:policy/job-function/X`
 * gives `job-function/X`). The partition may still be a reference (`arn:<AWS::Partition>:...`).
 */
export function awsManagedPolicyPath(arn: string): string | undefined {
  const match = /^arn:(?:[a-z-]*|<[^>]*>):iam::aws:policy\/(.+)$/.exec(arn);
  return match ? match[1] : undefined;
}

/** The name of an AWS managed policy (its path dropped) from its ARN; undefined for any other ARN. */
export function awsManagedPolicyName(arn: string): string | undefined {
  return awsManagedPolicyPath(arn)?.split('/').pop();
}

/** The model of an AWS managed policy, by ARN, `path/Name` or name; undefined when there is none. */
export function awsManagedPolicy(arnOrName: string): AwsManagedPolicyModel | undefined {
  const name = arnOrName.startsWith('arn:') ? awsManagedPolicyName(arnOrName) : arnOrName.split('/').pop();
  return name === undefined ? undefined : BY_NAME.get(name);
}

/** The document modelled for an AWS managed policy (by ARN), or undefined when it has none. */
export function awsManagedPolicyDocument(arn: string): PolicyDocument | undefined {
  return arn.startsWith('arn:') ? awsManagedPolicy(arn)?.document() : undefined;
}

/**
 * Whether an AWS managed policy (by ARN, `path/Name` or name) allows the action on every resource,
 * as AWS publishes it; undefined when only an over-approximation (or nothing) is known of it.
 */
export function awsManagedPolicyAllows(arnOrName: string, action: string): boolean | undefined {
  const model = awsManagedPolicy(arnOrName);
  if (!model?.exact) return undefined;
  const matches = (patterns: string | string[] | undefined) => toList(patterns).some((p) => wildcardRegex(p).test(action));
  return model.document().Statement.some((s) => (s.Action !== undefined ? matches(s.Action) : !matches(s.NotAction)));
}
