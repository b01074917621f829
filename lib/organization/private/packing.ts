import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { toList } from '../../shared/list';
import { GuardItem, OrgStatement } from './org-statements';

/**
 * Packs statements into at most `budget` policies of at most `limit` characters, as AWS
 * Organizations counts them (every character of the document; the documents are written without
 * whitespace). Statements are placed largest first into the fullest policy they fit; an Action
 * list that fits nowhere whole is split to fill the space left, and a new policy is opened only
 * when no policy has room for even one of its actions. A NotAction statement is never split (its
 * parts would deny more). Nothing is dropped: what does not fit the budget is named in the error.
 */

export interface PackedPolicy {
  readonly statements: OrgStatement[];
  /** The guard statements each packed statement carries, in the order of `statements`. */
  readonly carries: string[][];
}

export interface PackOptions {
  /** 'service control policies' or 'resource control policies', for messages. */
  readonly what: string;
  readonly limit: number;
  readonly budget: number;
  /** How to raise the budget, for the message. */
  readonly raise: string;
}

const EMPTY_DOCUMENT = JSON.stringify({ Version: '2012-10-17', Statement: [] }).length;

export function documentOf(statements: readonly OrgStatement[]): { Version: string; Statement: OrgStatement[] } {
  return { Version: '2012-10-17', Statement: [...statements] };
}

/** Characters a statement adds to a document (its JSON and the separating comma). */
function cost(statement: OrgStatement, first: boolean): number {
  return JSON.stringify(statement).length + (first ? 0 : 1);
}

interface Bin {
  readonly statements: OrgStatement[];
  readonly carries: string[][];
  size: number;
}

function place(bin: Bin, statement: OrgStatement, carries: readonly string[]): void {
  bin.size += cost(statement, bin.statements.length === 0);
  bin.statements.push(statement);
  bin.carries.push([...carries]);
}

function describe(statement: OrgStatement, carries: readonly string[]): string {
  const actions = toList(statement.Action ?? statement.NotAction);
  const merged = carries.length > 1 || carries[0] !== statement.Sid ? ` [${carries.join(', ')}]` : '';
  const patterns = `${actions.length} ${statement.NotAction ? 'NotAction ' : ''}pattern${actions.length === 1 ? '' : 's'}`;
  return `${statement.Sid}${merged} (${JSON.stringify(statement).length} characters, ${patterns})`;
}

