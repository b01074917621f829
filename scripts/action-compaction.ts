import { serviceActions, splitAction } from '../lib/shared/iam-data';

/**
 * Compacts a set of actions into IAM action patterns (`svc:Prefix*`, `svc:*Suffix`, exact names).
 * A pattern is used only when every action of the service that it matches in the IAM data is in
 * the set, so the compacted list means exactly the same set of today's actions. (It also matches
 * actions AWS adds later with the same affix; the lists compacted here are only ever denied, where
 * that errs safe.) Patterns are chosen greedily by actions covered per character.
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
    patterns.push(...compactService(service, wanted).map((p) => `${service}:${p}`));
  }
  return patterns;
}

interface Candidate {
  readonly pattern: string;
  readonly covers: readonly string[];
}

function compactService(service: string, wanted: ReadonlySet<string>): string[] {
  const all = Object.values(serviceActions(service)).map((a) => a.name);
  const lowerAll = all.map((n) => n.toLowerCase());
  const wantedNames = all.filter((n) => wanted.has(n.toLowerCase()));
  const unknown = [...wanted].filter((w) => !lowerAll.includes(w));
  if (unknown.length > 0) {
    throw new Error(`cannot compact ${service}:${unknown[0]}: no such action in the IAM data`);
  }

  const candidates = new Map<string, Candidate>();
  const consider = (pattern: string, test: (lower: string) => boolean) => {
    if (candidates.has(pattern)) return;
    const covers = lowerAll.filter(test);
    if (covers.length > 0 && covers.every((n) => wanted.has(n))) {
      candidates.set(pattern, { pattern, covers });
    }
  };
  if (wantedNames.length === all.length) {
    consider('*', () => true);
  }
  for (const name of wantedNames) {
    const lower = name.toLowerCase();
    consider(name, (n) => n === lower);
    for (let i = 1; i < name.length; i++) {
      if (/[A-Z]/.test(name[i])) {
        const prefix = lower.slice(0, i);
        consider(`${name.slice(0, i)}*`, (n) => n.startsWith(prefix));
      }
      const suffix = lower.slice(i);
      if (suffix.length >= 4) {
        consider(`*${name.slice(i)}`, (n) => n.endsWith(suffix));
      }
    }
  }

  const uncovered = new Set(wantedNames.map((n) => n.toLowerCase()));
  const chosen: string[] = [];
  const pool = [...candidates.values()];
  while (uncovered.size > 0) {
    let best: Candidate | undefined;
    let bestScore = -1;
    for (const candidate of pool) {
      const gain = candidate.covers.filter((n) => uncovered.has(n)).length;
      const score = gain / (candidate.pattern.length + service.length + 4);
      if (gain > 0 && (score > bestScore || (score === bestScore && best !== undefined && candidate.pattern < best.pattern))) {
        best = candidate;
        bestScore = score;
      }
    }
    if (!best) {
      throw new Error(`cannot compact ${service}: no pattern covers ${[...uncovered][0]}`);
    }
    chosen.push(best.pattern);
    best.covers.forEach((n) => uncovered.delete(n));
  }
  return chosen.sort();
}
