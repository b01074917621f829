import { CfnResource } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { resolvePrimitive } from '../private/cannot-decide';
import { CheckContext } from '../private/check-context';

/** The shortest deletion window KMS allows. */
export const SHORTEST_PENDING_WINDOW_DAYS = 7;

/**
 * A production KMS key keeps more than the shortest pending window before deletion (the default
 * is 30 days): deleting a key destroys every piece of data encrypted under it.
 */
export function productionKeyPendingWindow(node: CfnResource, ctx: CheckContext): NagRuleResult {
  if (!(node instanceof kms.CfnKey) || !ctx.isProduction(node)) return NagRuleCompliance.NOT_APPLICABLE;
  const days = resolvePrimitive(node, node.pendingWindowInDays, 'PendingWindowInDays') as number | undefined;
  return days === undefined || Number(days) > SHORTEST_PENDING_WINDOW_DAYS ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
