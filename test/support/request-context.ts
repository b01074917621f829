import { actionDetails } from '../../lib/shared/iam-data';
import * as verify from '../../lib/verify/analysis/request-context';
import { ACCOUNT, PARTITION, REGION } from './template-resolver';

/**
 * The tests' request contexts and sample ARNs: verify's (lib/verify/analysis/request-context.ts,
 * the one derivation), bound to the test account and region, failing on an unknown action.
 */
function known(action: string): string {
  if (!actionDetails(action)) throw new Error(`unknown action ${action}`);
  return action;
}

/** The resource type of the action that the ARN names, from the IAM data. */
export function resourceTypeFor(action: string, arn: string): string | undefined {
  return verify.resourceTypesFor(known(action), arn)[0];
}

/**
 * ARNs of the action's resource types with made-up names (`${name}${Variable}`); empty for actions
 * without one. The first is one only its resource type matches, when there is one.
 */
export function sampleArns(action: string, name = 'prod'): string[] {
  return verify.sampleArns(known(action), { account: ACCOUNT, region: REGION, partition: PARTITION, name: (variable) => `${name}${variable}` });
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
export function requestContext(
  action: string,
  arn: string,
  tags: Record<string, string>,
  options: { bucketAbac?: boolean } = {},
): Record<string, string> {
  return verify.resourceTagContext(arn === '*' ? action : known(action), arn, tags, options.bucketAbac ?? false);
}
