import { ProductionScope, ProductionScopeKind } from '../production-scope';
import { COMPACT_PATTERNS, DESTRUCTIVE_CATALOG } from '../../shared/destructive-catalog.generated';
import { StatementJson } from '../../shared/policy-size';

type Condition = Record<string, Record<string, string | string[]>>;

/** Where a deny applies for a scope: a resource element and an optional condition. */
export interface ScopeTarget {
  readonly resources: string[];
  readonly condition?: Condition;
}

function tagKeyOf(scope: ProductionScope): string {
  return `aws:ResourceTag/${scope.tagKey}`;
}

/** Objects, items and sub-resources sit under the ARN of their resource. */
function withChildren(arns: readonly string[]): string[] {
  return arns.flatMap((arn) => [arn, `${arn}/*`]);
}

/** Where a deny on production applies for a scope: its resource element and condition. */
export function scopeTarget(scope: ProductionScope): ScopeTarget {
  switch (scope.kind) {
    case ProductionScopeKind.FAIL_CLOSED:
      // A missing tag key makes a negated operator match: untagged and untaggable are denied.
      return { resources: ['*'], condition: { StringNotEqualsIgnoreCase: { [tagKeyOf(scope)]: scope.tagValues } } };
    case ProductionScopeKind.TAGGED_ONLY:
      return { resources: ['*'], condition: { StringEqualsIgnoreCase: { [tagKeyOf(scope)]: scope.tagValues } } };
    case ProductionScopeKind.RESOURCES:
      return { resources: withChildren(scope.resourceArns) };
    case ProductionScopeKind.ACCOUNTS:
      // IfExists: a request whose resource account is unknown is denied too.
      return { resources: ['*'], condition: { StringEqualsIfExists: { 'aws:ResourceAccount': scope.accountIds } } };
  }
}

function statement(sid: string, actions: readonly string[], target: ScopeTarget): StatementJson {
  return {
    Sid: sid,
    Effect: 'Deny',
    Action: [...actions],
    Resource: target.resources.length === 1 ? target.resources[0] : target.resources,
    ...(target.condition ? { Condition: target.condition } : {}),
  };
}

/**
 * The deny statement that never changes after construction: destruction of the resource itself
 * (never carved out) and tag changes on protected resources.
 */
export function staticGuardStatements(scope: ProductionScope): StatementJson[] {
  const target = scopeTarget(scope);
  // resource-level destruction and tag changes on protected resources, in one compacted list
  return [statement('DenyDestroyProduction', COMPACT_PATTERNS.destructive, target)];
}

/**
 * What the tagged-only scope denies by ARN: every action whose request context may lack the tag
 * (the catalog's `untagged` parts: no tag, a tag on some resource types only, or S3's opt-in ABAC).
 * An action that always carries the tag is denied on a production resource by the tag condition
 * already, and the resources denied by ARN are exactly those tagged production: listing it again
 * would only spend a managed policy of the ten a role may have.
 */
export function untaggableActions(): string[] {
  return [...COMPACT_PATTERNS['resource:untagged'], ...COMPACT_PATTERNS['tagging:untagged'], ...COMPACT_PATTERNS['data:untagged']];
}

/**
 * In the tagged-only scope, the untaggable actions are denied on the production resources found
 * in the app. With none found, the statement falls back to the tag condition (which such actions
 * never meet: that gap is what the scope's report lists).
 */
export function untaggableStatement(
  sid: string,
  scope: ProductionScope,
  actions: readonly string[],
  productionArns: readonly string[],
): StatementJson {
  const target: ScopeTarget = productionArns.length > 0 ? { resources: withChildren(productionArns) } : scopeTarget(scope);
  return statement(sid, actions, target);
}

export const DATA_LEVEL_ACTIONS: readonly string[] = DESTRUCTIVE_CATALOG.filter((e) => e[1] === 'data').map((e) => e[0]);

/**
 * Data-level deletes on production, with the user's explicit resource-scoped grants carved out.
 * `carveOuts` maps an action to the resources it was explicitly granted on.
 */
export function dataGuardStatements(scope: ProductionScope, carveOuts: ReadonlyMap<string, readonly string[]>): StatementJson[] {
  const target = scopeTarget(scope);
  const groups = new Map<string, { actions: string[]; exempt: string[] }>();
  for (const action of DATA_LEVEL_ACTIONS) {
    const exempt = [...new Set(carveOuts.get(action.toLowerCase()) ?? [])].sort();
    const key = JSON.stringify(exempt);
    const group = groups.get(key) ?? { actions: [], exempt };
    group.actions.push(action);
    groups.set(key, group);
  }
  const statements: StatementJson[] = [];
  let index = 0;
  for (const { actions, exempt } of groups.values()) {
    const sid = `DenyDataDeletesOnProduction${index++ || ''}`;
    if (exempt.length === 0) {
      statements.push(statement(sid, actions, target));
    } else if (scope.kind === ProductionScopeKind.RESOURCES) {
      // Resource and NotResource cannot be combined: remove the exempt resources from the list.
      const remaining = target.resources.filter((r) => !exempt.includes(r));
      if (remaining.length > 0) {
        statements.push(statement(sid, actions, { resources: remaining }));
      }
    } else {
      statements.push({
        Sid: sid,
        Effect: 'Deny',
        Action: actions,
        NotResource: exempt.length === 1 ? exempt[0] : exempt,
        ...(target.condition ? { Condition: target.condition } : {}),
      });
    }
  }
  return statements;
}
