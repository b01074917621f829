import { CfnResource, Stack } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { resolvePrimitive } from '../private/cannot-decide';
import { CheckContext } from '../private/check-context';

/**
 * A production RDS instance or Aurora cluster has deletion protection on. Instances that belong to
 * a cluster are covered by the cluster's setting.
 */
export function productionDatabaseDeletionProtection(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const isInstance = node instanceof rds.CfnDBInstance;
  if (!isInstance && !(node instanceof rds.CfnDBCluster)) return NagRuleCompliance.NOT_APPLICABLE;
  if (isInstance && Stack.of(node).resolve((node as rds.CfnDBInstance).dbClusterIdentifier) !== undefined) return NagRuleCompliance.NOT_APPLICABLE;
  if (!ctx.isProduction(node)) return NagRuleCompliance.NOT_APPLICABLE;
  const protection = resolvePrimitive(node, (node as rds.CfnDBInstance | rds.CfnDBCluster).deletionProtection, 'DeletionProtection');
  return protection === true || protection === 'true' ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
