import { CfnResource, Stack } from 'aws-cdk-lib';
import type { NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { CheckContext } from '../private/check-context';

/**
 * A stack that holds a stateful production resource has termination protection on (for a nested
 * stack: its top-level stack). Reported once per stack, on its first stateful production resource;
 * acknowledge it on the stack.
 */
export function productionStackTerminationProtection(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const stack = Stack.of(node);
  if (ctx.firstStatefulProductionResource(stack) !== node) return NagRuleCompliance.NOT_APPLICABLE;
  let top: Stack = stack;
  while (top.nestedStackParent) top = top.nestedStackParent;
  return top.terminationProtection ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
