/**
 * A local EventBridge event pattern matcher, for testing rule patterns against sample events
 * without an AWS account (EventBridge's TestEventPattern API needs one).
 *
 * Why our own: no maintained matcher exists on the npm registry that this project can use (AWS's
 * event-ruler is Java; the JavaScript ones found are unpublished or unmaintained). This one follows
 * the EventBridge user guide ("Event patterns", "Content filtering"): a pattern field's array matches
 * when any of its values matches; an event array matches when any of its elements does; a field
 * missing from the event matches only `{ "exists": false }`; `$or` takes alternatives of sub-patterns.
 * Supported filters: exact strings, numbers, booleans and null, prefix, suffix (each optionally
 * equals-ignore-case), equals-ignore-case, anything-but (values, prefix, suffix), exists, numeric,
 * wildcard. Anything else throws, so that a pattern it does not understand never passes silently.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function matchesEventPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  return matchObject(pattern as Record<string, Json>, event as Json, '');
}

function isObject(x: unknown): x is Record<string, Json> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function matchObject(pattern: Record<string, Json>, event: Json, path: string): boolean {
  for (const [key, sub] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(sub) || sub.length < 2 || !sub.every(isObject)) {
        throw new Error(`pattern ${path}$or must be an array of at least two objects`);
      }
      if (!sub.some((alt) => matchObject(alt as Record<string, Json>, event, path))) return false;
      continue;
    }
    const value = isObject(event) ? event[key] : undefined;
    const here = `${path}${key}.`;
    if (isObject(sub)) {
      if (!isObject(value)) return false;
      if (!matchObject(sub, value, here)) return false;
    } else if (Array.isArray(sub)) {
      if (!matchField(sub, value, here)) return false;
    } else {
      throw new Error(`pattern field ${here} must be an object or an array of filters, got ${JSON.stringify(sub)}`);
    }
  }
  return true;
}

function matchField(filters: Json[], value: Json | undefined, path: string): boolean {
  const values: (Json | undefined)[] = Array.isArray(value) ? value : [value];
  return filters.some((f) =>
    isObject(f) && 'exists' in f ? matchExists(f.exists, value, path) : values.some((v) => v !== undefined && matchFilter(f, v, path)),
  );
}

function matchExists(exists: Json, value: Json | undefined, path: string): boolean {
  if (typeof exists !== 'boolean') throw new Error(`pattern ${path} exists must be true or false`);
  const present = value !== undefined && !(Array.isArray(value) && value.length === 0);
  return exists === present;
}

function matchFilter(filter: Json, value: Json, path: string): boolean {
  if (!isObject(filter)) {
    return filter === value;
  }
  const keys = Object.keys(filter);
  if (keys.length !== 1) throw new Error(`pattern ${path} filter ${JSON.stringify(filter)} must have exactly one operator`);
  const [op] = keys;
  const arg = filter[op];
  switch (op) {
    case 'prefix':
    case 'suffix': {
      const { text, ignoreCase } = affix(arg, path);
      if (typeof value !== 'string') return false;
      const [v, t] = ignoreCase ? [value.toLowerCase(), text.toLowerCase()] : [value, text];
      return op === 'prefix' ? v.startsWith(t) : v.endsWith(t);
    }
    case 'equals-ignore-case':
      if (typeof arg !== 'string') throw new Error(`pattern ${path} equals-ignore-case needs a string`);
      return typeof value === 'string' && value.toLowerCase() === arg.toLowerCase();
    case 'anything-but': {
      if (isObject(arg)) {
        return !matchFilter(arg, value, path);
      }
      const list = Array.isArray(arg) ? arg : [arg];
      return !list.includes(value);
    }
    case 'numeric':
      return matchNumeric(arg, value, path);
    case 'wildcard': {
      if (typeof arg !== 'string') throw new Error(`pattern ${path} wildcard needs a string`);
      const regex = new RegExp(
        `^${arg
          .split('*')
          .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
      return typeof value === 'string' && regex.test(value);
    }
    default:
      throw new Error(`pattern ${path} uses the operator ${op}, which this matcher does not implement`);
  }
}

function affix(arg: Json, path: string): { text: string; ignoreCase: boolean } {
  if (typeof arg === 'string') return { text: arg, ignoreCase: false };
  if (isObject(arg) && typeof arg['equals-ignore-case'] === 'string') return { text: arg['equals-ignore-case'], ignoreCase: true };
  throw new Error(`pattern ${path} prefix/suffix needs a string`);
}

function matchNumeric(arg: Json, value: Json, path: string): boolean {
  if (!Array.isArray(arg) || arg.length % 2 !== 0) throw new Error(`pattern ${path} numeric needs operator/value pairs`);
  if (typeof value !== 'number') return false;
  for (let i = 0; i < arg.length; i += 2) {
    const [op, n] = [arg[i], arg[i + 1]];
    if (typeof n !== 'number') throw new Error(`pattern ${path} numeric compares with numbers`);
    const ok =
      op === '=' ? value === n : op === '<' ? value < n : op === '<=' ? value <= n : op === '>' ? value > n : op === '>=' ? value >= n : undefined;
    if (ok === undefined) throw new Error(`pattern ${path} numeric operator ${String(op)} is unknown`);
    if (!ok) return false;
  }
  return true;
}
