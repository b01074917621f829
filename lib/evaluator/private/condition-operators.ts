/**
 * The condition operators: how one request value compares with one policy value. Each comparison
 * is true, false, or undefined when it cannot be made (a request value of the wrong type, which no
 * page defines: statement-match.ts names it as a doubt). A policy value whose variable has no value
 * does not match, so its negation holds: reference_policies_variables, "Policy variables with no
 * value" (inverted operators such as StringNotEquals, StringNotLike, ArnNotEquals, ArnNotLike match).
 */
import { splitArn, splitArnPattern } from './arn';
import { matchIamPattern, resolveLiteral, tokenizeIamString } from './iam-string';
import { inNetwork, IpNetwork, parseCidr, parseIp } from './ip-address';
import { BaseOperator } from './parsed-policy';
import { RequestContext } from './context-lookup';

export type Comparison = (requestValue: string, context: RequestContext) => boolean | undefined;

/** The positive operator each negated one inverts, and the negated operators themselves. */
export const NEGATION_OF: Partial<Record<BaseOperator, BaseOperator>> = {
  StringNotEquals: 'StringEquals',
  StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
  StringNotLike: 'StringLike',
  NumericNotEquals: 'NumericEquals',
  DateNotEquals: 'DateEquals',
  NotIpAddress: 'IpAddress',
  ArnNotEquals: 'ArnEquals',
  ArnNotLike: 'ArnLike',
};

export const BASE_OPERATORS: readonly BaseOperator[] = [
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
  'DateEquals',
  'DateNotEquals',
  'DateLessThan',
  'DateLessThanEquals',
  'DateGreaterThan',
  'DateGreaterThanEquals',
  'Bool',
  'BinaryEquals',
  'IpAddress',
  'NotIpAddress',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Null',
];

/** Thrown by compileComparison for a policy value the operator cannot use; the parser adds the path. */
export class InvalidConditionValue extends Error {
  constructor(
    public readonly problem: string,
    public readonly fix: string,
  ) {
    super(problem);
  }
}

/** Compiles the comparison of the positive form of `operator` against one policy value. */
export function compileComparison(operator: BaseOperator, policyValue: string, variables: boolean): Comparison {
  const positive = NEGATION_OF[operator] ?? operator;
  switch (positive) {
    case 'StringEquals': {
      const str = tokenizeIamString(policyValue, { wildcards: false, variables });
      return (value, ctx) => {
        const resolved = resolveLiteral(str, ctx);
        return resolved !== undefined && resolved === value;
      };
    }
    case 'StringEqualsIgnoreCase': {
      const str = tokenizeIamString(policyValue, { wildcards: false, variables });
      return (value, ctx) => {
        const resolved = resolveLiteral(str, ctx);
        return resolved !== undefined && resolved.toLowerCase() === value.toLowerCase();
      };
    }
    case 'StringLike': {
      const str = tokenizeIamString(policyValue, { wildcards: true, variables });
      return (value, ctx) => matchIamPattern(str, value, ctx, false) === true;
    }
    case 'NumericEquals':
    case 'NumericLessThan':
    case 'NumericLessThanEquals':
    case 'NumericGreaterThan':
    case 'NumericGreaterThanEquals': {
      const policyNumber = parseNumber(policyValue);
      if (policyNumber === undefined) throw new InvalidConditionValue(`${operator} needs numbers`, 'Write a number such as "10" or "2.5".');
      const test = ORDER_TESTS[positive];
      return (value) => {
        const n = parseNumber(value);
        return n === undefined ? undefined : test(n, policyNumber);
      };
    }
    case 'DateEquals':
    case 'DateLessThan':
    case 'DateLessThanEquals':
    case 'DateGreaterThan':
    case 'DateGreaterThanEquals': {
      const policyDate = parseDate(policyValue);
      if (policyDate === undefined) {
        throw new InvalidConditionValue(
          `${operator} needs dates`,
          'Write an ISO 8601 date such as "2026-01-31T00:00:00Z" or epoch seconds such as "1769817600".',
        );
      }
      const test = ORDER_TESTS[positive.replace('Date', 'Numeric') as keyof typeof ORDER_TESTS];
      return (value) => {
        const d = parseDate(value);
        return d === undefined ? undefined : test(d, policyDate);
      };
    }
    case 'Bool': {
      const str = tokenizeIamString(policyValue, { wildcards: false, variables });
      if (!str.hasVariables && !isBoolean(str.literal)) throw new InvalidConditionValue('Bool needs "true" or "false"', 'Write "true" or "false".');
      return (value, ctx) => {
        const resolved = resolveLiteral(str, ctx);
        if (resolved === undefined) return false;
        if (!isBoolean(resolved) || !isBoolean(value)) return undefined;
        return resolved.toLowerCase() === value.toLowerCase();
      };
    }
    case 'BinaryEquals':
      return (value) => value === policyValue;
    case 'IpAddress': {
      const network: IpNetwork | undefined = parseCidr(policyValue);
      if (!network)
        throw new InvalidConditionValue(
          `${operator} needs IP addresses or CIDR blocks`,
          'Write an address or block such as "203.0.113.0/24" or "2001:db8::/32".',
        );
      return (value) => {
        const ip = parseIp(value);
        return ip === undefined ? undefined : inNetwork(ip, network);
      };
    }
    case 'ArnEquals':
    case 'ArnLike': {
      const parts = splitArnPattern(policyValue, variables);
      if (!parts || policyValue.split(':').length < 6) {
        // A value that is not an ARN could never be compared, so a Deny with it would silently do nothing.
        throw new InvalidConditionValue(
          `${operator} needs ARNs (arn:partition:service:region:account:resource, wildcards allowed)`,
          'Write a full ARN such as "arn:aws:iam::123456789012:role/agent-*", or use StringLike for other text.',
        );
      }
      const segments = parts.map((p) => tokenizeIamString(p, { wildcards: true, variables }));
      return (value, ctx) => {
        const actual = splitArn(value);
        if (!actual) return undefined;
        // A segment whose variable has no value does not match (see the file comment).
        for (let i = 0; i < 5; i++) {
          if (matchIamPattern(segments[i], actual[i], ctx, false) !== true) return false;
        }
        return true;
      };
    }
    default:
      throw new InvalidConditionValue(`${operator} is not a comparison operator`, 'Use a condition operator IAM knows.');
  }
}

const ORDER_TESTS = {
  NumericEquals: (a: number, b: number) => a === b,
  NumericLessThan: (a: number, b: number) => a < b,
  NumericLessThanEquals: (a: number, b: number) => a <= b,
  NumericGreaterThan: (a: number, b: number) => a > b,
  NumericGreaterThanEquals: (a: number, b: number) => a >= b,
};

function isBoolean(s: string): boolean {
  const l = s.toLowerCase();
  return l === 'true' || l === 'false';
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (!NUMBER.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** Milliseconds since the epoch from an ISO 8601 date or from epoch seconds. */
export function parseDate(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}
