import { serviceActions, splitAction, wildcardRegex } from './iam-data';
import { GuardrailsError, GuardrailsErrorKind } from './errors';

/**
 * The one compaction of action sets into IAM action patterns (`svc:Prefix*`, `svc:*Suffix`, exact
 * names), used by the generators (scripts/, for the checked-in lists) and at synth time (the
 * organization policies). A pattern is used only when every action of the service that it matches
 * in the IAM data is in the set, and the result is checked against the data, so the compacted list
 * means exactly the same set of today's actions. (It also matches actions AWS adds later with the
 * same affix; compacted lists are only ever denied, where that errs safe.) Patterns are chosen
 * greedily by actions covered per character.
 */

/** An action pattern matcher: `svc:Name*` against `svc:Action`, case-insensitive; `*` matches every action. */
export class ActionMatcher {
  private readonly byService = new Map<string, RegExp[]>();
  private readonly everything: boolean;

  constructor(patterns: readonly string[]) {
    this.everything = patterns.includes('*');
    for (const pattern of patterns) {
      if (pattern === '*') continue;
      const parts = splitAction(pattern);
      if (!parts) {
        throw new GuardrailsError(GuardrailsErrorKind.BAD_POLICY, `${JSON.stringify(pattern)} is not an action pattern of the form service:Action`);
      }
      this.byService.set(parts.service, [...(this.byService.get(parts.service) ?? []), wildcardRegex(parts.name)]);
    }
  }

  public matches(action: string): boolean {
    if (this.everything) return true;
    const parts = splitAction(action);
    return parts !== undefined && (this.byService.get(parts.service) ?? []).some((re) => re.test(parts.name));
  }
}

/** Every action of a service in the IAM data, as IAM spells it. */
export function actionsOfService(service: string): string[] {
  return Object.values(serviceActions(service)).map((a) => `${service}:${a.name}`);
}

/**
 * Compacts a list of actions of any services, service by service in alphabetical order. Every
 * action must exist in the IAM data: a generated list naming an unknown action is a bug.
 */
export function compactActions(actions: readonly string[]): string[] {
  const byService = new Map<string, Set<string>>();
  for (const action of actions) {
    const parts = splitAction(action);
    if (!parts) {
      throw new GuardrailsError(GuardrailsErrorKind.BAD_POLICY, `cannot compact ${JSON.stringify(action)}: not an action of the form service:Action`);
    }
    const names = byService.get(parts.service) ?? new Set<string>();
    names.add(parts.name.toLowerCase());
    byService.set(parts.service, names);
  }
  const patterns: string[] = [];
  for (const [service, wanted] of [...byService.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const known = new Set(Object.keys(serviceActions(service)));
    const unknown = [...wanted].filter((w) => !known.has(w));
    if (unknown.length > 0) {
      throw new GuardrailsError(GuardrailsErrorKind.BAD_POLICY, `cannot compact ${service}:${unknown[0]}: no such action in the IAM data`);
    }
    patterns.push(...compactServiceActions(service, wanted));
  }
  return patterns;
}

interface Candidate {
  readonly pattern: string;
  readonly covers: readonly string[];
}

// A pure function of constant data (the installed IAM data): memoized for the process.
const compactCache = new Map<string, string[]>();

/**
 * Compacts a set of actions of one service into patterns that match exactly that set in today's
 * IAM data (`svc:*` when it is the whole service). Greedy, by actions covered per character.
 */
export function compactServiceActions(service: string, wanted: ReadonlySet<string>): string[] {
  const key = `${service}\n${[...wanted].sort().join(',')}`;
  const cached = compactCache.get(key);
  if (cached) return [...cached];
  const all = Object.values(serviceActions(service)).map((a) => a.name);
  const lowerAll = all.map((n) => n.toLowerCase());
  const wantedLower = new Set([...wanted].map((w) => w.toLowerCase()));
  const wantedNames = all.filter((n) => wantedLower.has(n.toLowerCase()));
  if (wantedNames.length === 0) return [];
  if (wantedNames.length === all.length) {
    compactCache.set(key, [`${service}:*`]);
    return [`${service}:*`];
  }
  const candidates = new Map<string, Candidate>();
  const consider = (pattern: string, test: (lower: string) => boolean) => {
    if (candidates.has(pattern)) return;
    const covers = lowerAll.filter(test);
    if (covers.length > 0 && covers.every((n) => wantedLower.has(n))) candidates.set(pattern, { pattern, covers });
  };
  for (const name of wantedNames) {
    const lower = name.toLowerCase();
    consider(name, (n) => n === lower);
    for (let i = 1; i < name.length; i++) {
      if (/[A-Z]/.test(name[i])) {
        const prefix = lower.slice(0, i);
        consider(`${name.slice(0, i)}*`, (n) => n.startsWith(prefix));
      }
      const suffix = lower.slice(i);
      if (suffix.length >= 4) consider(`*${name.slice(i)}`, (n) => n.endsWith(suffix));
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
    // Every wanted action is its own candidate, so this cannot happen; fail closed if it does.
    if (!best) throw new GuardrailsError(GuardrailsErrorKind.BAD_POLICY, `cannot compact ${service}: no pattern covers ${[...uncovered][0]}`);
    chosen.push(best.pattern);
    best.covers.forEach((n) => uncovered.delete(n));
  }
  const patterns = chosen.sort().map((p) => `${service}:${p}`);
  assertExact(service, patterns, wantedLower);
  compactCache.set(key, patterns);
  return [...patterns];
}

/** Throws unless the patterns match exactly the wanted actions of the service in the IAM data. */
export function assertExact(service: string, patterns: readonly string[], wantedLower: ReadonlySet<string>): void {
  const matcher = new ActionMatcher(patterns);
  for (const action of actionsOfService(service)) {
    const name = action.slice(service.length + 1).toLowerCase();
    if (matcher.matches(action) !== wantedLower.has(name)) {
      throw new GuardrailsError(
        GuardrailsErrorKind.BAD_POLICY,
        `the compacted actions of ${service} ${matcher.matches(action) ? 'match' : 'miss'} ${action}; ` +
          'this is a bug of cdk-agent-guardrails, please report it',
      );
    }
  }
}
