/** Whether one compiled statement applies to a request: action, resource and every condition. */
import { CompiledAction, CompiledCondition, CompiledResource, CompiledStatement } from './compiled-policy';
import { matchIamPattern } from './iam-string';
import { RequestContext } from './context-lookup';

/** The request in the form statement matching needs, computed once per evaluation. */
export interface MatchRequest {
  readonly service: string;
  readonly actionName: string;
  /** 'service:action', lower case. */
  readonly fullAction: string;
  /** The five ARN segments after `arn:`, or undefined for the resource '*'. */
  readonly resourceSegments: readonly string[] | undefined;
  readonly context: RequestContext;
}

export function statementApplies(statement: CompiledStatement, request: MatchRequest): boolean {
  return actionApplies(statement, request) && resourceApplies(statement, request) && conditionsHold(statement.conditions, request.context);
}

function actionApplies(statement: CompiledStatement, request: MatchRequest): boolean {
  const any =
    statement.anyAction || statement.exactActions.has(request.fullAction) || statement.wildcardActions.some((a) => wildcardActionMatches(a, request));
  return statement.actionsNegated ? !any : any;
}

function wildcardActionMatches(action: CompiledAction, request: MatchRequest): boolean {
  return action.service === request.service && action.regex!.test(request.actionName);
}

function resourceApplies(statement: CompiledStatement, request: MatchRequest): boolean {
  if (!statement.resourcesNegated) {
    for (const resource of statement.resources) {
      if (resourceMatches(resource, request) === true) return true;
    }
    return false;
  }
  // NotResource holds only when the request resource is certainly none of them; a pattern whose
  // policy variable has no value proves nothing, so the statement does not apply.
  for (const resource of statement.resources) {
    if (resourceMatches(resource, request) !== false) return false;
  }
  return true;
}

function resourceMatches(resource: CompiledResource, request: MatchRequest): boolean | undefined {
  if (resource.all) return true;
  const actual = request.resourceSegments;
  // The request resource '*' (actions without resource-level permissions) is matched only by "*".
  if (actual === undefined) return false;
  // Three-valued AND: a segment that certainly differs settles it even when another segment's
  // policy variable has no value.
  let result: boolean | undefined = true;
  for (let i = 0; i < 5; i++) {
    const m = matchIamPattern(resource.segments[i], actual[i], request.context, false);
    if (m === false) return false;
    if (m === undefined) result = undefined;
  }
  return result;
}

function conditionsHold(conditions: readonly CompiledCondition[], context: RequestContext): boolean {
  for (const condition of conditions) {
    if (!conditionHolds(condition, context)) return false;
  }
  return true;
}

/**
 * One operator/key pair. Missing keys: a positive operator fails, a negated operator (and any
 * ...IfExists) holds; ForAnyValue fails and ForAllValues holds. A multivalued key needs a set
 * operator: a plain operator on it does not hold.
 */
export function conditionHolds(condition: CompiledCondition, context: RequestContext): boolean {
  const { parsed } = condition;
  const value = context.get(parsed.key);
  if (parsed.operator === 'Null') {
    const goal = value === undefined ? 'true' : 'false';
    return condition.nullGoals.includes(goal);
  }
  if (parsed.setOperator === 'ForAnyValue') {
    if (value === undefined) return false;
    const values = typeof value === 'string' ? [value] : value;
    return values.some((v) => valueSatisfies(condition, v, context));
  }
  if (parsed.setOperator === 'ForAllValues') {
    if (value === undefined) return true;
    const values = typeof value === 'string' ? [value] : value;
    return values.every((v) => valueSatisfies(condition, v, context));
  }
  if (value === undefined) return parsed.ifExists || condition.negated;
  if (typeof value !== 'string') return false;
  return valueSatisfies(condition, value, context);
}

/** Positive operators: any policy value matches (OR). Negated: no policy value matches, and every comparison could be made. */
function valueSatisfies(condition: CompiledCondition, value: string, context: RequestContext): boolean {
  if (condition.negated) {
    for (const compare of condition.comparisons) {
      if (compare(value, context) !== false) return false;
    }
    return true;
  }
  for (const compare of condition.comparisons) {
    if (compare(value, context) === true) return true;
  }
  return false;
}
