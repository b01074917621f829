import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole } from '../../lib/guard/agent-role';
import { AuditLockMode, AuditTrail } from '../../lib/audit-trail/audit-trail';
import { CircuitBreaker } from '../../lib/circuit-breaker/circuit-breaker';

export interface AuditAndBreaker {
  readonly audit: AuditTrail;
  readonly breaker: CircuitBreaker;
}

/**
 * Every agent action recorded (a multi-region trail into an Object Lock bucket), and a circuit
 * breaker that quarantines the agent after more than 5 destructive or 10 denied calls in 5 minutes.
 */
export function addAuditAndBreaker(agentStack: Stack, agent: AgentRole, credentialsRoles: iam.IRole[] = []): AuditAndBreaker {
  // Production: COMPLIANCE mode chosen on purpose (no one, root included, can delete the logs for a year).
  const audit = new AuditTrail(agentStack, 'AuditTrail', { retention: Duration.days(365), lockMode: AuditLockMode.COMPLIANCE });
  const breaker = new CircuitBreaker(agentStack, 'CircuitBreaker', {
    agents: [{ agent, thresholds: { maxDestructiveCalls: 5, maxDeniedCalls: 10, window: Duration.minutes(5) } }],
    // a trip also revokes the sessions the agent collected through the approval gate (credentials mode)
    credentialsRoles,
  });
  new CfnOutput(agentStack, 'BreakerAlertTopic', {
    value: breaker.alertTopic.topicArn,
    description: 'Subscribe the on-call to circuit breaker alerts',
  });
  new CfnOutput(agentStack, 'BreakerResetCommand', {
    value: breaker.resetCommand(agent),
    description: 'Run with operator credentials to reset the breaker after an incident',
  });
  return { audit, breaker };
}
