import { ESCALATION_CATALOG } from '../../shared/destructive-catalog.generated';
import { StatementJson } from '../../shared/policy-size';

import { GUARDRAIL_COMPONENT_TAG } from '../../shared/tags';

export { AGENT_TAG, GUARDRAIL_COMPONENT_TAG } from '../../shared/tags';
/** CDK's bootstrap roles: assuming one (or passing it) deploys with its full power. */
export const CDK_ROLE_PATTERN = 'arn:*:iam::*:role/cdk-*';

export interface EscalationOptions {
  readonly allowedPassRoles: readonly string[];
  readonly allowedAssumeRoles: readonly string[];
}

function exceptAllowed(sid: string, actions: string[], allowed: readonly string[]): StatementJson {
  return allowed.length === 0
    ? { Sid: sid, Effect: 'Deny', Action: actions, Resource: '*' }
    : { Sid: sid, Effect: 'Deny', Action: actions, NotResource: allowed.length === 1 ? allowed[0] : [...allowed] };
}

/** The escalation and tampering denies of the threat model (invariants 4 and 6). */
export function escalationStatements(options: EscalationOptions): StatementJson[] {
  return [
    { Sid: 'DenyIamWrites', Effect: 'Deny', Action: [...ESCALATION_CATALOG.iamWrites], Resource: '*' },
    { Sid: 'DenyControlPlaneAndAuditWrites', Effect: 'Deny', Action: [...ESCALATION_CATALOG.controlPlaneWrites], Resource: '*' },
    exceptAllowed('DenyPassRoleOutsideAllowList', ['iam:PassRole'], options.allowedPassRoles),
    exceptAllowed('DenyAssumeRoleOutsideAllowList', ['sts:AssumeRole'], options.allowedAssumeRoles),
    { Sid: 'DenyCdkDeployRoles', Effect: 'Deny', Action: ['sts:AssumeRole', 'iam:PassRole'], Resource: CDK_ROLE_PATTERN },
    { Sid: 'DenyNewCredentials', Effect: 'Deny', Action: ['sts:GetFederationToken', 'sts:AssumeRoot'], Resource: '*' },
    // Alerts of the guardrails must reach people: unsubscribing or filtering a subscription is
    // decided on the subscription, whose request context carries no topic tag.
    { Sid: 'DenySilencingAlerts', Effect: 'Deny', Action: ['sns:Unsubscribe', 'sns:SetSubscriptionAttributes'], Resource: '*' },
    // A task token cannot be scoped to one execution: agents must not hold it at all.
    {
      Sid: 'DenyTaskTokens',
      Effect: 'Deny',
      Action: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
      Resource: '*',
    },
    {
      Sid: 'DenyGuardrailComponents',
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { Null: { [`aws:ResourceTag/${GUARDRAIL_COMPONENT_TAG}`]: 'false' } },
    },
  ];
}
