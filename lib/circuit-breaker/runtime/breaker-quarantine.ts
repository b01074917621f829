/**
 * The quarantine a circuit breaker puts on an agent role, shared by the breaker's Lambda handler
 * and the `breaker` CLI so that both write exactly the same document. No CDK imports: the handler
 * bundles this file.
 */
import { REQUESTER_TAG, requesterTagValue } from '../../shared/tags';

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

// The gate's session tag naming the collecting agent (one definition in lib/shared/tags.ts).
export { REQUESTER_TAG, requesterTagValue };

/**
 * The inline policy the breaker puts on an approval gate's credentials role for one tripped agent:
 * named per agent (role names are at most 64 characters, so the name stays within IAM's 128).
 */
export function credentialsQuarantinePolicyName(agentRoleName: string): string {
  return `guardrails-quarantine-${agentRoleName}`;
}

/**
 * While an agent is tripped: every session of a credentials role that the agent collected (tagged
 * with its requester value by the gate's collector) is denied every action, however much of its
 * lifetime is left. Sessions collected by other agents carry another value and are not affected.
 */
export function credentialsQuarantineDocument(agentRoleName: string): PolicyDocumentJson {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'QuarantineSessionsCollectedByTrippedAgent',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { StringEquals: { [`aws:PrincipalTag/${REQUESTER_TAG}`]: requesterTagValue(agentRoleName) } },
      },
    ],
  };
}
