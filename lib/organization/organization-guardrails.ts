import { Annotations, Token } from 'aws-cdk-lib';
import * as cloudformation from 'aws-cdk-lib/aws-cloudformation';
import * as organizations from 'aws-cdk-lib/aws-organizations';
import { Construct } from 'constructs';
import { ProductionProtection } from '../guard/production-protection';
import { ProductionScope } from '../guard/production-scope';
import { GuardrailsError, invalidProps } from '../shared/errors';
import { GUARDRAIL_COMPONENT_TAG } from '../shared/tags';
import { AgentPrincipals } from './agent-principals';
import { DEFAULT_BUDGET, RenderedOrganizationPolicies, RenderedPolicy, renderOrganizationPolicies, reportLines } from './private/render';

/** How many organization policies, of how many characters, the guard may use. */
export interface OrganizationPolicyBudget {
  /**
   * Service control policies the guard may use. A root, OU or account takes 5 SCPs, one of them
   * FullAWSAccess, and the organization needs some for its own policies. The default guard fits
   * in 2; agents named by ARN or role allow-lists can need 3 (synth fails naming what does not fit).
   * @default 2
   */
  readonly serviceControlPolicies?: number;
  /**
   * Resource control policies the guard may use; 0 renders none (when RCPs are not enabled in the
   * organization: agents of other accounts and of the management account then meet no RCP).
   * @default 2
   */
  readonly resourceControlPolicies?: number;
  /**
   * Characters per policy, at most the Organizations quota of 5,120.
   * @default 5120
   */
  readonly maxCharacters?: number;
}

/** Rolls out the per-account parts of the guardrails to member accounts with a service-managed StackSet. */
export interface MemberAccountRollout {
  /**
   * HTTPS URL (in S3) of the template to deploy in every member account: for example a synthesized
   * stack holding an `AuditTrail` and a `CircuitBreaker`, uploaded by your pipeline.
   */
  readonly templateUrl: string;
  /** OUs (or the root) whose accounts get the stack, including accounts added to them later. */
  readonly organizationalUnitIds: string[];
  /** Regions to deploy to in each account. */
  readonly regions: string[];
  /**
   * Parameters of the template.
   * @default - none
   */
  readonly parameters?: Record<string, string>;
  /**
   * Name of the StackSet.
   * @default `${policyNamePrefix}-member-guardrails`
   */
  readonly stackSetName?: string;
  /**
   * Deploy as a delegated administrator of StackSets rather than from the management account.
   * @default false
   */
  readonly asDelegatedAdministrator?: boolean;
}

/** Properties of OrganizationGuardrails. */
export interface OrganizationGuardrailsProps {
  /** The roots (`r-...`), OUs (`ou-...`) or accounts (12 digits) to attach the policies to. */
  readonly targetIds: string[];
  /**
   * Which resources are production.
   * @default ProductionScope.failClosed()
   */
  readonly scope?: ProductionScope;
  /**
   * How much agents may do to production.
   * @default ProductionProtection.readOnly()
   */
  readonly protection?: ProductionProtection;
  /**
   * Which principals are agents.
   * @default AgentPrincipals.tagged() - principals tagged `guardrails:agent`
   */
  readonly agentPrincipals?: AgentPrincipals;
  /**
   * Role ARNs (or ARN patterns) any agent of the organization may pass to a service.
   * @default - none: agents pass no role
   */
  readonly allowedPassRoles?: string[];
  /**
   * Role ARNs (or ARN patterns) any agent of the organization may assume. A role assumed this way
   * is no agent unless it carries the agent tag too: tag such roles `guardrails:agent`.
   * @default - none: agents assume no role
   */
  readonly allowedAssumeRoles?: string[];
  /**
   * How many policies of how many characters the guard may use.
   * @default - 2 SCPs and 2 RCPs of 5,120 characters
   */
  readonly budget?: OrganizationPolicyBudget;
  /**
   * Prefix of the policy names (unique in the organization).
   * @default 'agent-guardrails'
   */
  readonly policyNamePrefix?: string;
  /**
   * Deploy the per-account parts (audit trail, circuit breaker) to member accounts.
   * @default - no StackSet
   */
  readonly memberAccountRollout?: MemberAccountRollout;
}

