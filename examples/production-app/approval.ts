import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole } from '../../lib';
import { ApprovalGate, Approver, GatedOperation } from '../../lib/approval-gate/approval-gate';
import type { ProductionStack } from './main';

/**
 * High-risk actions on production go through a human: the agent may ask to delete the production
 * database or to update the production stack; the security lead decides; the gate performs exactly
 * what was approved with its own narrowly scoped executor role. A failover is a runbook of several
 * calls, so the gate hands the agent approval-bound credentials instead: once approved, the agent
 * collects (once, within the hour) a 15-minute session that may reboot the production database with
 * ForceFailover and watch it come back, and nothing else.
 */
export function addApprovalGates(
  agentStack: Stack,
  production: ProductionStack,
  agent: AgentRole,
  options: { failover?: boolean } = {},
): ApprovalGate {
  // The people who decide: an existing role of the security team (never an agent role).
  const securityLead = iam.Role.fromRoleName(agentStack, 'SecurityLead', 'security-lead', { mutable: false });
  // Each request's parameters must name the resource the approvers are shown (DBInstanceIdentifier,
  // StackName: the known bindings of these actions); the gate refuses any other request.
  const gate = new ApprovalGate(agentStack, 'ProductionApprovals', {
    operations: [
      GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [production.database.instanceArn] }),
      GatedOperation.of({
        service: 'cloudformation',
        action: 'UpdateStack',
        // a stack's ARN ends in a generated id: the pattern names this stack only
        resources: [production.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${production.stackName}/*` })],
      }),
      // Multi-AZ failover: RebootDBInstance with ForceFailover, then DescribeDBInstances until it is available again.
      ...(options.failover
        ? [
            GatedOperation.credentials({
              service: 'rds',
              action: 'RebootDBInstance',
              resources: [production.database.instanceArn],
              additionalActions: ['DescribeDBInstances'],
            }),
          ]
        : []),
    ],
    approvers: [Approver.role(securityLead)],
    requiredApprovals: 1,
    timeout: Duration.hours(4),
  });
  gate.grantRequest(agent);
  new CfnOutput(agentStack, 'ApprovalUrl', { value: gate.approvalUrl, description: 'npx cdk-agent-guardrails approvals list --url <this>' });
  new CfnOutput(agentStack, 'ApprovalStateMachine', { value: gate.stateMachine.stateMachineArn, description: 'the agent starts executions here' });
  if (gate.collectionUrl) {
    new CfnOutput(agentStack, 'CollectionUrl', {
      value: gate.collectionUrl,
      description: 'the agent collects approved credentials here: SigV4-signed POST /requests/<id>/collect',
    });
  }
  return gate;
}
