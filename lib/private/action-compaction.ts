import { serviceActions, splitAction } from './iam-data';

/**
 * Compacts a set of actions into IAM action patterns. A pattern `svc:Prefix*` is used only when
 * every action of the service that it matches in the IAM data is in the set, so the compacted
 * list means exactly the same set of today's actions. (It also matches actions AWS adds later
 * with the same prefix; the lists compacted here are only ever denied, where that errs safe.)
 */
export function compactActions(actions: readonly string[]): string[] {
  const byService = new Map<string, Set<string>>();
  for (const action of actions) {
    const parts = splitAction(action);
    if (!parts) {
      throw new Error(`cannot compact ${JSON.stringify(action)}: not an action of the form service:Action`);
    }
    const names = byService.get(parts.service) ?? new Set<string>();
    names.add(parts.name.toLowerCase());
    byService.set(parts.service, names);
  }

  const patterns: string[] = [];
  for (const [service, wanted] of [...byService.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const all = Object.values(serviceActions(service)).map((a) => a.name);
    const chosen = new Set<string>();
    for (const name of all.filter((n) => wanted.has(n.toLowerCase())).sort()) {
      chosen.add(shortestSafePrefix(name, all, wanted));
    }
    // drop patterns subsumed by a shorter wildcard
    const list = [...chosen];
    const minimal = list.filter((p) => !list.some((q) => q !== p && q.endsWith('*') && p.toLowerCase().startsWith(q.slice(0, -1).toLowerCase())));
    patterns.push(...minimal.sort().map((p) => `${service}:${p}`));
  }
  return patterns;
}

function shortestSafePrefix(name: string, all: readonly string[], wanted: ReadonlySet<string>): string {
  for (let end = 1; end <= name.length; end++) {
    const atBoundary = end === name.length || /[A-Z]/.test(name[end]);
    if (!atBoundary) {
      continue;
    }
    const prefix = name.slice(0, end).toLowerCase();
    const matched = all.filter((n) => n.toLowerCase().startsWith(prefix));
    if (matched.every((n) => wanted.has(n.toLowerCase()))) {
      return matched.length === 1 && end === name.length ? name : `${name.slice(0, end)}*`;
    }
  }
  return name;
}
