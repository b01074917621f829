import { splitArn } from './arn';
import { CompiledPolicy } from './compiled-policy';
import { compiledPolicyOf } from './parse-policy';
import { RequestContext } from './context-lookup';
import { MatchRequest, statementApplies, statementMayApply } from './statement-match';
import { Decision, EvaluationRequest, Explanation, FailClosedDecision, PolicySetKind, StatementRef } from './types';

/**
 * Decides one same-account request (synchronous). An explicit Deny in any policy wins; otherwise
 * an identity policy must allow, and so must every permissions boundary set (when there is one)
 * and every SCP level (when there are SCPs). Throws PolicyParseError when a policy does not parse
 * and TypeError when the request itself is malformed: never a silent decision on bad input.
 */
export function evaluate(request: EvaluationRequest): Decision {
  return decide(request, false, false).decision;
}

/** Decides one request and lists the statements that decided it. */
export function explain(request: EvaluationRequest): Explanation {
  return decide(request, true, false);
}

/**
 * Decides one request the way a guard must: where no AWS page defines what a construct means, a Deny
 * that rests on it is taken not to apply and an Allow that rests on it to apply. `doubts` names each
 * such construct that changed a statement's answer; empty when the decision is `evaluate`'s.
 */
export function evaluateFailClosed(request: EvaluationRequest): FailClosedDecision {
  const { decision, doubts } = decide(request, false, true);
  return { decision, doubts: doubts ?? [] };
}

/**
 * For each statement of each policy (documents, JSON texts or ParsedPolicies), whether it can apply to `action` on
 * `resource` in some request context (statement-match.ts, statementMayApply). A statement marked false is certainly
 * not matched: an evaluation without it decides, explains and doubts exactly as one with it. Throws as `evaluate`
 * does on a policy that does not parse or a malformed action or resource.
 */
export function statementsThatMayApply(policies: readonly unknown[], action: string, resource: string): boolean[][] {
  const match = matchRequestOf({ principal: '', action, resource, context: {}, identityPolicies: [] });
  return policies.map((policy) => compiledPolicyOf(policy).statements.map((s) => statementMayApply(s, match)));
}

interface PolicySet {
  readonly kind: PolicySetKind;
  readonly level: number;
  readonly policies: readonly CompiledPolicy[];
}

function decide(request: EvaluationRequest, collect: boolean, failClosed: boolean): Explanation & { doubts?: string[] } {
  const match = matchRequestOf(request);
  const sets: PolicySet[] = [{ kind: 'identity', level: 0, policies: compileAll(request.identityPolicies, 'identityPolicies') }];
  if (request.permissionsBoundaries !== undefined && request.permissionsBoundaries.length > 0) {
    sets.push({ kind: 'permissionsBoundary', level: 0, policies: compileAll(request.permissionsBoundaries, 'permissionsBoundaries') });
  }
  (request.serviceControlPolicies ?? []).forEach((level, i) => {
    sets.push({ kind: 'serviceControlPolicy', level: i, policies: compileAll(level, `serviceControlPolicies[${i}]`) });
  });

  const explicitDenies: StatementRef[] = [];
  const allows: StatementRef[] = [];
  const allowed = sets.map(() => false);
  let denied = false;
  const doubts: string[] = [];
  sets.forEach((set, setIndex) => {
    set.policies.forEach((policy, policyIndex) => {
      for (const statement of policy.statements) {
        // Without an explanation to collect, skip Allows once the set is settled or a Deny won.
        if (!collect && (denied || (!statement.deny && allowed[setIndex]))) continue;
        const own: string[] | undefined = failClosed ? [] : undefined;
        let applies = statementApplies(statement, match, own);
        if (own && own.length > 0) {
          // Only a doubt that flips the statement towards more access is recorded.
          if (applies === statement.deny) doubts.push(...own.map((d) => `${statement.deny ? 'Deny' : 'Allow'}: ${d}`));
          applies = !statement.deny;
        }
        if (!applies) continue;
        if (statement.deny) denied = true;
        else allowed[setIndex] = true;
        if (collect) {
          (statement.deny ? explicitDenies : allows).push({
            policySet: set.kind,
            level: set.level,
            policyIndex,
            statementIndex: statement.parsed.index,
            ...(statement.parsed.sid !== undefined ? { sid: statement.parsed.sid } : {}),
            effect: statement.parsed.effect,
          });
        }
      }
    });
  });

  if (denied) return { decision: 'ExplicitlyDenied', explicitDenies, allows, doubts };
  const missing = sets.findIndex((_, i) => !allowed[i]);
  if (missing === -1) return { decision: 'Allowed', explicitDenies, allows, doubts };
  return {
    doubts,
    decision: 'ImplicitlyDenied',
    explicitDenies,
    allows,
    missingAllowIn: sets[missing].kind,
    ...(sets[missing].kind === 'serviceControlPolicy' ? { missingAllowLevel: sets[missing].level } : {}),
  };
}

function compileAll(documents: readonly unknown[] | undefined, name: string): CompiledPolicy[] {
  if (!Array.isArray(documents)) {
    throw new TypeError(`${name} must be an array of policy documents, received ${JSON.stringify(documents)}`);
  }
  return documents.map((d) => compiledPolicyOf(d));
}

function matchRequestOf(request: EvaluationRequest): MatchRequest {
  const action = request.action;
  const colon = typeof action === 'string' ? action.indexOf(':') : -1;
  if (colon <= 0 || colon === action.length - 1 || action.indexOf(':', colon + 1) !== -1 || /[*?\s]/.test(action)) {
    throw new TypeError(`the request action must be "service:Action" without wildcards, received ${JSON.stringify(action)}`);
  }
  let resourceSegments: readonly string[] | undefined;
  if (request.resource !== '*') {
    resourceSegments = typeof request.resource === 'string' ? splitArn(request.resource) : undefined;
    if (!resourceSegments) {
      throw new TypeError(
        `the request resource must be an ARN (arn:partition:service:region:account:resource) or "*", received ${JSON.stringify(request.resource)}`,
      );
    }
  }
  return {
    service: action.slice(0, colon).toLowerCase(),
    actionName: action.slice(colon + 1).toLowerCase(),
    fullAction: action.toLowerCase(),
    resourceSegments,
    context: new RequestContext(request.context ?? {}),
  };
}
