/**
 * The library's own IAM policy evaluator (Apache-2.0, no AGPL code): decides same-account requests
 * against identity policies, permissions boundaries and service control policies.
 */
export type { Decision, Effect, FailClosedDecision, EvaluationRequest, Explanation, PolicySetKind, StatementRef } from './private/types';
export { PolicyParseError } from './private/policy-parse-error';
export type { BaseOperator, ParsedCondition, ParsedPatterns, ParsedPolicy, ParsedStatement, SetOperator } from './private/parsed-policy';
export { parsePolicy } from './private/parse-policy';
export { evaluate, evaluateFailClosed, explain, statementsThatMayApply } from './private/evaluate';
