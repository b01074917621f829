import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { invalidProps } from '../../shared/errors';
import { actionDetails } from '../../shared/iam-data';
import { acknowledgeNagFindings } from '../../shared/nag-suppressions';

/**
 * For actions that support no resource-level permissions (the IAM service authorization data lists
 * no resource type for them, so `Resource: "*"` is the only form IAM accepts): acknowledges
 * `AwsSolutions-IAM5[Resource::*]` on the role and its policies, and makes synth fail if an Allow
 * statement of those policies grants any other action on `*` (or uses NotAction there), so that
 * the acknowledgement never covers more than the actions it names.
 */
export function acknowledgeUnscopableActions(role: iam.Role, actions: readonly string[], reason: string): void {
  const scopable = actions.filter((a) => (actionDetails(a)?.resourceTypes.length ?? 1) > 0);
  if (scopable.length > 0) {
    throw invalidProps(
      'NagAcknowledgement.ScopableAction',
      `${role.node.path}: ${scopable.join(', ')} support resource-level permissions (or are not in the IAM data), ` +
        'so "*" cannot be acknowledged for them.',
      {
        constructPath: role.node.path,
        received: scopable.join(', '),
        fix: 'Grant these actions on the ARNs they act on.',
      },
    );
  }
  acknowledgeNagFindings(role, [{ id: 'AwsSolutions-IAM5', reason, appliesTo: ['Resource::*'] }]);
  refuseGrantsOnStar(role, actions);
}

/**
 * Makes synth fail if an Allow statement of the role's policies grants anything but `actions` on `*`
 * (or uses NotAction there): a role that must stay scoped (the credentials role: nothing unscopable).
 */
export function refuseGrantsOnStar(role: iam.Role, actions: readonly string[]): void {
  const allowed = new Set(actions.map((a) => a.toLowerCase()));
  role.node.addValidation({
    validate: () => {
      const stack = Stack.of(role);
      const documents: any[] = [];
      for (const node of role.node.findAll()) {
        if (node instanceof iam.CfnPolicy) documents.push(stack.resolve(node.policyDocument));
        if (node instanceof iam.CfnRole) documents.push(...asList(stack.resolve(node.policies)).map((p: any) => p?.policyDocument));
      }
      const extra = documents
        .flatMap((d) => asList(d?.Statement))
        .filter((st: any) => st?.Effect === 'Allow' && asList(st.Resource).includes('*'))
        .flatMap((st: any) =>
          st.NotAction !== undefined
            ? [`NotAction ${JSON.stringify(st.NotAction)}`]
            : asList(st.Action).filter((a: unknown) => typeof a !== 'string' || !allowed.has(a.toLowerCase())),
        );
      return extra.length === 0
        ? []
        : [
            `${role.node.path}: actions ${[...new Set(extra.map(String))].join(', ')} are granted on "*", but ` +
              (actions.length > 0
                ? `the role's acknowledgement of AwsSolutions-IAM5[Resource::*] covers only ${actions.join(', ')}.`
                : 'this role must grant nothing on "*".') +
              ' Grant them on specific ARNs.',
          ];
    },
  });
}

function asList(value: unknown): any[] {
  return value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
}
