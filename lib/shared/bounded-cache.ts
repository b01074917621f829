/**
 * The value cached under `key`, built once. For caches of pure answers kept for the process (what a pattern
 * compiles to, what the bundled IAM data says of an action): emptied past `limit` entries, as inputs are open-ended.
 */
export function cachedIn<T>(cache: Map<string, T>, key: string, build: () => T, limit = 50_000): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = build();
    if (cache.size >= limit) cache.clear();
    cache.set(key, value);
  }
  return value;
}
