import { CfnResource } from 'aws-cdk-lib';
import type { NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { CheckContext } from '../private/check-context';
import { CannotDecide } from '../private/cannot-decide';

/**
 * An agent role carries every policy of a ProductionGuard (found by the guard construct that owns
 * the attached managed policies, so renamed or moved guards still count, and half-attached ones do not).
 */
export function agentRoleWithoutGuard(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const role = ctx.agentRole(node);
  if (!role) return NagRuleCompliance.NOT_APPLICABLE;
  const policies = ctx.policiesOf(role);
  if (policies.guards.length > 0) return NagRuleCompliance.COMPLIANT;
  if (policies.opaque.length > 0) {
    throw new CannotDecide(
      `${role.node.path} has no ProductionGuard of this app attached, and managed policies whose content the app does not show ` +
        `(${policies.opaque.join(', ')})`,
      'Attach a ProductionGuard defined in the same stack (or apply GuardAgents), or acknowledge this rule with the reason the imported policies ' +
        'guard production.',
    );
  }
  return NagRuleCompliance.NON_COMPLIANT;
}
