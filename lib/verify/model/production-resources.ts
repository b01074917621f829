import { DEFAULT_NON_PRODUCTION_VALUES, DEFAULT_TAG_KEY } from '../../shared/tags';
import { tagsOf } from './agents';
import { tagValuesIgnoringKeyCase } from './tag-keys';
import { AssemblyModel, StackModel, constructPathOf } from './assembly';
import { arnOfResource } from './template-values';

/**
 * How verify decides what is production. It follows the library's fail-closed model: a resource
 * is production unless its tag (on the resource, else on its stack) carries an allow-listed
 * non-production value. Untagged means production.
 */
export interface ProductionModel {
  readonly tagKey: string;
  /** Lower-case values that mark a resource as disposable. */
  readonly nonProductionValues: string[];
}

export const DEFAULT_PRODUCTION_MODEL: ProductionModel = { tagKey: DEFAULT_TAG_KEY, nonProductionValues: [...DEFAULT_NON_PRODUCTION_VALUES] };

/** A resource of the app, as verify evaluates it. */
export interface ResourceModel {
  /** `Stack/LogicalId` (or the construct path when known). */
  readonly id: string;
  readonly type: string;
  readonly arn: string;
  readonly stack: string;
  readonly tags: Record<string, string>;
  /** S3 only: whether bucket ABAC puts the bucket's tags in the request context. */
  readonly bucketAbac: boolean;
  readonly production: boolean;
}

export interface ResourceInventory {
  readonly production: ResourceModel[];
  readonly nonProduction: ResourceModel[];
  /** Resource types verify cannot name an ARN for, with their counts (reported, not evaluated). */
  readonly notAssessed: Record<string, number>;
}

/** Types that are never assessed as production data: identities are covered by the escalation checks. */
const SKIPPED_TYPES = new Set([
  'AWS::CDK::Metadata',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::RolePolicy',
  'AWS::IAM::InstanceProfile',
  // Resource-based policies: read as grants to the agents (resource-policies.ts), not resources of their own.
  'AWS::S3::BucketPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::TopicPolicy',
  'AWS::Lambda::Permission',
  'AWS::SecretsManager::ResourcePolicy',
]);

/** The ARN IAM authorizes for a resource (the CloudFormation attribute can carry a suffix, as log groups' `:*`). */
function iamArn(arn: string, type: string): string {
  return type === 'AWS::Logs::LogGroup' ? arn.replace(/:\*$/, '') : arn;
}

/**
 * Untagged, or tagged with any value outside the allow-list, is production. The key is compared as IAM compares it
 * (ignoring case); when keys differing only in case carry different values, any production value wins (fail closed).
 */
export function isProduction(tags: Record<string, string>, model: ProductionModel): boolean {
  const values = tagValuesIgnoringKeyCase(tags, model.tagKey);
  return values.length === 0 || values.some((value) => !model.nonProductionValues.includes(value.toLowerCase()));
}

function stackResource(stack: StackModel, model: ProductionModel): ResourceModel {
  const env = stack.env;
  return {
    id: stack.displayName,
    type: 'AWS::CloudFormation::Stack',
    arn: `arn:${env.partition}:cloudformation:${env.region}:${env.account}:stack/${env.stackName}/00000000-0000-0000-0000-000000000000`,
    stack: stack.displayName,
    tags: stack.tags,
    bucketAbac: false,
    production: isProduction(stack.tags, model),
  };
}

/** Every resource of the assembly verify can name, split into production and not. */
export function findResources(assembly: AssemblyModel, model: ProductionModel = DEFAULT_PRODUCTION_MODEL): ResourceInventory {
  const all: ResourceModel[] = [];
  const notAssessed: Record<string, number> = {};
  for (const stack of assembly.stacks) {
    // The stack itself: deleting or updating it destroys what it holds (its service role does the work).
    if (!stack.parent) all.push(stackResource(stack, model));
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      if (SKIPPED_TYPES.has(resource.Type) || resource.Type.startsWith('Custom::') || resource.Type === 'AWS::CloudFormation::CustomResource')
        continue;
      const arn = arnOfResource(stack.env, logicalId, resource);
      if (!arn) {
        notAssessed[resource.Type] = (notAssessed[resource.Type] ?? 0) + 1;
        continue;
      }
      const tags = { ...stack.tags, ...tagsOf(stack, resource) };
      const path = constructPathOf(stack, logicalId, resource);
      all.push({
        id: typeof path === 'string' ? path.replace(/\/Resource$/, '').replace(/\.NestedStack\/.*$/, '') : `${stack.displayName}/${logicalId}`,
        type: resource.Type,
        arn: iamArn(arn, resource.Type),
        stack: stack.displayName,
        tags,
        bucketAbac: resource.Type === 'AWS::S3::Bucket' && /^enabled$/i.test(String(resource.Properties?.AbacStatus ?? '')),
        production: isProduction(tags, model),
      });
    }
  }
  return { production: all.filter((r) => r.production), nonProduction: all.filter((r) => !r.production), notAssessed };
}