export function packItems(items: readonly GuardItem[], options: PackOptions): PackedPolicy[] {
  const { limit } = options;
  const bins: Bin[] = [];
  const open = (): Bin => {
    const bin: Bin = { statements: [], carries: [], size: EMPTY_DOCUMENT };
    bins.push(bin);
    return bin;
  };
  const sorted = [...items].sort((a, b) => {
    // Statements that cannot be split first, then the largest.
    const fixed = Number(b.statement.Action === undefined) - Number(a.statement.Action === undefined);
    return fixed !== 0 ? fixed : JSON.stringify(b.statement).length - JSON.stringify(a.statement).length;
  });
  for (const { statement, carries } of sorted) {
    const fits = (bin: Bin) => bin.size + cost(statement, bin.statements.length === 0) <= limit;
    const best = bins.filter(fits).sort((a, b) => b.size - a.size)[0];
    if (best) {
      place(best, statement, carries);
      continue;
    }
    const actions = toList(statement.Action);
    if (statement.Action === undefined || actions.length <= 1) {
      if (EMPTY_DOCUMENT + cost(statement, true) > limit) {
        throw new GuardrailsError(GuardrailsErrorKind.QUOTA,
          `${describe(statement, carries)} does not fit in one of the ${options.what} of at most ${limit} characters, and cannot be split `
          + `(${statement.Action === undefined ? 'splitting a NotAction statement would deny more' : 'it has a single action'}). `
          + 'Raise the characters per policy (at most 5120). Nothing was dropped to fit.',
        { code: 'OrganizationPolicies.StatementTooLarge', received: describe(statement, carries) });
      }
      place(open(), statement, carries);
      continue;
    }
    // Split: fill the policies with the most room first, one part each, then open new ones.
    let remaining = actions;
    let part = 1;
    const candidates = [...bins].sort((a, b) => a.size - b.size);
    while (remaining.length > 0) {
      const bin = candidates.shift() ?? open();
      const header = { ...statement, Sid: `${statement.Sid}${part}`, Action: [] as string[] };
      let size = bin.size + cost(header, bin.statements.length === 0);
      const taken: string[] = [];
      for (const action of remaining) {
        const added = JSON.stringify(action).length + (taken.length > 0 ? 1 : 0);
        if (size + added > limit) break;
        size += added;
        taken.push(action);
      }
      if (taken.length === 0) {
        if (bin.statements.length === 0) {
          throw new GuardrailsError(GuardrailsErrorKind.QUOTA,
            `${describe(statement, carries)} does not fit in ${options.what} of ${limit} characters even with one action. `
            + 'Raise the characters per policy (at most 5120). Nothing was dropped to fit.', { code: 'OrganizationPolicies.StatementTooLarge' });
        }
        continue;
      }
      place(bin, { ...header, Action: taken }, carries);
      remaining = remaining.slice(taken.length);
      part++;
    }
  }
  const packed = bins.filter((b) => b.statements.length > 0);
  verifyPacking(items, packed, options);
  if (packed.length > options.budget) {
    const kept = packed.slice(0, options.budget);
    const over = packed.slice(options.budget);
    const total = packed.reduce((n, b) => n + b.size, 0);
    const names = over.flatMap((b) => b.statements.map((s, i) => describe(s, b.carries[i])));
    throw new GuardrailsError(GuardrailsErrorKind.QUOTA,
      `the organization guard needs ${packed.length} ${options.what} of at most ${limit} characters (${total} characters in all), `
      + `more than the budget of ${options.budget}. `
      + `Does not fit in the first ${kept.length}: ${names.join('; ')}. ${options.raise} Nothing was dropped to fit.`,
      { code: 'OrganizationPolicies.OverBudget', received: `${options.what}: ${options.budget}`, fix: options.raise });
  }
  return packed.map((b) => ({ statements: b.statements, carries: b.carries }));
}

/**
 * The exactness check of the packing: every statement is there once, whole or as parts whose
 * actions add up to exactly its own (same effect, principal, resources and conditions), and every
 * policy is within the limit. A failure is a bug, never a silent change of what is denied.
 */
export function verifyPacking(items: readonly GuardItem[], packed: readonly PackedPolicy[], options: Pick<PackOptions, 'limit' | 'what'>): void {
  const fail = (why: string) => {
    throw new GuardrailsError(GuardrailsErrorKind.QUOTA,
      `packing the ${options.what} went wrong: ${why}. This is a bug of cdk-agent-guardrails; nothing was deployed.`);
  };
  const placed = packed.flatMap((p) => p.statements);
  for (const policy of packed) {
    const size = JSON.stringify(documentOf(policy.statements)).length;
    if (size > options.limit) fail(`a policy is ${size} characters, over ${options.limit}`);
    const sids = policy.statements.map((s) => s.Sid);
    if (new Set(sids).size !== sids.length) fail(`two statements of a policy share a Sid (${sids.join(', ')})`);
  }
  const used = new Set<OrgStatement>();
  for (const { statement } of items) {
    const { Sid: sid, Action: action, ...rest } = statement;
    const parts = placed.filter((s) => !used.has(s) && (s.Sid === sid || (action !== undefined && new RegExp(`^${sid}\\d+$`).test(s.Sid)))
      && JSON.stringify({ ...s, Sid: undefined, Action: undefined }) === JSON.stringify({ ...rest, Sid: undefined, Action: undefined }));
    if (parts.length === 0) fail(`statement ${sid} is missing`);
    const actions = parts.flatMap((p) => toList(p.Action));
    const expected = toList(action);
    if (actions.length !== expected.length || [...new Set(actions)].length !== actions.length || expected.some((a) => !actions.includes(a))) {
      fail(`the actions of ${sid} are not exactly its own after splitting`);
    }
    parts.forEach((p) => used.add(p));
  }
  if (used.size !== placed.length) fail(`${placed.length - used.size} statement(s) were added`);
}
