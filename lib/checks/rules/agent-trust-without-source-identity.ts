import { CfnResource } from 'aws-cdk-lib';
import type { NagRuleFinding, NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { CheckContext } from '../private/check-context';
import { ResolvedStatement, flatten, isLiteral, statementsOf } from '../../guard/private/policy-json';
import { ASSUME_ROLE_ACTIONS } from '../../shared/agent-trust';
import { toList } from '../../shared/list';

/** Condition operators that require the key to be present (no IfExists, no ForAnyValue). */
function requiredKeys(statement: ResolvedStatement): Map<string, unknown[]> {
  const keys = new Map<string, unknown[]>();
  for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
    if (/IfExists$/i.test(operator) || /^ForAnyValue:/i.test(operator)) continue;
    for (const [k, v] of Object.entries(entries ?? {})) {
      if (/^Null$/i.test(operator)) {
        // Null: false means "the key must be present".
        if (toList(v).every((x) => String(x) === 'false')) keys.set(k.toLowerCase(), ['<present>']);
        continue;
      }
      keys.set(k.toLowerCase(), [...(keys.get(k.toLowerCase()) ?? []), ...toList(v)]);
    }
  }
  return keys;
}

/** A value that narrows something down: anything but an empty string or a bare `*`. */
function pins(values: unknown[] | undefined): boolean {
  return values !== undefined && values.length > 0 && values.every((v) => !isLiteral(v) || (v.length > 0 && v !== '*'));
}

/**
 * Every principal that may assume an agent role is attributable: AWS and federated principals must
 * set a source identity (`sts:SourceIdentity` required by the trust policy), and AWS services,
 * which set none, must be pinned with `aws:SourceAccount` or `aws:SourceArn`.
 */
export function agentTrustWithoutSourceIdentity(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const role = ctx.agentRole(node);
  if (!role) return NagRuleCompliance.NOT_APPLICABLE;
  const findings = new Set<NagRuleFinding>();
  for (const statement of statementsOf(ctx.trustPolicyOf(role))) {
    if (statement.Effect !== 'Allow' || !toList(statement.Action).some((a) => isLiteral(a) && ASSUME_ROLE_ACTIONS.test(a))) continue;
    const keys = requiredKeys(statement);
    const principal = statement.Principal;
    const entries: Array<[string, unknown]> =
      principal === undefined || isLiteral(principal)
        ? [['AWS', principal ?? '*']]
        : Object.entries(principal as Record<string, unknown>).flatMap(([kind, v]) => toList(v).map((p): [string, unknown] => [kind, p]));
    for (const [kind, value] of entries) {
      const attributable =
        kind === 'Service'
          ? pins(keys.get('aws:sourceaccount')) || pins(keys.get('aws:sourcearn'))
          : keys.get('sts:sourceidentity')?.length
            ? keys.get('sts:sourceidentity')!.every((v) => !isLiteral(v) || v.length > 0)
            : false;
      if (!attributable) findings.add(`Principal::${flatten(value)}`);
    }
  }
  return findings.size > 0 ? [...findings] : NagRuleCompliance.COMPLIANT;
}
