/** The outcome of evaluating one request, named as AWS names it. */
export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** The effect of a statement. */
export type Effect = 'Allow' | 'Deny';

/** The kinds of policy set that take part in a same-account decision. */
export type PolicySetKind = 'identity' | 'permissionsBoundary' | 'serviceControlPolicy';

/** One request to decide: who does what to which resource, in which context, under which policies. */
export interface EvaluationRequest {
  /** ARN of the calling principal (role, assumed-role session or user). */
  readonly principal: string;
  /** 'service:Action'. */
  readonly action: string;
  /** ARN of the resource, or '*'. */
  readonly resource: string;
  /** Request context keys (case-insensitive names); a key that is not here is absent from the request. */
  readonly context: Record<string, string | string[]>;
  /** Identity policy documents (JSON objects, JSON strings, or results of parsePolicy). */
  readonly identityPolicies: readonly unknown[];
  /** Permissions boundary documents; undefined or empty = no boundary. */
  readonly permissionsBoundaries?: readonly unknown[];
  /** One array of SCP documents per organization level (root, OU..., account); undefined or empty = no SCPs. */
  readonly serviceControlPolicies?: readonly (readonly unknown[])[];
}

/** A statement that took part in a decision. */
export interface StatementRef {
  readonly policySet: PolicySetKind;
  /** Index of the SCP level (0 = first array); 0 for the other sets. */
  readonly level: number;
  /** Index of the policy in its set (level). */
  readonly policyIndex: number;
  /** Index of the statement in its policy. */
  readonly statementIndex: number;
  readonly sid?: string;
  readonly effect: Effect;
}

/** Why a decision came out as it did. */
export interface Explanation {
  readonly decision: Decision;
  /** Every Deny statement that matched (non-empty exactly when the decision is ExplicitlyDenied). */
  readonly explicitDenies: readonly StatementRef[];
  /** Every Allow statement that matched, in every set. */
  readonly allows: readonly StatementRef[];
  /**
   * For an implicit deny: the first set that had no matching Allow ('identity' when nothing allows,
   * 'permissionsBoundary' or 'serviceControlPolicy' when that set does not allow).
   */
  readonly missingAllowIn?: PolicySetKind;
  /** For missingAllowIn 'serviceControlPolicy': the level without a matching Allow. */
  readonly missingAllowLevel?: number;
}

/** A decision with every undefined construct read against the guard (evaluateFailClosed). */
export interface FailClosedDecision {
  readonly decision: Decision;
  /** The constructs no AWS page defines that made the decision more permissive, named for a report. */
  readonly doubts: readonly string[];
}
