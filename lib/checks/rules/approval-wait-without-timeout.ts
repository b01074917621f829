import { CfnResource, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { NagRuleFinding, NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { CannotDecide } from '../private/cannot-decide';
import { flatten } from '../../guard/private/policy-json';

interface State {
  readonly Type?: string;
  readonly Resource?: unknown;
  readonly TimeoutSeconds?: unknown;
  readonly Branches?: Array<{ States?: Record<string, State> }>;
  readonly Iterator?: { States?: Record<string, State> };
  readonly ItemProcessor?: { States?: Record<string, State> };
}

/** The state machine definition as JSON; references become `<LogicalId.Attr>` inside strings. */
function definitionOf(node: sfn.CfnStateMachine): { States?: Record<string, State> } {
  const stack = Stack.of(node);
  if (node.definition !== undefined) return stack.resolve(node.definition);
  if (node.definitionString === undefined) {
    throw new CannotDecide(
      `the definition of ${node.node.path} is stored outside the template (DefinitionS3Location)`,
      'Define it inline, or acknowledge this rule with the reason its callback waits have timeouts.',
    );
  }
  const text = flatten(stack.resolve(node.definitionString));
  try {
    return JSON.parse(text);
  } catch {
    throw new CannotDecide(
      `the definition of ${node.node.path} only becomes JSON at deploy time`,
      'Use literal values for every number and structure in the definition.',
    );
  }
}

function collect(states: Record<string, State> | undefined, out: Array<[string, State]>): void {
  for (const [name, state] of Object.entries(states ?? {})) {
    out.push([name, state]);
    (state.Branches ?? []).forEach((b) => collect(b.States, out));
    collect(state.Iterator?.States, out);
    collect(state.ItemProcessor?.States, out);
  }
}

/**
 * Every wait for a callback (a Task with `.waitForTaskToken`, how approval gates wait for a human)
 * has a literal TimeoutSeconds: without one the wait lasts as long as the execution (up to a
 * year), and a timeout given by a path comes from the request, which the requester writes.
 * Findings: `State::<name>`.
 */
export function approvalWaitWithoutTimeout(node: CfnResource): NagRuleResult {
  if (!(node instanceof sfn.CfnStateMachine)) return NagRuleCompliance.NOT_APPLICABLE;
  const states: Array<[string, State]> = [];
  collect(definitionOf(node).States, states);
  const waits = states.filter(([, s]) => s.Type === 'Task' && typeof s.Resource === 'string' && s.Resource.endsWith('.waitForTaskToken'));
  if (waits.length === 0) return NagRuleCompliance.NOT_APPLICABLE;
  const findings: NagRuleFinding[] = waits
    .filter(([, s]) => !(typeof s.TimeoutSeconds === 'number' && s.TimeoutSeconds > 0))
    .map(([name]) => `State::${name}`);
  return findings.length > 0 ? findings : NagRuleCompliance.COMPLIANT;
}