const TARGET_ID = /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|\d{12})$/;
const OU_ID = /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[0-9a-z]{8,32})$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * The guardrails for every account of an AWS Organization, deployed from the management (or a
 * delegated administrator) account: the production guard, the escalation and tampering denies and
 * the read-only protection of production as service control policies for agent principals of
 * member accounts, and, for the services RCPs support, as resource control policies protecting
 * production resources from agent principals of any account. Packed into the budget (default
 * 2 SCPs and 2 RCPs) with nothing dropped: synth fails naming what does not fit.
 *
 * The policies are tagged as guardrail components, so agents cannot change or detach them.
 */
export class OrganizationGuardrails extends Construct {
  /** The service control policies, attached to every target. */
  public readonly serviceControlPolicies: organizations.CfnPolicy[];
  /** The resource control policies, attached to every target. */
  public readonly resourceControlPolicies: organizations.CfnPolicy[];
  /** The StackSet rolling out the per-account parts, when asked for. */
  public readonly memberStackSet?: cloudformation.CfnStackSet;
  /** What each policy carries and what RCPs cannot reach, one line each. */
  public readonly report: string[];
  /** Services the RCPs reach. */
  public readonly rcpServices: string[];

  constructor(scope: Construct, id: string, props: OrganizationGuardrailsProps) {
    super(scope, id);
    const targets = validateTargets(this, props.targetIds, 'targetIds', TARGET_ID);
    const prefix = props.policyNamePrefix ?? 'agent-guardrails';
    if (typeof prefix !== 'string' || !/^[A-Za-z0-9+=,.@_-]{1,100}$/.test(prefix)) {
      const message = `OrganizationGuardrails: policyNamePrefix ${JSON.stringify(prefix)} is not a valid policy name prefix.`;
      throw invalidProps('OrganizationGuardrails.InvalidName', message, {
        constructPath: this.node.path, received: JSON.stringify(prefix), fix: 'Use 1 to 100 letters, digits and +=,.@_-.',
      });
    }
    const budget = props.budget ?? {};
    const limit = budget.maxCharacters ?? DEFAULT_BUDGET.maxCharacters;
    let rendered: RenderedOrganizationPolicies;
    try {
      rendered = renderOrganizationPolicies({
        scope: props.scope, protection: props.protection, agents: props.agentPrincipals,
        allowedPassRoles: props.allowedPassRoles, allowedAssumeRoles: props.allowedAssumeRoles,
        serviceControlPolicies: budget.serviceControlPolicies,
        resourceControlPolicies: budget.resourceControlPolicies,
        maxCharacters: budget.maxCharacters,
        namePrefix: prefix,
        raiseScps: 'Raise budget.serviceControlPolicies (a target takes 5 SCPs, one of them FullAWSAccess; '
          + 'SCPs at the root, OUs and account all apply).',
        raiseRcps: 'Raise budget.resourceControlPolicies (a target takes 5 RCPs besides RCPFullAWSAccess).',
      });
    } catch (e) {
      if (!GuardrailsError.isGuardrailsError(e)) throw e;
      throw new GuardrailsError(e.kind, `OrganizationGuardrails ${this.node.path}: ${e.message}`, {
        code: e.code, constructPath: this.node.path, received: e.received, fix: e.fix,
      });
    }
    const idOf = (p: RenderedPolicy, i: number) => `${p.type === 'SERVICE_CONTROL_POLICY' ? 'Scp' : 'Rcp'}${i + 1}`;
    const policy = (p: RenderedPolicy, i: number) => new organizations.CfnPolicy(this, idOf(p, i), {
      name: p.name,
      type: p.type,
      description: `cdk-agent-guardrails: ${p.carries.join(', ')}`.slice(0, 512),
      // CloudFormation's Organizations provider writes an object with Jackson's defaults: no whitespace and the
      // keys in order, the very characters measured against the quota here (`p.size`, JSON.stringify).
      content: p.document,
      targetIds: targets,
      tags: [{ key: GUARDRAIL_COMPONENT_TAG, value: 'organization-guardrails' }],
    });
    this.serviceControlPolicies = rendered.serviceControlPolicies.map(policy);
    this.resourceControlPolicies = rendered.resourceControlPolicies.map(policy);
    this.report = reportLines(rendered, limit);
    this.rcpServices = rendered.coverage.rcpServices;
    for (const note of rendered.coverage.notes.filter((n) => /weaker|No RCPs/.test(n))) {
      Annotations.of(this).addWarningV2('cdk-agent-guardrails:organization-weak', note);
    }
    Annotations.of(this).addInfoV2('cdk-agent-guardrails:organization-coverage', this.report.join('\n'));
    if (props.memberAccountRollout) {
      this.memberStackSet = this.rollout(props.memberAccountRollout, prefix);
    }
  }

