/**
 * The quarantine a circuit breaker puts on an agent role, shared by the breaker's Lambda handler
 * and the `breaker` CLI so that both write exactly the same document. No CDK imports: the handler
 * bundles this file.
 */

/** The name of the inline policy the breaker owns on each watched agent role. */
export const QUARANTINE_POLICY_NAME = 'guardrails-circuit-breaker';

export interface PolicyDocumentJson {
  readonly Version: '2012-10-17';
  readonly Statement: ReadonlyArray<Record<string, unknown>>;
}

/**
 * While tripped: every action is denied to every session of the role, those issued before the trip
 * (the runaway session, named by `aws:TokenIssueTime`) and any new one the agent's runner starts,
 * until a human resets the breaker.
 */
export function quarantineDocument(trippedAt: Date): PolicyDocumentJson {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'RevokeSessionsIssuedBeforeTrip',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': trippedAt.toISOString() } },
      },
      { Sid: 'QuarantineUntilHumanReset', Effect: 'Deny', Action: '*', Resource: '*' },
    ],
  };
}

/**
 * After a human reset: the quarantine is gone, but sessions issued before the reset stay revoked,
 * so the runaway session (its credentials live up to the role's maximum session) cannot resume.
 * New sessions work as before the trip.
 */
export function revocationDocument(resetAt: Date): PolicyDocumentJson {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'RevokeSessionsIssuedBeforeReset',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': resetAt.toISOString() } },
      },
    ],
  };
}

/** Whether a policy document (as IAM returns it) still quarantines the role. */
export function isQuarantine(document: PolicyDocumentJson | undefined): boolean {
  return (document?.Statement ?? []).some((s) => s.Sid === 'QuarantineUntilHumanReset' && s.Effect === 'Deny' && s.Condition === undefined);
}
