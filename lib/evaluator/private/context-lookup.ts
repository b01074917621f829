/**
 * The request context as the evaluator reads it: case-insensitive key lookup (IAM condition keys are
 * case-insensitive) over the values a caller passed. Building a context as AWS would build it is
 * verify's (lib/verify/analysis/request-context.ts).
 */
export class RequestContext {
  private readonly values = new Map<string, string | readonly string[]>();

  constructor(context: Record<string, unknown>) {
    for (const [key, raw] of Object.entries(context ?? {})) {
      if (raw === undefined || raw === null) continue;
      this.values.set(key.toLowerCase(), normalizeValue(key, raw));
    }
  }

  has(key: string): boolean {
    return this.values.has(key.toLowerCase());
  }

  /** The value: a string for a single-valued key, an array for a multivalued key, undefined when absent. */
  get(key: string): string | readonly string[] | undefined {
    return this.values.get(key.toLowerCase());
  }

  /** A single-valued key's value; undefined when absent or multivalued (policy variables need one value). */
  single(key: string): string | undefined {
    const v = this.values.get(key.toLowerCase());
    return typeof v === 'string' ? v : undefined;
  }
}

function normalizeValue(key: string, raw: unknown): string | readonly string[] {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  if (Array.isArray(raw)) {
    return raw.map((item) => {
      if (typeof item === 'string') return item;
      if (typeof item === 'number' || typeof item === 'boolean') return String(item);
      throw notAString(key, item);
    });
  }
  throw notAString(key, raw);
}

function notAString(key: string, value: unknown): TypeError {
  return new TypeError(
    `context key ${key} has a value that is not a string: ${JSON.stringify(value)}; pass strings (or arrays of strings for multivalued keys)`,
  );
}