  private rollout(rollout: MemberAccountRollout, prefix: string): cloudformation.CfnStackSet {
    if (typeof rollout.templateUrl !== 'string' || (!Token.isUnresolved(rollout.templateUrl) && !/^https:\/\/\S+$/.test(rollout.templateUrl))) {
      const message = `OrganizationGuardrails: memberAccountRollout.templateUrl ${JSON.stringify(rollout.templateUrl)} is not an HTTPS URL.`;
      throw invalidProps('OrganizationGuardrails.InvalidTemplateUrl', message, {
        constructPath: this.node.path, received: JSON.stringify(rollout.templateUrl), fix: 'Pass the https:// URL of the template in S3.',
      });
    }
    const ous = validateTargets(this, rollout.organizationalUnitIds, 'memberAccountRollout.organizationalUnitIds', OU_ID);
    const regions = rollout.regions ?? [];
    if (!Array.isArray(regions) || regions.length === 0 || regions.some((r) => !Token.isUnresolved(r) && !REGION.test(r))) {
      const message = `OrganizationGuardrails: memberAccountRollout.regions must list AWS regions, got ${JSON.stringify(regions)}.`;
      throw invalidProps('OrganizationGuardrails.InvalidRegions', message, {
        constructPath: this.node.path, received: JSON.stringify(regions), fix: 'Pass regions such as ["us-east-1", "eu-west-1"].',
      });
    }
    return new cloudformation.CfnStackSet(this, 'MemberStackSet', {
      stackSetName: rollout.stackSetName ?? `${prefix}-member-guardrails`,
      description: 'cdk-agent-guardrails: per-account guardrails (audit trail, circuit breaker), deployed to every account of the OUs, '
        + 'new ones included',
      permissionModel: 'SERVICE_MANAGED',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs: rollout.asDelegatedAdministrator ? 'DELEGATED_ADMIN' : 'SELF',
      capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      managedExecution: { Active: true },
      operationPreferences: { failureTolerancePercentage: 0, maxConcurrentPercentage: 25, regionConcurrencyType: 'PARALLEL' },
      templateUrl: rollout.templateUrl,
      parameters: Object.entries(rollout.parameters ?? {}).map(([parameterKey, parameterValue]) => ({ parameterKey, parameterValue })),
      stackInstancesGroup: [{ deploymentTargets: { organizationalUnitIds: ous }, regions }],
      tags: [{ key: GUARDRAIL_COMPONENT_TAG, value: 'organization-guardrails' }],
    });
  }
}

function validateTargets(construct: Construct, ids: readonly string[] | undefined, name: string, pattern: RegExp): string[] {
  if (!Array.isArray(ids) || ids.length === 0) {
    throw invalidProps('OrganizationGuardrails.NoTargets', `OrganizationGuardrails: ${name} is empty.`, {
      constructPath: construct.node.path, received: JSON.stringify(ids),
      fix: 'Name the root (r-...), OUs (ou-...-...) or accounts (12 digits) to protect; the policies do nothing unattached.',
    });
  }
  for (const id of ids) {
    if (typeof id !== 'string' || (!Token.isUnresolved(id) && !pattern.test(id))) {
      throw invalidProps('OrganizationGuardrails.InvalidTarget', `OrganizationGuardrails: ${name} contains ${JSON.stringify(id)}, which is not ${
        pattern === OU_ID ? 'a root or OU ID' : 'a root, OU or account ID'}.`, {
        constructPath: construct.node.path, received: JSON.stringify(id),
        fix: pattern === OU_ID ? 'Use IDs such as r-ab12 or ou-ab12-cd34ef56.' : 'Use IDs such as r-ab12, ou-ab12-cd34ef56 or 123456789012.',
      });
    }
  }
  return [...new Set(ids)];
}
