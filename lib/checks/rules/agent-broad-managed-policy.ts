import { CfnResource } from 'aws-cdk-lib';
import type { NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { CheckContext } from '../private/check-context';

/**
 * AWS managed policies that grant a whole service or more, destructive actions included: the
 * administrator and power-user policies, every `*FullAccess` and `*PowerUser*` policy, and the
 * administrator job functions.
 */
export const BROAD_AWS_MANAGED_POLICY = new RegExp(
  '^(AdministratorAccess.*|PowerUserAccess|.*FullAccess.*|.*PowerUser.*|' +
    'job-function/(SystemAdministrator|DatabaseAdministrator|NetworkAdministrator))$',
);

/** An agent role has no broad AWS managed policy attached. */
export function agentBroadManagedPolicy(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const role = ctx.agentRole(node);
  if (!role) return NagRuleCompliance.NOT_APPLICABLE;
  const broad = ctx.policiesOf(role).awsManaged.filter((name) => BROAD_AWS_MANAGED_POLICY.test(name));
  return broad.length > 0 ? broad.map((name) => `Policy::${name}`) : NagRuleCompliance.COMPLIANT;
}
