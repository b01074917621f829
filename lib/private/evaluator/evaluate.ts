import { Decision, EvaluationRequest, Explanation } from './types';

/** Decides one request (synchronous). Throws PolicyParseError when a policy does not parse. */
export function evaluate(request: EvaluationRequest): Decision {
  return explain(request).decision;
}

/** Decides one request and says which statements decided it. */
export function explain(_request: EvaluationRequest): Explanation {
  throw new Error('not implemented yet');
}
