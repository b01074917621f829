/**
 * Which condition keys verify models, and what it assumes about the others.
 *
 * verify builds the request context of each check itself (request-context.ts). A condition on a
 * key it does not fill in (`aws:RequestedRegion`, `aws:SecureTransport`, `aws:SourceIdentity`,
 * `aws:SourceIp`, a service key ...) would otherwise see that key as absent, and an Allow conditioned
 * on it would never match: verify would report "cannot" for an agent that can. So, before
 * evaluating, the agent's policies are rewritten pessimistically:
 * - in an Allow statement, a condition entry on an unmodelled key is dropped (the Allow is assumed
 *   to hold, as it does for some request the agent can make);
 * - a Deny statement with any condition on an unmodelled key is dropped (it is assumed not to apply).
 * The keys verify does model keep their conditions: their presence and value in the context are
 * decided on purpose (the guard's denies rely on them).
 */
import { toList } from '../../shared/list';

/** Keys verify sets (or deliberately leaves absent) in every check's request context. */
const MODELLED_EXACT = new Set(['aws:principalarn', 'aws:principalaccount', 'aws:principaltype', 'aws:resourceaccount', 'aws:tagkeys']);

/** Key prefixes verify models: resource tags (per the IAM data) and the role's tags. */
const MODELLED_PREFIXES = ['aws:resourcetag/', 'aws:principaltag/'];

/**
 * Whether verify decides this condition key's presence and value itself. Of the request's tags only
 * the one a relabelling request sets (`aws:RequestTag/<tag key>`) is modelled: any other request
 * tag is the agent's to choose.
 */
export function isModelledKey(key: string, relabelTagKey?: string): boolean {
  const lower = key.toLowerCase();
  return (
    MODELLED_EXACT.has(lower) ||
    MODELLED_PREFIXES.some((p) => lower.startsWith(p)) ||
    (relabelTagKey !== undefined && lower === `aws:requesttag/${relabelTagKey.toLowerCase()}`)
  );
}

/**
 * Boolean keys the agent sets by the way it sends a request: invoking a function through its URL or
 * directly. Whatever a Bool condition on them says, the agent can take the path that makes an Allow
 * hold or a Deny not apply, so the pessimistic rewrite is what the agent can really do, not an
 * assumption (a gate's collector is denied to direct invocation this way, and reached by URL).
 */
const AGENT_CHOSEN_BOOLEAN_KEYS = new Set(['lambda:invokedviafunctionurl']);
const BOOLEAN_OPERATORS = new Set(['Bool', 'BoolIfExists']);

/** Whether every condition on this key tests it with a Bool operator, and the agent picks the key's value. */
function isChosenByAgent(condition: unknown, key: string): boolean {
  if (!AGENT_CHOSEN_BOOLEAN_KEYS.has(key.toLowerCase())) return false;
  return Object.entries(condition as Record<string, unknown>).every(
    ([operator, entries]) => BOOLEAN_OPERATORS.has(operator) || !entries || typeof entries !== 'object' || !(key in (entries as object)),
  );
}

/** The condition keys a statement's Condition block names. */
function conditionKeys(condition: unknown): string[] {
  if (!condition || typeof condition !== 'object') return [];
  const keys: string[] = [];
  for (const entries of Object.values(condition as Record<string, unknown>)) {
    if (entries && typeof entries === 'object') keys.push(...Object.keys(entries as Record<string, unknown>));
  }
  return keys;
}

/** A policy document rewritten so that unmodelled condition keys cannot make verify optimistic. */
export interface PessimisticPolicy {
  readonly document: unknown;
  /** The unmodelled keys whose conditions were assumed to hold (Allow) or not to apply (Deny). */
  readonly assumed: string[];
}

/**
 * Rewrites a policy document pessimistically (see the file comment). A document that is not an
 * object is returned as it is, for the parser to reject with its own message.
 */
export function assumeUnmodelledConditions(document: unknown, relabelTagKey?: string, accountKnown = true): PessimisticPolicy {
  if (!document || typeof document !== 'object' || Array.isArray(document)) return { document, assumed: [] };
  // The same document object is shared by many agents (managed policies): rewrite it once, and keep
  // it as it is when nothing changes, so that its parsed form is reused too.
  const cacheKey = `${relabelTagKey ?? ''}|${accountKnown}`;
  let cache = rewrites.get(cacheKey);
  if (!cache) {
    cache = new WeakMap();
    rewrites.set(cacheKey, cache);
  }
  let rewritten = cache.get(document);
  if (!rewritten) {
    // Without a known account, verify leaves aws:ResourceAccount out of the context; a real request
    // carries it, so an Allow conditioned on it is assumed to hold (the guard's denies keep theirs).
    rewritten = rewrite(
      document,
      (k) => isModelledKey(k, relabelTagKey) && (accountKnown || k.toLowerCase() !== 'aws:resourceaccount'),
      (k) => isModelledKey(k, relabelTagKey),
    );
    cache.set(document, rewritten);
  }
  return rewritten;
}

const rewrites = new Map<string, WeakMap<object, PessimisticPolicy>>();

function rewrite(document: object, modelledInAllow: (key: string) => boolean, modelledInDeny: (key: string) => boolean): PessimisticPolicy {
  const doc = document as Record<string, unknown>;
  if (doc.Statement === undefined) return { document, assumed: [] };
  const assumed = new Set<string>();
  let changed = false;
  const statements: unknown[] = [];
  for (const statement of toList(doc.Statement)) {
    const s = statement as Record<string, unknown> | undefined;
    const keys = conditionKeys(s?.Condition);
    const isModelled = s?.Effect === 'Deny' ? modelledInDeny : modelledInAllow;
    const unmodelled = keys.filter((k) => !isModelled(k));
    if (!s || unmodelled.length === 0) {
      statements.push(statement);
      continue;
    }
    changed = true;
    unmodelled.filter((k) => !isChosenByAgent(s.Condition, k)).forEach((k) => assumed.add(k));
    if (s.Effect === 'Deny') continue;
    const condition: Record<string, Record<string, unknown>> = {};
    for (const [operator, entries] of Object.entries(s.Condition as Record<string, Record<string, unknown>>)) {
      const kept = Object.entries(entries ?? {}).filter(([k]) => isModelled(k));
      if (kept.length > 0) condition[operator] = Object.fromEntries(kept);
    }
    const { Condition: _dropped, ...rest } = s;
    statements.push(Object.keys(condition).length > 0 ? { ...rest, Condition: condition } : rest);
  }
  return changed ? { document: { ...doc, Statement: statements }, assumed: [...assumed] } : { document, assumed: [] };
}
