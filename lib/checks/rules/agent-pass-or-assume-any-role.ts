import { CfnResource } from 'aws-cdk-lib';
import type { NagRuleFinding, NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { CannotDecide } from '../private/cannot-decide';
import { CheckContext } from '../private/check-context';
import { deniesOutsideSpecificResources, isWildcardResource, statementCovers } from '../../guard/private/policy-json';
import { awsManagedPolicyAllows } from '../../shared/aws-managed-policies';
import { toList } from '../../shared/list';

const ROLE_BORROWING = ['iam:PassRole', 'sts:AssumeRole'];

/**
 * An agent role can neither pass nor assume any role: `iam:PassRole` and `sts:AssumeRole` are
 * either denied outside an allow-list of specific role ARNs (the escalation denies), or granted
 * only on specific roles. A policy whose content the app does not show cannot be decided.
 */
export function agentPassOrAssumeAnyRole(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const role = ctx.agentRole(node);
  if (!role) return NagRuleCompliance.NOT_APPLICABLE;
  const policies = ctx.policiesOf(role);
  const identity = policies.identity.flatMap((p) => p.statements);
  const findings = new Set<NagRuleFinding>();
  for (const action of ROLE_BORROWING) {
    if (deniesOutsideSpecificResources(identity, action) || deniesOutsideSpecificResources(policies.boundary?.statements ?? [], action)) {
      continue;
    }
    // What an AWS managed policy grants on `*` is known where its model is exact (lib/shared/aws-managed-policies.ts).
    const unknown = [...policies.awsManaged.filter((name) => awsManagedPolicyAllows(name, action) === undefined), ...policies.opaque];
    if (unknown.length > 0) {
      throw new CannotDecide(
        `${role.node.path} has no explicit deny of ${action} outside specific roles, and managed policies whose grants this rule does not know ` +
          `(${unknown.join(', ')})`,
        'Apply GuardAgents (its escalation denies decide this whatever the managed policies grant), or acknowledge this rule with the reason.',
      );
    }
    const grantedByManaged = policies.awsManaged.some((name) => awsManagedPolicyAllows(name, action) === true);
    const grantedByStatement = identity.some(
      (s) => s.Effect === 'Allow' && statementCovers(s, action) && (s.NotResource !== undefined || toList(s.Resource).some(isWildcardResource)),
    );
    if (grantedByManaged || grantedByStatement) findings.add(`Action::${action}`);
  }
  return findings.size > 0 ? [...findings] : NagRuleCompliance.COMPLIANT;
}
