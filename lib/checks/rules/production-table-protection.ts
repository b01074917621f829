import { CfnResource, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { NagRuleFinding, NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { CannotDecide, resolvePrimitive } from '../private/cannot-decide';
import { CheckContext } from '../private/check-context';
import { toList } from '../../shared/list';

function isTrue(node: CfnResource, value: unknown, what: string): boolean {
  const resolved = resolvePrimitive(node, value, what);
  return resolved === true || resolved === 'true';
}

/**
 * A production DynamoDB table (Table, or every replica of a GlobalTable / TableV2) has deletion
 * protection and point-in-time recovery on. Findings: `DeletionProtection`, `PointInTimeRecovery`.
 */
export function productionTableProtection(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const findings = new Set<NagRuleFinding>();
  if (node instanceof dynamodb.CfnTable) {
    if (!ctx.isProduction(node)) return NagRuleCompliance.NOT_APPLICABLE;
    if (!isTrue(node, node.deletionProtectionEnabled, 'DeletionProtectionEnabled')) findings.add('DeletionProtection');
    const pitr = Stack.of(node).resolve(node.pointInTimeRecoverySpecification);
    if (!isTrue(node, pitr?.pointInTimeRecoveryEnabled, 'PointInTimeRecoveryEnabled')) findings.add('PointInTimeRecovery');
  } else if (node instanceof dynamodb.CfnGlobalTable) {
    if (!ctx.isProduction(node)) return NagRuleCompliance.NOT_APPLICABLE;
    const replicas = toList(Stack.of(node).resolve(node.replicas) as any[]);
    if (replicas.length === 0) {
      throw new CannotDecide(`the replicas of ${node.node.path} are only known at deploy time`, 'List the replicas literally.');
    }
    for (const replica of replicas) {
      if (!isTrue(node, replica?.deletionProtectionEnabled, 'DeletionProtectionEnabled of a replica')) findings.add('DeletionProtection');
      if (!isTrue(node, replica?.pointInTimeRecoverySpecification?.pointInTimeRecoveryEnabled, 'PointInTimeRecoveryEnabled of a replica'))
        findings.add('PointInTimeRecovery');
    }
  } else {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  return findings.size > 0 ? [...findings] : NagRuleCompliance.COMPLIANT;
}
