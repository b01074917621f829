/**
 * A policy document that cannot be evaluated. The message says where (statement, element), what
 * was wrong, the value received and the fix. Evaluating such a policy must never silently allow or
 * silently skip it, so parsing throws instead.
 */
export class PolicyParseError extends Error {
  /** Path of the offending element, e.g. 'Statement[2].Condition.StringEquals'. */
  public readonly path: string;

  constructor(path: string, problem: string, received: unknown, fix: string) {
    super(`${path ? `${path}: ` : ''}${problem} (received ${describe(received)}). ${fix}`);
    this.name = 'PolicyParseError';
    this.path = path;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
