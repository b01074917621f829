/** Whether one compiled statement applies to a request: action, resource and every condition. */
import { CompiledAction, CompiledCondition, CompiledResource, CompiledStatement } from './compiled-policy';
import { IamString, matchIamPattern } from './iam-string';
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

/**
 * Where no AWS page says what a construct means, the statement's answer is the reading below, and
 * the construct is named in `doubts` so that a caller can fail closed (evaluate.ts, evaluateFailClosed).
 */
export function statementApplies(statement: CompiledStatement, request: MatchRequest, doubts?: string[]): boolean {
  if (!actionApplies(statement, request)) return false;
  // Doubts count only where they could change the answer: a part that certainly fails settles it.
  const resourceDoubts: string[] = [];
  const resource = resourceApplies(statement, request, resourceDoubts);
  if (!resource && resourceDoubts.length === 0) return false;
  const conditionDoubts: string[] = [];
  const conditions = conditionsHold(statement.conditions, request.context, conditionDoubts);
  if (!conditions && conditionDoubts.length === 0) return false;
  doubts?.push(...resourceDoubts, ...conditionDoubts);
  return resource && conditions;
}

/**
 * Whether a statement can apply to the request's action and resource whatever the request context: false only when
 * its Action/NotAction excludes the action, or its Resource/NotResource, written without policy variables and
 * without a construct whose meaning is in doubt, excludes the resource. Such a statement never applies, so it adds
 * nothing to a decision, an explanation or a fail-closed doubt: leaving it out of an evaluation changes nothing
 * (callers prune with it before evaluating).
 */
export function statementMayApply(statement: CompiledStatement, request: MatchRequest): boolean {
  if (!actionApplies(statement, request)) return false;
  // A variable reads the context and a doubtful entry may be read either way: the resource is left open.
  if (statement.resources.some((r) => r.doubt !== undefined || r.whole?.hasVariables || r.segments.some((s) => s.hasVariables))) return true;
  return resourceApplies(statement, request, []);
}

function actionApplies(statement: CompiledStatement, request: MatchRequest): boolean {
  const any =
    statement.anyAction || statement.exactActions.has(request.fullAction) || statement.wildcardActions.some((a) => wildcardActionMatches(a, request));
  return statement.actionsNegated ? !any : any;
}

function wildcardActionMatches(action: CompiledAction, request: MatchRequest): boolean {
  return action.service === request.service && action.regex!.test(request.actionName);
}

function resourceApplies(statement: CompiledStatement, request: MatchRequest, doubts: string[]): boolean {
  let certain = false;
  let doubtful = false;
  const entryDoubts: string[] = [];
  for (const resource of statement.resources) {
    const matches = resourceMatches(resource, request);
    if (resource.doubt === undefined) certain ||= matches;
    else {
      doubtful ||= matches;
      entryDoubts.push(resource.doubt);
    }
  }
  // A certain match settles Resource (it applies) and NotResource (the resource is excluded).
  if (!certain) doubts.push(...entryDoubts);
  const matched = certain || doubtful;
  // IAM User Guide, "IAM JSON policy elements: NotResource": the statement applies to every resource
  // not listed. An entry whose variable has no value matches nothing (reference_policies_variables,
  // "Policy variables with no value"), so under NotResource it excludes nothing.
  return statement.resourcesNegated ? !matched : matched;
}

function resourceMatches(resource: CompiledResource, request: MatchRequest): boolean {
  if (resource.all) return true;
  // reference_policies_variables, "Where you can use policy variables": a variable cannot stand for
  // the partition, service, region or account (before the fifth colon); such an entry names no resource.
  if (resource.matchesNothing) return false;
  const actual = request.resourceSegments;
  // The request resource '*' (actions without resource-level permissions) is matched only by "*".
  if (actual === undefined) return false;
  if (resource.whole) return matchWholeArn(resource.whole, actual, request.context);
  for (let i = 0; i < 5; i++) {
    // A variable with no value: "a resource ARN ... with a variable that has no value matches no resource"
    // (reference_policies_variables, "Policy variables with no value"), hence `!== true`.
    if (matchIamPattern(resource.segments[i], actual[i], request.context, false) !== true) return false;
  }
  return true;
}

/**
 * reference_policies_elements_resource, "Using wildcards in resource ARNs": a `*` that is the last
 * character of a segment "can expand to match beyond the colon boundaries". Such patterns are
 * matched against the whole ARN after `arn:`; any other wildcard stays inside its segment.
 */
function matchWholeArn(whole: IamString, actual: readonly string[], context: RequestContext): boolean {
  return matchIamPattern(whole, actual.join(':'), context, false) === true;
}

function conditionsHold(conditions: readonly CompiledCondition[], context: RequestContext, doubts: string[]): boolean {
  const found: string[] = [];
  let all = true;
  for (const condition of conditions) {
    const own: string[] = [];
    if (conditionHolds(condition, context, own)) {
      found.push(...own);
      continue;
    }
    if (own.length === 0) return false;
    found.push(...own);
    all = false;
  }
  doubts.push(...found);
  return all;
}

/**
 * One operator/key pair. Missing keys: a positive operator fails, a negated operator (and any
 * ...IfExists) holds; ForAnyValue fails and ForAllValues holds. A multivalued key needs a set
 * operator: a plain operator on it does not hold.
 */
export function conditionHolds(condition: CompiledCondition, context: RequestContext, doubts: string[] = []): boolean {
  const { parsed } = condition;
  const value = context.get(parsed.key);
  if (parsed.operator === 'Null') {
    const goal = value === undefined ? 'true' : 'false';
    return condition.nullGoals.includes(goal);
  }
  if (condition.comparisons.length === 0) {
    // Access Analyzer accepts an empty value list, but no page says what it compares to: the reading
    // here (nothing matches, so only a negated operator holds) is named as a doubt.
    doubts.push(`${parsed.operatorText} on ${parsed.key} lists no values (no AWS page defines its meaning)`);
  }
  if (parsed.setOperator !== undefined) {
    // reference_policies_condition-single-vs-multi-valued-context-keys: an absent key or an empty
    // data set (an empty list or the empty string) makes ForAllValues true and ForAnyValue false.
    const values = value === undefined || value === '' ? [] : typeof value === 'string' ? [value] : value;
    if (parsed.setOperator === 'ForAnyValue') return values.some((v) => valueSatisfies(condition, v, context, doubts));
    return values.every((v) => valueSatisfies(condition, v, context, doubts));
  }
  if (value === undefined) return parsed.ifExists || condition.negated;
  if (typeof value !== 'string') return false;
  return valueSatisfies(condition, value, context, doubts);
}

/**
 * Positive operators: any policy value matches (OR). Negated: no policy value matches (AND of the
 * negations, reference_policies_multi-value-conditions). A comparison that cannot be made (a request
 * value of the wrong type, e.g. a date operator on a non-date) is defined by no page: it counts as no
 * match, and is named as a doubt.
 */
function valueSatisfies(condition: CompiledCondition, value: string, context: RequestContext, doubts: string[]): boolean {
  let matched = false;
  for (const compare of condition.comparisons) {
    const result = compare(value, context);
    if (result === undefined) {
      doubts.push(`${condition.parsed.operatorText} on ${condition.parsed.key} compares the value ${JSON.stringify(value)} of another type`);
      // Keep the pre-existing fail-safe reading: a negated operator with an undecidable comparison does not hold.
      if (condition.negated) return false;
    } else if (result) {
      matched = true;
      if (!condition.negated) return true;
    }
  }
  return condition.negated ? !matched : matched;
}
