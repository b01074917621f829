import { actionDetails, arnFormatRegex, resourceTypeDetails, splitAction } from '../../lib/private/iam-data';
import { ACCOUNT, PARTITION, REGION } from './template-resolver';

const TAG_KEY = 'aws:resourcetag/${tagkey}';


/** The resource type of the action that the ARN names, from the IAM data. */
export function resourceTypeFor(action: string, arn: string): string | undefined {
  const parts = splitAction(action)!;
  const details = actionDetails(action);
  if (!details) throw new Error(`unknown action ${action}`);
  return details.resourceTypes.map((t) => t.name).filter((n) => n !== '').find((n) => {
    const type = resourceTypeDetails(parts.service, n);
    return type !== undefined && arnFormatRegex(type.arn).test(arn);
  });
}

/**
 * An ARN of a resource type of the action, with made-up names; `*` for actions without one.
 * Prefers a required type whose sample matches no other type of the action, so that the
 * simulator (and the request context) can tell which resource type is meant.
 */
export function sampleArns(action: string, name = 'prod'): string[] {
  const parts = splitAction(action)!;
  const details = actionDetails(action);
  if (!details) throw new Error(`unknown action ${action}`);
  const typeOf = (n: string) => resourceTypeDetails(parts.service, n)!;
  const typeNames = details.resourceTypes.filter((t) => t.name !== '' && resourceTypeDetails(parts.service, t.name));
  const ordered = [...typeNames.filter((t) => t.required), ...typeNames.filter((t) => !t.required)];
  const render = (format: string) => format.replace(/\$\{([^}]+)\}/g, (_m, v: string) =>
    v === 'Partition' ? PARTITION : v === 'Region' ? REGION : v === 'Account' ? ACCOUNT : `${name}${v}`);
  const samples = ordered.map((t) => render(typeOf(t.name).arn));
  const unambiguous = samples.filter((arn) => typeNames.filter((t) => arnFormatRegex(typeOf(t.name).arn).test(arn)).length === 1);
  return [...new Set([...unambiguous, ...samples])];
}

/** The preferred sample ARN of the action. */
export function sampleArn(action: string, name = 'prod'): string {
  return sampleArns(action, name)[0] ?? '*';
}

/**
 * The request context AWS builds for an action on a resource with the given tags: the
 * `aws:ResourceTag/*` keys are present only where the IAM data says the action's resource type
 * carries them, and for S3 buckets only when bucket ABAC is enabled.
 */
export function requestContext(action: string, arn: string, tags: Record<string, string>, options: { bucketAbac?: boolean } = {}): Record<string, string> {
  const context: Record<string, string> = {};
  const type = arn === '*' ? undefined : resourceTypeFor(action, arn);
  if (!type) return context;
  const parts = splitAction(action)!;
  const carriesTags = (resourceTypeDetails(parts.service, type)?.conditionKeys ?? []).some((k) => k.toLowerCase() === TAG_KEY);
  // S3 puts bucket tags in aws:ResourceTag only when ABAC is enabled on the bucket.
  const s3Bucket = parts.service === 's3';
  if (carriesTags && (!s3Bucket || options.bucketAbac)) {
    for (const [k, v] of Object.entries(tags)) context[`aws:ResourceTag/${k}`] = v;
  }
  return context;
}
