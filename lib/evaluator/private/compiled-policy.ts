/** The evaluator's internal, pre-compiled form of a parsed policy (kept out of the public shape). */
import { Comparison } from './condition-operators';
import { IamString } from './iam-string';
import { ParsedCondition, ParsedPolicy, ParsedStatement } from './parsed-policy';

export interface CompiledAction {
  /** '*' as the whole pattern. */
  readonly all: boolean;
  /** Lower-case service prefix. */
  readonly service: string;
  /** Exact lower-case action name when the pattern has no wildcard. */
  readonly exact?: string;
  readonly regex?: RegExp;
}

export interface CompiledResource {
  readonly all: boolean;
  /** partition, service, region, account, resource. */
  readonly segments: readonly IamString[];
  /** A variable before the fifth colon: the entry names no resource (reference_policies_variables). */
  readonly matchesNothing?: boolean;
  /** The whole pattern after `arn:`, when a segment before the resource ends in `*` (it may cross colons). */
  readonly whole?: IamString;
  /** Why no AWS page settles what this entry matches; undefined when one does. */
  readonly doubt?: string;
}

export interface CompiledCondition {
  readonly parsed: ParsedCondition;
  readonly negated: boolean;
  readonly nullGoals: readonly string[];
  readonly comparisons: readonly Comparison[];
}

export interface CompiledStatement {
  readonly parsed: ParsedStatement;
  readonly deny: boolean;
  readonly actionsNegated: boolean;
  readonly actions: readonly CompiledAction[];
  /** Index of the actions: any '*', exact 'service:action' names (lower case), wildcard patterns. */
  readonly anyAction: boolean;
  readonly exactActions: ReadonlySet<string>;
  readonly wildcardActions: readonly CompiledAction[];
  readonly resourcesNegated: boolean;
  readonly resources: readonly CompiledResource[];
  readonly conditions: readonly CompiledCondition[];
}

export interface CompiledPolicy {
  readonly parsed: ParsedPolicy;
  readonly statements: readonly CompiledStatement[];
}

const compiledForms = new WeakMap<ParsedPolicy, CompiledPolicy>();

export function rememberCompiled(policy: CompiledPolicy): void {
  compiledForms.set(policy.parsed, policy);
}

/** The compiled form of a ParsedPolicy this module produced; undefined for look-alike objects. */
export function compiledFormOf(policy: unknown): CompiledPolicy | undefined {
  return typeof policy === 'object' && policy !== null ? compiledForms.get(policy as ParsedPolicy) : undefined;
}
