import { CfnResource, Stack } from 'aws-cdk-lib';
import { NagRules } from './nag';
import { CannotDecide } from '../../shared/errors';

export { CannotDecide } from '../../shared/errors';

/**
 * A primitive value through CDK's resolution (NagRules.resolveIfPrimitive), or CannotDecide naming
 * what was unknown when it resolves to an intrinsic function (a parameter, an attribute).
 */
export function resolvePrimitive(node: CfnResource, value: unknown, what: string): any {
  try {
    return NagRules.resolveIfPrimitive(node, value);
  } catch {
    throw new CannotDecide(
      `${what} of ${node.node.path} is only known at deploy time (${JSON.stringify(Stack.of(node).resolve(value))})`,
      'Set it as a literal value, or acknowledge this rule with the reason.',
    );
  }
}
