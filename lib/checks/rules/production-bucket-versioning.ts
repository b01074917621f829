import { CfnResource, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { resolvePrimitive } from '../private/cannot-decide';
import { CheckContext } from '../private/check-context';

/** A production S3 bucket has versioning enabled, so overwritten and deleted objects can be restored. */
export function productionBucketVersioning(node: CfnResource, ctx: CheckContext): NagRuleResult {
  if (!(node instanceof s3.CfnBucket) || !ctx.isProduction(node)) return NagRuleCompliance.NOT_APPLICABLE;
  const versioning = Stack.of(node).resolve(node.versioningConfiguration);
  const status = resolvePrimitive(node, versioning?.status, 'VersioningConfiguration.Status');
  return status === 'Enabled' ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
