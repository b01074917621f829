import { isUnresolvedToken } from './tokens';
import { GuardrailsError, GuardrailsErrorKind } from './errors';
import { toList } from './list';

/** IAM and Organizations quotas, in characters excluding whitespace. */
export const IAM_QUOTAS = {
  managedPolicy: 6144,
  inlinePoliciesPerRole: 10240,
  trustPolicy: 2048,
  serviceControlPolicy: 5120,
  managedPoliciesPerRole: 10,
} as const;

/** Characters counted for a token whose value is only known at deploy time (an ARN, typically). */
export const TOKEN_ESTIMATE = 256;

/** A statement as plain JSON, as the guard builds it. */
export interface StatementJson {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/**
 * The size IAM counts for a policy document: its JSON without whitespace. Unresolved tokens are
 * counted as TOKEN_ESTIMATE characters each, since their deployed value is not known yet.
 */
export function policySize(document: unknown): number {
  let tokens = 0;
  const json = JSON.stringify(document, (_key, value) => {
    if (typeof value === 'string' && isUnresolvedToken(value)) {
      tokens++;
      return '';
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).some((k) => k.startsWith('Fn::') || k === 'Ref')) {
      tokens++;
      return '';
    }
    return value;
  });
  return json.replace(/\s+/g, '').length + tokens * TOKEN_ESTIMATE;
}

export function policyDocument(statements: readonly StatementJson[]): { Version: string; Statement: StatementJson[] } {
  return { Version: '2012-10-17', Statement: [...statements] };
}

/**
 * Packs statements into as few policies as fit under `limit`, splitting a statement's action list
 * across policies where it must. Never drops anything: a statement that cannot fit even with a
 * single action is an error.
 */
export function packStatements(statements: readonly StatementJson[], limit: number, reserve = 0): StatementJson[][] {
  const key = JSON.stringify([statements, limit, reserve]);
  const cached = packCache.get(key);
  if (cached) {
    return cached.map((policy) => policy.map((s) => ({ ...s })));
  }
  const packed = pack(statements, limit, reserve);
  packCache.set(key, packed);
  return packed.map((policy) => policy.map((s) => ({ ...s })));
}

// Guards of the same scope pack identically; an app with a hundred agents packs once.
const packCache = new Map<string, StatementJson[][]>();

function pack(statements: readonly StatementJson[], limit: number, reserve: number): StatementJson[][] {
  const policies: StatementJson[][] = [];
  let current: StatementJson[] = [];
  const sizeOf = (candidate: StatementJson[]) => policySize(policyDocument(candidate)) + reserve;

  for (const statement of statements) {
    if (sizeOf([...current, statement]) <= limit) {
      current.push(statement);
      continue;
    }
    let part = 1;
    let remaining = toList(statement.Action);
    while (remaining.length > 0) {
      const sid = `${statement.Sid ?? 'Stmt'}${part}`;
      // Grow the action list by measured increments: each action adds its JSON string and a comma.
      let size = sizeOf([...current, { ...statement, Sid: sid, Action: [] }]);
      const taken: string[] = [];
      for (const action of remaining) {
        const added = JSON.stringify(action).length + (taken.length > 0 ? 1 : 0);
        if (size + added > limit) {
          break;
        }
        size += added;
        taken.push(action);
      }
      if (taken.length === 0) {
        if (current.length === 0) {
          throw new GuardrailsError(
            GuardrailsErrorKind.QUOTA,
            `statement ${statement.Sid} does not fit in a policy of ${limit} characters even with one action`,
          );
        }
        policies.push(current);
        current = [];
        continue;
      }
      current.push({ ...statement, Sid: sid, Action: taken });
      remaining = remaining.slice(taken.length);
      part++;
      if (remaining.length > 0) {
        policies.push(current);
        current = [];
      }
    }
  }
  if (current.length > 0) {
    policies.push(current);
  }
  return policies;
}
