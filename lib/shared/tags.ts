/** Tag names and defaults that every feature (constructs, verify, the CLI, the handlers) agrees on. */

/** The tag that marks a resource as part of the guardrails (approval gates, breakers, audit). */
export const GUARDRAIL_COMPONENT_TAG = 'guardrails:component';
/** The tag that marks a role as an agent role; its value is the agent's name. */
export const AGENT_TAG = 'guardrails:agent';
/** The tag whose value says whether a resource is disposable. */
export const DEFAULT_TAG_KEY = 'environment';
/** Values of DEFAULT_TAG_KEY that mark a resource disposable; anything else is production. */
export const DEFAULT_NON_PRODUCTION_VALUES: readonly string[] = Object.freeze(['dev', 'development', 'test', 'sandbox', 'ephemeral']);
/** Values that mark a resource production under ProductionScope.taggedOnly. */
export const DEFAULT_PRODUCTION_VALUES: readonly string[] = Object.freeze(['prod', 'production']);

/** Metadata type under which broad grants and their justifications are recorded. */
export const BROAD_GRANT_METADATA = 'cdk-agent-guardrails:broad-grant';
/** Metadata type under which the guard's coverage is recorded. */
export const GUARD_METADATA = 'cdk-agent-guardrails:guard';

/**
 * The session tag an approval gate's collector puts on each approval-bound session, naming the collecting agent's role:
 * a circuit breaker that trips the agent revokes those sessions with a deny on the credentials role conditioned on
 * `aws:PrincipalTag/guardrails:requester`. One definition for both sides.
 */
export const REQUESTER_TAG = 'guardrails:requester';

/**
 * The tag value for a role name: IAM allows `,` in role names but not in tag values, so it is written as `_`. Two names
 * differing only there share a value, which errs towards revoking more, never less.
 */
export function requesterTagValue(roleName: string): string {
  return roleName.replace(/,/g, '_');
}
