import { ProductionScope } from '../../guard/production-scope';
import { escalationStatements } from '../../guard/private/escalation-statements';
import { AGENT_TAG } from '../../shared/tags';
import { dataGuardStatements, staticGuardStatements } from '../../guard/private/guard-statements';
import { IAM_QUOTAS, StatementJson, packStatements, policyDocument } from '../../shared/policy-size';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';

/**
 * The production guard as service control policies for AWS Organizations. Every statement applies
 * only to agent principals, identified by the `guardrails:agent` principal tag (an SCP cannot name
 * the roles of every account). The statements are packed into as few SCPs as fit the 5,120
 * character quota, split where they must be, never dropped.
 */

/** SCPs a target can have attached; FullAWSAccess (or an allow-list SCP) takes one of them. */
export const SCP_ATTACHMENT_QUOTA = 5;

export interface ScpOptions {
  readonly scope: ProductionScope;
  /** Also deny the escalation and tampering paths that do not depend on an agent's own allow-list. */
  readonly withEscalation: boolean;
  /** How many guard SCPs the user can attach (across the root, OUs and the account). */
  readonly maxPolicies: number;
}

export interface RenderedScp {
  readonly name: string;
  /** Characters of the document as written (minified JSON), as Organizations counts them through the API. */
  readonly size: number;
  readonly document: { Version: string; Statement: StatementJson[] };
}

/** Restricts a statement to agent principals: a Null check on the agent tag, merged with its conditions. */
export function forAgentsOnly(statement: StatementJson): StatementJson {
  const condition = { ...(statement.Condition ?? {}) };
  condition.Null = { ...(condition.Null ?? {}), [`aws:PrincipalTag/${AGENT_TAG}`]: 'false' };
  return { ...statement, Condition: condition };
}

/** The guard's statements (and optionally the escalation denies), before packing. */
export function scpStatements(options: Pick<ScpOptions, 'scope' | 'withEscalation'>): StatementJson[] {
  const statements = [...staticGuardStatements(options.scope), ...dataGuardStatements(options.scope, new Map())];
  if (options.withEscalation) {
    // Denies of PassRole/AssumeRole outside an allow-list depend on each agent: they stay on the role.
    statements.push(
      ...escalationStatements({ allowedPassRoles: [], allowedAssumeRoles: [] }).filter(
        (s) => s.Sid !== 'DenyPassRoleOutsideAllowList' && s.Sid !== 'DenyAssumeRoleOutsideAllowList',
      ),
    );
  }
  return statements.map(forAgentsOnly);
}

/** Renders the SCPs; throws VerifyInputError when they do not fit the quota. */
export function renderServiceControlPolicies(options: ScpOptions): RenderedScp[] {
  const statements = scpStatements(options);
  let packed: StatementJson[][];
  try {
    packed = packStatements(statements, IAM_QUOTAS.serviceControlPolicy);
  } catch (e) {
    throw new GuardrailsError(
      GuardrailsErrorKind.QUOTA,
      `the production guard cannot be rendered as service control policies: ${(e as Error).message}. Nothing was dropped to fit.`,
    );
  }
  const policies = packed.map((s, i) => {
    const document = policyDocument(s);
    return { name: `agent-guardrails-production-guard-${i + 1}`, size: JSON.stringify(document).length, document };
  });
  const oversized = policies.filter((p) => p.size > IAM_QUOTAS.serviceControlPolicy);
  if (oversized.length > 0) {
    throw new GuardrailsError(
      GuardrailsErrorKind.QUOTA,
      `${oversized.map((p) => `${p.name} is ${p.size} characters`).join(', ')}, over the SCP quota of ${IAM_QUOTAS.serviceControlPolicy}. Nothing ` +
        `was dropped to fit; report this as a bug.`,
    );
  }
  if (policies.length > options.maxPolicies) {
    throw new GuardrailsError(
      GuardrailsErrorKind.QUOTA,
      `the production guard needs ${policies.length} service control policies of at most ${IAM_QUOTAS.serviceControlPolicy} characters, more than ` +
        `--max-policies ${options.maxPolicies}. ` +
        `A target can have ${SCP_ATTACHMENT_QUOTA} SCPs attached, one of them FullAWSAccess; SCPs at the root, the OUs and the account all apply, ` +
        `so spread them across levels ` +
        'and raise --max-policies to the number you can attach. Nothing was dropped to fit.',
    );
  }
  return policies;
}
