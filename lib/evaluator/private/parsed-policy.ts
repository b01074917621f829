import { Effect } from './types';

/** The condition operators IAM knows, without the IfExists suffix or a set-operator prefix. */
export type BaseOperator =
  | 'StringEquals'
  | 'StringNotEquals'
  | 'StringEqualsIgnoreCase'
  | 'StringNotEqualsIgnoreCase'
  | 'StringLike'
  | 'StringNotLike'
  | 'NumericEquals'
  | 'NumericNotEquals'
  | 'NumericLessThan'
  | 'NumericLessThanEquals'
  | 'NumericGreaterThan'
  | 'NumericGreaterThanEquals'
  | 'DateEquals'
  | 'DateNotEquals'
  | 'DateLessThan'
  | 'DateLessThanEquals'
  | 'DateGreaterThan'
  | 'DateGreaterThanEquals'
  | 'Bool'
  | 'BinaryEquals'
  | 'IpAddress'
  | 'NotIpAddress'
  | 'ArnEquals'
  | 'ArnLike'
  | 'ArnNotEquals'
  | 'ArnNotLike'
  | 'Null';

export type SetOperator = 'ForAnyValue' | 'ForAllValues';

/** One key test of a Condition block: `{ "<setOperator>:<operator><IfExists>": { "<key>": [values] } }`. */
export interface ParsedCondition {
  /** The operator as written in the policy. */
  readonly operatorText: string;
  readonly operator: BaseOperator;
  readonly setOperator?: SetOperator;
  readonly ifExists: boolean;
  /** The condition key as written (matched case-insensitively). */
  readonly key: string;
  /** The values, as strings (numbers and booleans are stringified); any one may match (OR). */
  readonly values: readonly string[];
}

/** Action/NotAction or Resource/NotResource: the patterns, and whether the element is the Not form. */
export interface ParsedPatterns {
  readonly negated: boolean;
  readonly patterns: readonly string[];
}

export interface ParsedStatement {
  /** Position in the policy's Statement list. */
  readonly index: number;
  readonly sid?: string;
  readonly effect: Effect;
  readonly actions: ParsedPatterns;
  readonly resources: ParsedPatterns;
  /** Every condition must hold (AND). */
  readonly conditions: readonly ParsedCondition[];
}

/** A validated identity-type policy (identity policy, permissions boundary or SCP). */
export interface ParsedPolicy {
  /** '2012-10-17' enables policy variables; '2008-10-17' (also the default) treats `${...}` literally. */
  readonly version: '2012-10-17' | '2008-10-17';
  readonly id?: string;
  readonly statements: readonly ParsedStatement[];
}
