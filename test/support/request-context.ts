import { actionDetails, arnFormatRegex, resourceTypeDetails, splitAction } from '../../lib/shared/iam-data';
import { carriesResourceTags, resourceTypesFor } from '../../lib/verify/analysis/request-context';
import { ACCOUNT, PARTITION, REGION } from './template-resolver';

/** The resource type of the action that the ARN names, from the IAM data. */
export function resourceTypeFor(action: string, arn: string): string | undefined {
  if (!actionDetails(action)) throw new Error(`unknown action ${action}`);
  return resourceTypesFor(action, arn)[0];
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
  const type = arn === '*' ? undefined : resourceTypeFor(action, arn);
  if (!type || !carriesResourceTags(action, type, options.bucketAbac ?? false)) return {};
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
}
