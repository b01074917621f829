import { App, Duration, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole } from '../../lib';
import { ApprovalGate, Approver, GatedOperation } from '../../lib/approval-gate/approval-gate';
import { CircuitBreaker } from '../../lib/circuit-breaker/circuit-breaker';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

export const ARNS = {
  orders: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`,
  scratch: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/scratch`,
} as const;

/**
 * The app the MCP server speaks about: one agent with an explicit grant on the production table,
 * a production table (tagged production), a disposable table (tagged dev), a broad grant to stop instances,
 * an approval gate whose table deletion the agent may request, and a circuit breaker watching it.
 */
export function buildMcpApp(app: App): void {
  const env = { account: ACCOUNT, region: REGION };
  const stack = new Stack(app, 'Shop', { env });
  const orders = new dynamodb.Table(stack, 'Orders', { tableName: 'orders', partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  Tags.of(orders).add('environment', 'production');
  const scratch = new dynamodb.Table(stack, 'Scratch', { tableName: 'scratch', partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  Tags.of(scratch).add('environment', 'dev');
  const agent = new AgentRole(stack, 'OpsAgent', { agentName: 'ops-agent', assumedBy: new iam.AccountRootPrincipal() });
  // the explicit grant on production, and free rein on the disposable table
  agent.allow({ actions: ['dynamodb:PutItem'], resources: [orders.tableArn] });
  agent.allow({ actions: ['dynamodb:DeleteTable'], resources: [scratch.tableArn] });
  scratch.grantReadWriteData(agent);
  // a broad grant: on production the read-only boundary must still stop it
  agent.allowBroad({ actions: ['ec2:StopInstances', 'ec2:StartInstances'], resources: ['*'], justification: 'restarts dev workers' });
  const lead = new iam.Role(stack, 'SecurityLead', { assumedBy: new iam.AccountRootPrincipal() });
  const gate = new ApprovalGate(stack, 'Approvals', {
    operations: [GatedOperation.of({ service: 'dynamodb', action: 'DeleteTable', resources: [orders.tableArn] })],
    approvers: [Approver.role(lead)],
    timeout: Duration.hours(2),
  });
  gate.grantRequest(agent);
  new CircuitBreaker(stack, 'Breaker', { agents: [{ agent, thresholds: { maxDestructiveCalls: 3, maxDeniedCalls: 6 } }] });
}
