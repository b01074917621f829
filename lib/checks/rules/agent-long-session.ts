import { CfnResource } from 'aws-cdk-lib';
import type { NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { BROAD_GRANT_METADATA, DEFAULT_AGENT_SESSION } from '../../guard/agent-role';
import { resolvePrimitive } from '../private/cannot-decide';
import { CheckContext } from '../private/check-context';

/**
 * An agent role's sessions last no longer than the library's default (one hour), unless an
 * AgentRole recorded a written justification (longSessionJustification).
 */
export function agentLongSession(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const role = ctx.agentRole(node);
  if (!role) return NagRuleCompliance.NOT_APPLICABLE;
  // Throws (cannot decide) when the duration is only known at deploy time.
  const seconds = resolvePrimitive(role, role.maxSessionDuration, 'MaxSessionDuration') as number | undefined;
  if (seconds === undefined || seconds <= DEFAULT_AGENT_SESSION.toSeconds()) return NagRuleCompliance.COMPLIANT;
  const justified = (role.node.scope?.node.metadata ?? []).some(
    (m) =>
      m.type === BROAD_GRANT_METADATA &&
      (m.data as { kind?: string; maxSessionSeconds?: number })?.kind === 'long-session' &&
      (m.data as { maxSessionSeconds?: number }).maxSessionSeconds === seconds,
  );
  return justified ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
