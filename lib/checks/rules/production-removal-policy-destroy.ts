import { CfnDeletionPolicy, CfnResource, Stack } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { NagRuleFinding, NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { CheckContext } from '../private/check-context';

/** CloudFormation's default when a resource names no DeletionPolicy. */
function defaultDeletionPolicy(node: CfnResource): CfnDeletionPolicy {
  if (node instanceof rds.CfnDBCluster) return CfnDeletionPolicy.SNAPSHOT;
  if (node instanceof rds.CfnDBInstance && Stack.of(node).resolve(node.dbClusterIdentifier) === undefined) return CfnDeletionPolicy.SNAPSHOT;
  return CfnDeletionPolicy.DELETE;
}

/**
 * A stateful production resource is kept (Retain, RetainExceptOnCreate or Snapshot) when it leaves
 * the template or is replaced. Findings: `DeletionPolicy::Delete`, `UpdateReplacePolicy::Delete`.
 */
export function productionRemovalPolicyDestroy(node: CfnResource, ctx: CheckContext): NagRuleResult {
  if (!ctx.isStatefulProduction(node)) return NagRuleCompliance.NOT_APPLICABLE;
  // Cluster members hold no data of their own; the cluster's policy decides.
  if (node instanceof rds.CfnDBInstance && Stack.of(node).resolve(node.dbClusterIdentifier) !== undefined) return NagRuleCompliance.NOT_APPLICABLE;
  const findings: NagRuleFinding[] = [];
  if ((node.cfnOptions.deletionPolicy ?? defaultDeletionPolicy(node)) === CfnDeletionPolicy.DELETE) findings.push('DeletionPolicy::Delete');
  if ((node.cfnOptions.updateReplacePolicy ?? CfnDeletionPolicy.DELETE) === CfnDeletionPolicy.DELETE) findings.push('UpdateReplacePolicy::Delete');
  return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
}
