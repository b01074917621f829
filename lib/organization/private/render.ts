import { ProductionScope, ProductionScopeKind } from '../../guard/production-scope';
import { ProductionProtection, ProductionProtectionKind } from '../../guard/production-protection';
import { BOUNDARY_PRIORITY } from '../../guard/private/boundary-statements';
import { DESTRUCTIVE_CATALOG } from '../../shared/destructive-catalog.generated';
import { IAM_QUOTAS } from '../../shared/policy-size';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { isUnresolvedToken } from '../../shared/tokens';
import { AgentPrincipals } from '../agent-principals';
import { GuardItem, OrgGuardOptions, OrgStatement, forAgents, mergeStatements, rcpSupportedServices, unpackedStatements } from './org-statements';
import { documentOf, packItems } from './packing';

/**
 * The default budget: 2 SCPs and 2 RCPs, leaving room for the organization's own policies. The default guard fits;
 * agents named by ARN or role allow-lists can need a third SCP, which synth then asks for (never attached unasked).
 */
export const DEFAULT_BUDGET = Object.freeze({
  serviceControlPolicies: 2, resourceControlPolicies: 2, maxCharacters: IAM_QUOTAS.serviceControlPolicy,
});

/** SCPs (and RCPs) attached to one root, OU or account at most; FullAWSAccess takes one SCP slot. */
export const ORGANIZATION_POLICIES_PER_TARGET = 5;

export interface RenderOptions {
  readonly scope?: ProductionScope;
  readonly protection?: ProductionProtection;
  readonly agents?: AgentPrincipals;
  readonly allowedPassRoles?: readonly string[];
  readonly allowedAssumeRoles?: readonly string[];
  readonly serviceControlPolicies?: number;
  readonly resourceControlPolicies?: number;
  readonly maxCharacters?: number;
  /** Prefix of the policy names. */
  readonly namePrefix?: string;
  /** How the user raises the budget, in their words (a prop or a CLI option). */
  readonly raiseScps?: string;
  readonly raiseRcps?: string;
}

export type OrganizationPolicyType = 'SERVICE_CONTROL_POLICY' | 'RESOURCE_CONTROL_POLICY';

export interface RenderedPolicy {
  readonly name: string;
  readonly type: OrganizationPolicyType;
  /** Characters of `content`, as Organizations counts them. */
  readonly size: number;
  readonly document: { Version: string; Statement: OrgStatement[] };
  /** The document as written to Organizations (JSON without whitespace). */
  readonly content: string;
  /** Sids of the guard statements this policy carries (whole or in part). */
  readonly carries: string[];
}

export interface Coverage {
  /** Services the RCPs reach (from the IAM data). */
  readonly rcpServices: string[];
  /** How many services of the destructive catalog no RCP can reach. */
  readonly servicesOutsideRcps: number;
  /** The best-known of them, most critical first (EC2, RDS, Lambda, IAM, CloudFormation, ...). */
  readonly notableServicesOutsideRcps: string[];
  /** What protects those services from agents instead. */
  readonly coveredInstead: string;
  /** Limits that hold whatever the budget. */
  readonly notes: string[];
}

export interface RenderedOrganizationPolicies {
  readonly serviceControlPolicies: RenderedPolicy[];
  readonly resourceControlPolicies: RenderedPolicy[];
  /** The unpacked statements (agent condition included), for review and for the exactness tests. */
  readonly unpacked: { readonly serviceControlPolicy: OrgStatement[]; readonly resourceControlPolicy: OrgStatement[] };
  readonly coverage: Coverage;
  readonly agents: string;
}

export const COVERED_INSTEAD = 'the SCPs (for agent principals of member accounts, in every service) and the AgentRole guard on the role itself '
  + '(for agents of the management account, which SCPs never reach, and of accounts outside the organization)';

function validateBudget(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new GuardrailsError(GuardrailsErrorKind.INVALID_PROPS, `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}.`, {
      code: 'OrganizationGuardrails.InvalidBudget', received: JSON.stringify(value),
      fix: name.endsWith('maxCharacters')
        ? `Use at most ${IAM_QUOTAS.serviceControlPolicy}, the Organizations quota.`
        : `Give the number of policies you can attach (default ${DEFAULT_BUDGET.serviceControlPolicies}).`,
    });
  }
}

function validateRoleList(name: string, arns: readonly string[]): string[] {
  for (const arn of arns) {
    if (typeof arn !== 'string' || isUnresolvedToken(arn) || !/^arn:(\*|aws[a-z-]*):iam::(\*|\d{12}):role\/\S+$/.test(arn)) {
      const message = `${name}: ${JSON.stringify(arn)} is not an IAM role ARN (or ARN pattern) written out.`;
      throw new GuardrailsError(GuardrailsErrorKind.INVALID_PROPS, message, {
        code: 'OrganizationGuardrails.InvalidRoleArn', received: JSON.stringify(arn),
        fix: 'Write role ARNs such as arn:aws:iam::123456789012:role/deployer or arn:aws:iam::*:role/agent-sandbox-*; '
          + 'deploy-time values cannot be measured against the quota.',
      });
    }
  }
  return [...arns];
}

function packAs(type: OrganizationPolicyType, statements: readonly OrgStatement[], agents: AgentPrincipals,
  budget: number, limit: number, prefix: string, raise: string): { rendered: RenderedPolicy[]; unpacked: OrgStatement[] } {
  const rcp = type === 'RESOURCE_CONTROL_POLICY';
  const items: GuardItem[] = mergeStatements(statements).map((i) => ({ statement: forAgents(i.statement, agents, rcp), carries: i.carries }));
  const unpacked = items.map((i) => i.statement);
  if (budget === 0) return { rendered: [], unpacked };
  const what = rcp ? 'resource control policies' : 'service control policies';
  const packed = packItems(items, { what, limit, budget, raise });
  const rendered = packed.map((p, i) => {
    const document = documentOf(p.statements);
    const content = JSON.stringify(document);
    return {
      name: `${prefix}-${rcp ? 'rcp' : 'scp'}-${i + 1}`, type, size: content.length, document, content,
      carries: [...new Set(p.carries.flat())],
    };
  });
  return { rendered, unpacked };
}

