import { CfnResource } from 'aws-cdk-lib';
import type { NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { CheckContext } from '../private/check-context';

/** An agent role has a permissions boundary (which keeps later grants inside the guardrails). */
export function agentWithoutBoundary(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const role = ctx.agentRole(node);
  if (!role) return NagRuleCompliance.NOT_APPLICABLE;
  return ctx.policiesOf(role).hasBoundary ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
