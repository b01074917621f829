import { CfnResource, Stack } from 'aws-cdk-lib';
import { NagRules } from 'cdk-nag';

/**
 * Thrown by a rule that cannot decide (a value that only CloudFormation knows, a policy whose
 * content is outside the app). cdk-nag reports a rule that throws as a violation of that rule:
 * "cannot decide" fails closed instead of guessing, and the message says what was unknown.
 */
export class CannotDecide extends Error {
  constructor(what: string, fix: string) {
    super(`cannot decide: ${what}. ${fix}`);
    this.name = 'CannotDecide';
  }
}

/**
 * A primitive value through CDK's resolution (NagRules.resolveIfPrimitive), or CannotDecide naming
 * what was unknown when it resolves to an intrinsic function (a parameter, an attribute).
 */
export function resolvePrimitive(node: CfnResource, value: unknown, what: string): any {
  try {
    return NagRules.resolveIfPrimitive(node, value);
  } catch {
    throw new CannotDecide(`${what} of ${node.node.path} is only known at deploy time (${JSON.stringify(Stack.of(node).resolve(value))})`,
      'Set it as a literal value, or acknowledge this rule with the reason.');
  }
}
