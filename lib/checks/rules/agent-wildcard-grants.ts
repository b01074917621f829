import { CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NagRuleFinding, NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { BROAD_GRANT_METADATA } from '../../guard/agent-role';
import { actionDetails, expandActionPattern, splitAction, supportsResourceLevelPermissions } from '../../shared/iam-data';
import { CheckContext } from '../private/check-context';
import { flatten, isLiteral, isWildcardResource } from '../../guard/private/policy-json';
import { toList } from '../../shared/list';
import { cachedIn } from '../../shared/bounded-cache';

interface Justified {
  readonly actions: Set<string>;
  readonly resources: Set<string>;
}

/** Broad grants an AgentRole recorded with a written justification (allowBroad). */
function justifiedGrants(role: iam.CfnRole): Justified {
  const justified: Justified = { actions: new Set(), resources: new Set() };
  const l2 = role.node.scope;
  for (const entry of l2?.node.metadata ?? []) {
    const data = entry.data as { kind?: string; actions?: string[]; resources?: string[] } | undefined;
    if (entry.type !== BROAD_GRANT_METADATA || data?.kind !== 'broad-grant') continue;
    (data.actions ?? []).forEach((a) => justified.actions.add(a.toLowerCase()));
    (data.resources ?? []).forEach((r) => justified.resources.add(flatten(Stack.of(role).resolve(r))));
  }
  return justified;
}

/** Whether an action pattern names at least one action that can be scoped to resources. */
function scopable(action: string): boolean {
  return cachedIn(scopableCache, action, () =>
    /[*?]/.test(action) ? expandActionPattern(action).some(supportsResourceLevelPermissions) : supportsResourceLevelPermissions(action),
  );
}

function unknownAction(action: string): boolean {
  return cachedIn(unknownCache, action, () => {
    const parts = splitAction(action);
    if (!parts) return true;
    return /[*?]/.test(action) ? expandActionPattern(action).length === 0 : actionDetails(action) === undefined;
  });
}

// Both answers depend only on the action and the IAM data compiled into this package: kept for the process.
const scopableCache = new Map<string, boolean>();
const unknownCache = new Map<string, boolean>();

/**
 * An agent role's Allow statements are least privilege: no `*` or `service:*` actions, no
 * NotAction / NotResource allows, no unknown actions, and no wildcard resource on an action that
 * supports resource-level permissions (decided from the IAM service authorization data). Broad
 * grants an AgentRole recorded with a justification are not findings.
 */
export function agentWildcardGrants(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const role = ctx.agentRole(node);
  if (!role) return NagRuleCompliance.NOT_APPLICABLE;
  const justified = justifiedGrants(role);
  const findings = new Set<NagRuleFinding>();
  for (const policy of ctx.policiesOf(role).identity) {
    for (const statement of policy.statements) {
      if (statement.Effect !== 'Allow') continue;
      if (statement.NotAction !== undefined) findings.add(`NotAction::${flatten(statement.NotAction)}`);
      if (statement.NotResource !== undefined) findings.add(`NotResource::${flatten(statement.NotResource)}`);
      const broadResources = toList(statement.Resource).filter(isWildcardResource).map(flatten);
      for (const action of toList(statement.Action)) {
        if (!isLiteral(action)) {
          findings.add(`Action::${flatten(action)}`);
          continue;
        }
        const isJustified = justified.actions.has(action.toLowerCase());
        if (action === '*' || /^[a-z0-9-]+:\*$/i.test(action)) {
          if (!isJustified) findings.add(`Action::${action}`);
          continue;
        }
        if (unknownAction(action)) {
          findings.add(`UnknownAction::${action}`);
          continue;
        }
        for (const resource of broadResources) {
          if (scopable(action) && !(isJustified && justified.resources.has(resource))) {
            findings.add(`Resource::${resource}::${action}`);
          }
        }
      }
    }
  }
  return findings.size > 0 ? [...findings] : NagRuleCompliance.COMPLIANT;
}
