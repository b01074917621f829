import { AssemblyModel, constructPathOf } from './assembly';
import { physicalName } from './template-values';
import { toList } from '../../shared/list';

/**
 * The approval gates of the app (ApprovalGate constructs), found in the templates: a state machine
 * whose definition carries the gate's comment, and the executor role it assumes, whose policy is
 * exactly the gated operations. An agent that may start the state machine can *request* those
 * operations; a human decides. verify reports them as "gated", apart from what the agent can do.
 */
export interface GatedOperationModel {
  readonly action: string;
  readonly resources: string[];
}

export interface ApprovalGateModel {
  readonly id: string;
  readonly stateMachineArn: string;
  readonly operations: GatedOperationModel[];
}

const GATE_COMMENT = 'cdk-agent-guardrails approval gate';
const EXECUTOR_DESCRIPTION = 'cdk-agent-guardrails approval executor';

export function findApprovalGates(assembly: AssemblyModel): ApprovalGateModel[] {
  const gates: ApprovalGateModel[] = [];
  for (const stack of assembly.stacks) {
    const resources = stack.template.Resources ?? {};
    for (const [logicalId, resource] of Object.entries(resources)) {
      if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
      const definition = JSON.stringify(resource.Properties?.DefinitionString ?? resource.Properties?.Definition ?? '');
      if (!definition.includes(GATE_COMMENT)) continue;
      const referenced = new Set([...definition.matchAll(/"Fn::GetAtt":\["([A-Za-z0-9]+)"/g)].map((m) => m[1]));
      const executors = [...referenced].filter(
        (id) => resources[id]?.Type === 'AWS::IAM::Role' && String(resources[id].Properties?.Description ?? '').startsWith(EXECUTOR_DESCRIPTION),
      );
      const operations: GatedOperationModel[] = [];
      for (const executor of executors) {
        const roleName = physicalName(stack.env.stackName, executor, resources[executor]);
        for (const policy of Object.values(resources)) {
          if (policy.Type !== 'AWS::IAM::Policy' || !toList(stack.resolver.resolve(policy.Properties?.Roles)).includes(roleName)) continue;
          const document = stack.resolver.resolve(policy.Properties?.PolicyDocument);
          for (const statement of toList(document?.Statement) as any[]) {
            if (statement?.Effect !== 'Allow') continue;
            for (const action of toList(statement.Action)) {
              operations.push({ action: String(action), resources: toList(statement.Resource).map(String) });
            }
          }
        }
      }
      const path = constructPathOf(stack, logicalId, resource);
      gates.push({
        id: typeof path === 'string' ? path.replace(/\/Resource$/, '') : `${stack.displayName}/${logicalId}`,
        stateMachineArn: String(stack.resolver.ref(logicalId)),
        operations,
      });
    }
  }
  return gates;
}
