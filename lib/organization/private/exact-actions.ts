import { expandActionPattern } from '../../shared/iam-data';

export { ActionMatcher, actionsOfService, assertExact, compactServiceActions } from '../../shared/action-compaction';

/**
 * Action sets computed from the IAM data at synth time, compacted into IAM action patterns with
 * the exactness rule of the generated lists (one compaction, lib/shared/action-compaction.ts): a pattern is used only
 * when every action of the service it matches today is in the set, and the result is checked
 * against the data before it is used. Resource control policies need this: they take no NotAction,
 * so "everything but reads" must be written out, service by service.
 */

/** The actions of the IAM data that a list of patterns matches (a pattern matching nothing today is kept as written). */
export function expandPatterns(patterns: readonly string[]): { actions: string[]; unmatched: string[] } {
  const actions: string[] = [];
  const unmatched: string[] = [];
  for (const pattern of patterns) {
    const expanded = expandActionPattern(pattern);
    if (expanded.length === 0) unmatched.push(pattern);
    actions.push(...expanded);
  }
  return { actions: [...new Set(actions)], unmatched };
}
