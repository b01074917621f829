import { App, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole } from '../../lib';
import { ApprovalGate, ApprovalGateProps, Approver, GatedOperation } from '../../lib/approval-gate/approval-gate';
import { BoundOperation, KNOWN_BINDINGS, PSEUDO } from '../../lib/approval-gate/runtime/approval-binding';
import { EffectivePolicies, effectivePolicies, logicalIdOf } from '../support/effective-policies';
import { ACCOUNT, REGION, Template, TemplateResolver } from '../support/template-resolver';

export const PROD_DB = `arn:aws:rds:${REGION}:${ACCOUNT}:db:orders`;
export const PROD_STACK = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Production/*`;

/** The gate's operations as the handler and notifier receive them (OPERATIONS), for tests that build them directly. */
export function boundOperations(
  gated: Record<string, string[]> = { 'rds:DeleteDBInstance': [PROD_DB], 'cloudformation:UpdateStack': [PROD_STACK] },
): BoundOperation[] {
  return Object.entries(gated).map(([operation, resources]) => {
    const known = KNOWN_BINDINGS[operation.toLowerCase()];
    const resourceArn = known.resourceArn.split(PSEUDO.partition).join('aws').split(PSEUDO.region).join(REGION).split(PSEUDO.account).join(ACCOUNT);
    return { operation, resources, resourceArn, acceptsArn: known.acceptsArn };
  });
}

export interface SynthesizedGate {
  readonly template: Template;
  readonly gate: ApprovalGate;
  readonly stack: Stack;
  /** The state machine definition as deployed (intrinsics resolved). */
  readonly definition: any;
  readonly agentPolicies: EffectivePolicies;
  readonly executorPolicies: EffectivePolicies;
  readonly approverRoleArn: string;
  /** Every approver role's ARN (`approvers` option), the first being approverRoleArn. */
  readonly approverRoleArns: string[];
  readonly agentRoleArn: string;
  readonly ids: {
    readonly agent: string;
    readonly approver: string;
    readonly handler: string;
    readonly notifier: string;
    readonly stateMachine: string;
    readonly ledger: string;
    readonly executor: string;
  };
}

export function defaultOperations(): GatedOperation[] {
  return [
    GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] }),
    GatedOperation.of({ service: 'cloudformation', action: 'UpdateStack', resources: [PROD_STACK] }),
  ];
}

/** GIVEN an agent stack with an AgentRole (optionally with AdministratorAccess), one approver role and a gate. */
export function synthGate(props: Partial<ApprovalGateProps> = {}, options: { admin?: boolean; approvers?: number } = {}): SynthesizedGate {
  const app = new App();
  const stack = new Stack(app, 'AgentStack', { env: { account: ACCOUNT, region: REGION } });
  const agent = new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal() });
  if (options.admin) agent.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
  const approverRoles = Array.from(
    { length: options.approvers ?? 1 },
    (_, i) =>
      new iam.Role(stack, i === 0 ? 'SecurityLead' : `Approver${i + 1}`, {
        assumedBy: new iam.AccountRootPrincipal(),
        roleName: i === 0 ? 'security-lead' : `approver-${i + 1}`,
      }),
  );
  const approver = approverRoles[0];
  const gate = new ApprovalGate(stack, 'Gate', {
    operations: defaultOperations(),
    approvers: approverRoles.map((r) => Approver.role(r)),
    timeout: Duration.hours(4),
    ...props,
  });
  gate.grantRequest(agent);
  const template = app.synth().getStackByName('AgentStack').template as Template;
  const resolver = new TemplateResolver(template);
  const ids = {
    agent: stack.getLogicalId(agent.node.defaultChild as iam.CfnRole),
    approver: stack.getLogicalId(approver.node.defaultChild as iam.CfnRole),
    handler: logicalIdOf(template, 'AWS::Lambda::Function', 'GateApprovalHandler'),
    notifier: logicalIdOf(template, 'AWS::Lambda::Function', 'GateNotifier'),
    stateMachine: logicalIdOf(template, 'AWS::StepFunctions::StateMachine', 'GateWorkflow'),
    ledger: logicalIdOf(template, 'AWS::DynamoDB::GlobalTable', 'GateLedger'),
    executor: logicalIdOf(template, 'AWS::IAM::Role', 'GateExecutorRole'),
  };
  const definition = JSON.parse(resolver.resolve(template.Resources[ids.stateMachine].Properties.DefinitionString));
  return {
    template,
    gate,
    stack,
    definition,
    ids,
    agentPolicies: effectivePolicies(template, ids.agent),
    executorPolicies: effectivePolicies(template, ids.executor),
    approverRoleArn: resolver.resolve({ 'Fn::GetAtt': [ids.approver, 'Arn'] }),
    approverRoleArns: approverRoles.map((r) => resolver.resolve({ 'Fn::GetAtt': [stack.getLogicalId(r.node.defaultChild as iam.CfnRole), 'Arn'] })),
    agentRoleArn: resolver.resolve({ 'Fn::GetAtt': [ids.agent, 'Arn'] }),
  };
}

/** The resolved environment of a function in the template. */
export function environmentOf(template: Template, logicalId: string, only?: string[]): Record<string, string> {
  const variables = template.Resources[logicalId].Properties.Environment.Variables;
  return new TemplateResolver(template).resolve(only ? Object.fromEntries(only.map((name) => [name, variables[name]])) : variables);
}

/** The session ARN IAM authenticates for a role (what a function URL reports as the caller). */
export function sessionOf(roleArn: string, session: string): string {
  const [, partition, , , account] = roleArn.split(':');
  return `arn:${partition}:sts::${account}:assumed-role/${roleArn.split('/').pop()}/${session}`;
}

export function arnOf(template: Template, logicalId: string): string {
  return new TemplateResolver(template).resolve({ 'Fn::GetAtt': [logicalId, 'Arn'] });
}
export function refOf(template: Template, logicalId: string): string {
  return new TemplateResolver(template).resolve({ Ref: logicalId });
}
