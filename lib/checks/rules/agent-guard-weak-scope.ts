import { CfnResource } from 'aws-cdk-lib';
import type { NagRuleFinding, NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { CheckContext } from '../private/check-context';

/** Every guard of an agent role protects at least what the fail-closed scope protects. */
export function agentGuardWeakScope(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const role = ctx.agentRole(node);
  if (!role) return NagRuleCompliance.NOT_APPLICABLE;
  const guards = ctx.policiesOf(role).guards;
  if (guards.length === 0) return NagRuleCompliance.NOT_APPLICABLE;
  // One strong guard is enough: denies add up, so a weaker second guard takes nothing away.
  if (guards.some((g) => !g.scope.isWeak)) return NagRuleCompliance.COMPLIANT;
  const findings = new Set<NagRuleFinding>(guards.map((g) => `Scope::${g.scope.kind}`));
  return [...findings];
}