function coverage(scope: ProductionScope, protection: ProductionProtection, agents: AgentPrincipals, rcps: number): Coverage {
  const rcpServices = rcpSupportedServices();
  const inRcp = new Set(rcpServices);
  const catalogServices = [...new Set(DESTRUCTIVE_CATALOG.map(([a]) => a.split(':')[0].toLowerCase()))];
  const outside = catalogServices.filter((s) => !inRcp.has(s));
  const notable = [...new Set(['ec2', 'rds', 'lambda', 'iam', 'cloudformation', ...BOUNDARY_PRIORITY])].filter((s) => !inRcp.has(s));
  const notes = [
    'SCPs never apply to the management account, nor to service-linked roles; RCPs never apply to resources of the management account.',
    `Agents are ${agents.description}; every other principal (people, pipelines, AWS services) is unaffected.`,
    'Grants an AgentRole makes on specific production resources (agent.allow) are not known to the organization: '
      + 'on production, the organization guard leaves agents reads and creations of disposable resources; '
      + 'changes go through an ApprovalGate, whose role is no agent.',
  ];
  if (rcps === 0) notes.push('No RCPs: production resources are not protected from agents of other accounts or of the management account.');
  if (scope.kind === ProductionScopeKind.TAGGED_ONLY) {
    notes.push('The tagged-only scope is weaker: actions whose request context carries no tag are denied nowhere by the organization guard.');
  }
  if (protection.kind !== ProductionProtectionKind.READ_ONLY) {
    notes.push(`The no-destruction protection is weaker: agents can still stop, isolate or overwrite production (${protection.justification}).`);
  }
  return { rcpServices, servicesOutsideRcps: outside.length, notableServicesOutsideRcps: notable, coveredInstead: COVERED_INSTEAD, notes };
}

/**
 * Renders the organization guard: the SCPs and RCPs within the budget, or a QUOTA GuardrailsError
 * naming what does not fit; bad options are INVALID_PROPS errors.
 */
export function renderOrganizationPolicies(options: RenderOptions = {}): RenderedOrganizationPolicies {
  const scps = options.serviceControlPolicies ?? DEFAULT_BUDGET.serviceControlPolicies;
  const rcps = options.resourceControlPolicies ?? DEFAULT_BUDGET.resourceControlPolicies;
  const limit = options.maxCharacters ?? DEFAULT_BUDGET.maxCharacters;
  validateBudget('budget.serviceControlPolicies', scps, 1, 50);
  validateBudget('budget.resourceControlPolicies', rcps, 0, 50);
  validateBudget('budget.maxCharacters', limit, 500, IAM_QUOTAS.serviceControlPolicy);
  const guard: OrgGuardOptions = {
    scope: options.scope ?? ProductionScope.failClosed(),
    protection: options.protection ?? ProductionProtection.readOnly(),
    agents: options.agents ?? AgentPrincipals.tagged(),
    allowedPassRoles: validateRoleList('allowedPassRoles', options.allowedPassRoles ?? []),
    allowedAssumeRoles: validateRoleList('allowedAssumeRoles', options.allowedAssumeRoles ?? []),
  };
  const prefix = options.namePrefix ?? 'agent-guardrails';
  const statements = unpackedStatements(guard);
  const perTarget = `a root, OU or account takes ${ORGANIZATION_POLICIES_PER_TARGET}`;
  const scp = packAs('SERVICE_CONTROL_POLICY', statements.map((s) => s.scp), guard.agents, scps, limit, prefix,
    options.raiseScps ?? `Raise the SCP budget (${perTarget} SCPs, one of them FullAWSAccess; `
      + 'SCPs at the root, OUs and account all apply, so spread them across levels).');
  const rcp = packAs('RESOURCE_CONTROL_POLICY', statements.flatMap((s) => (s.rcp ? [s.rcp] : [])), guard.agents, rcps, limit, prefix,
    options.raiseRcps ?? `Raise the RCP budget (${perTarget} RCPs besides RCPFullAWSAccess; RCPs at every level apply).`);
  return {
    serviceControlPolicies: scp.rendered,
    resourceControlPolicies: rcp.rendered,
    unpacked: { serviceControlPolicy: scp.unpacked, resourceControlPolicy: rcp.unpacked },
    coverage: coverage(guard.scope, guard.protection, guard.agents, rcps),
    agents: guard.agents.description,
  };
}

/** A short report of what each policy carries, and what RCPs cannot reach. */
export function reportLines(rendered: RenderedOrganizationPolicies, limit: number): string[] {
  const lines: string[] = [];
  for (const p of [...rendered.serviceControlPolicies, ...rendered.resourceControlPolicies]) {
    lines.push(`${p.name} (${p.type === 'SERVICE_CONTROL_POLICY' ? 'SCP' : 'RCP'}, ${p.size} of ${limit} characters): ${p.carries.join(', ')}`);
  }
  const c = rendered.coverage;
  lines.push(`RCPs reach ${c.rcpServices.length} services; ${c.servicesOutsideRcps} services of the destructive catalog are outside them, `
    + `among them ${c.notableServicesOutsideRcps.slice(0, 12).join(', ')}: those are covered by ${c.coveredInstead}.`);
  lines.push(...c.notes);
  return lines;
}
