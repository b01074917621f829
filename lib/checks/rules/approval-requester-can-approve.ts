import { CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NagRuleFinding, NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { ApprovalGate } from '../../approval-gate/approval-gate';
import { CheckContext } from '../private/check-context';
import { flatten, isLiteral, isWildcardResource, statementCovers } from '../../guard/private/policy-json';
import { toList } from '../../shared/list';

/** The approval gate whose workflow this is, if any. */
function gateOf(node: CfnResource): ApprovalGate | undefined {
  const gate = node.node.scope?.node.scope;
  return gate instanceof ApprovalGate && gate.stateMachine.node.defaultChild === node ? gate : undefined;
}

/** Roles of the app allowed to start the gate's workflow (identity policies naming it by reference or by name, or `*`). */
function requesters(gate: ApprovalGate, ctx: CheckContext): iam.CfnRole[] {
  return gate.node.root.node
    .findAll()
    .filter((c): c is iam.CfnRole => c instanceof iam.CfnRole)
    .filter((role) => {
      const workflow = JSON.stringify(Stack.of(role).resolve(gate.stateMachine.stateMachineArn));
      return ctx.policiesOf(role).identity.some((p) =>
        p.statements.some(
          (s) =>
            s.Effect === 'Allow' &&
            statementCovers(s, 'states:StartExecution') &&
            (s.NotResource !== undefined ||
              toList(s.Resource).some(
                (r) =>
                  isWildcardResource(r) ||
                  JSON.stringify(r) === workflow ||
                  // grantRequest names the workflow by its fixed name (a reference would be a dependency cycle through the agent's boundary)
                  flatten(r).endsWith(`:stateMachine:${gate.stateMachineName}`),
              )),
        ),
      );
    });
}

/** Whether a role is (or, undecidably, may be) an agent: fail closed. */
function mayBeAgent(role: iam.CfnRole, ctx: CheckContext): boolean {
  try {
    return ctx.agent(role).agent;
  } catch {
    return true;
  }
}

/**
 * Nobody who can request through an approval gate can approve it: no approver is a role that may
 * start the gate's workflow, no approver is an agent role, and no approver is the account root or
 * `*` (which stand for every identity of the account, requesters included). Approvers are read
 * from the resource policy of the approval handler's function URL. Findings: `Approver::<principal>`.
 */
export function approvalRequesterCanApprove(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const gate = gateOf(node);
  if (!gate) return NagRuleCompliance.NOT_APPLICABLE;
  const stack = Stack.of(gate);
  const approvers = gate.node
    .findAll()
    .filter((c): c is lambda.CfnPermission => c instanceof lambda.CfnPermission && stack.resolve(c.action) === 'lambda:InvokeFunctionUrl')
    .map((p) => stack.resolve(p.principal));
  const requesting = requesters(gate, ctx);
  const agents = gate.node.root.node.findAll().filter((c): c is iam.CfnRole => c instanceof iam.CfnRole && mayBeAgent(c, ctx));
  const findings = new Set<NagRuleFinding>();
  for (const approver of approvers) {
    const key = JSON.stringify(approver);
    const sameRole = (role: iam.CfnRole) => JSON.stringify(stack.resolve(role.attrArn)) === key;
    const everyone = isLiteral(approver) && (approver === '*' || /^\d{12}$/.test(approver) || /:root$/.test(approver));
    const root = !isLiteral(approver) && /:root$/.test(flatten(approver));
    if (everyone || root || requesting.some(sameRole) || agents.some(sameRole)) {
      findings.add(`Approver::${flatten(approver)}`);
    }
  }
  return findings.size > 0 ? [...findings] : NagRuleCompliance.COMPLIANT;
}
