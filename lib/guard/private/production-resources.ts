import { CfnResource, Fn, IResolvable, Reference, Stack, TagManager, Token, Tokenization } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { isSpecificLiteralArn } from '../../shared/arns';
import { tagValuesIgnoringKeyCase } from '../../verify/model/tag-keys';

/** How to name the ARN of a CloudFormation resource type, for the resource types agents destroy most. */
const ARN_OF: Record<string, (r: CfnResource) => string> = {
  'AWS::S3::Bucket': (r) => r.getAtt('Arn').toString(),
  'AWS::DynamoDB::Table': (r) => r.getAtt('Arn').toString(),
  'AWS::DynamoDB::GlobalTable': (r) => r.getAtt('Arn').toString(),
  'AWS::KMS::Key': (r) => r.getAtt('Arn').toString(),
  'AWS::RDS::DBInstance': (r) => r.getAtt('DBInstanceArn').toString(),
  'AWS::RDS::DBCluster': (r) => r.getAtt('DBClusterArn').toString(),
  'AWS::SQS::Queue': (r) => r.getAtt('Arn').toString(),
  'AWS::SNS::Topic': (r) => r.ref,
  'AWS::Lambda::Function': (r) => r.getAtt('Arn').toString(),
  'AWS::Logs::LogGroup': (r) => r.getAtt('Arn').toString(),
  'AWS::SecretsManager::Secret': (r) => r.ref,
  'AWS::ECS::Cluster': (r) => r.getAtt('Arn').toString(),
  'AWS::EFS::FileSystem': (r) => r.getAtt('Arn').toString(),
  'AWS::Route53::HostedZone': (r) => Fn.join('', ['arn:', Stack.of(r).partition, ':route53:::hostedzone/', r.ref]),
  'AWS::EC2::VPC': (r) => Stack.of(r).formatArn({ service: 'ec2', resource: 'vpc', resourceName: r.ref }),
  'AWS::EC2::Instance': (r) => Stack.of(r).formatArn({ service: 'ec2', resource: 'instance', resourceName: r.ref }),
  'AWS::EC2::Volume': (r) => Stack.of(r).formatArn({ service: 'ec2', resource: 'volume', resourceName: r.ref }),
  'AWS::CloudFormation::Stack': (r) => r.ref,
};

/** A production resource found in the app. */
export interface FoundProductionResource {
  readonly path: string;
  readonly type: string;
  /** The ARN, or undefined when the library cannot name it (reported as not covered). */
  readonly arn?: string;
}

/** The literal values of the tag on the resource, its key compared as IAM compares it (ignoring case). */
function tagValues(resource: CfnResource, key: string): string[] {
  if (!TagManager.isTaggable(resource)) {
    return [];
  }
  return tagValuesIgnoringKeyCase(resource.tags.tagValues(), key).filter((value) => !Token.isUnresolved(value));
}

/** Every CloudFormation resource in the app tagged with one of the production values. */
export function findProductionResources(root: IConstruct, tagKey: string, productionValues: readonly string[]): FoundProductionResource[] {
  const found: FoundProductionResource[] = [];
  for (const node of root.node.findAll()) {
    if (!CfnResource.isCfnResource(node)) {
      continue;
    }
    if (!tagValues(node, tagKey).some((value) => productionValues.includes(value.toLowerCase()))) {
      continue;
    }
    const arnOf = ARN_OF[node.cfnResourceType];
    found.push({ path: node.node.path, type: node.cfnResourceType, arn: arnOf ? arnOf(node) : undefined });
  }
  return found;
}

/**
 * A deploy-time value counts as specific only when it refers to a resource of the app (Ref or
 * GetAtt of a CloudFormation resource, with pseudo parameters around it): a parameter, an import
 * or any other value could resolve to `*` at deploy time.
 */
function isResourceReference(value: string): boolean {
  const tokens = Tokenization.reverseString(value).tokens;
  const refersToResource = tokens.some((t) => t instanceof Reference && CfnResource.isCfnResource(t.target));
  const onlyKnownParts = tokens.every((t) => (t instanceof Reference && CfnResource.isCfnResource(t.target)) || isPseudoParameter(t));
  return refersToResource && onlyKnownParts;
}

function isPseudoParameter(token: IResolvable): boolean {
  const ref = (token as unknown as { value?: { Ref?: unknown } }).value?.Ref;
  return typeof ref === 'string' && ref.startsWith('AWS::');
}

/**
 * Whether an ARN names specific resources rather than every resource of a kind: tokens (references
 * to resources of the app) count as specific; `*`, or a wildcard in the account, region or the
 * resource's own name, does not.
 */
export function isSpecificArn(arn: string): boolean {
  return Token.isUnresolved(arn) ? isResourceReference(arn) : isSpecificLiteralArn(arn);
}
