import { CfnResource, PolicyValidationPluginReport } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NagMessageLevel as NagMessageLevelType, NagPackProps, NagRuleResult } from 'cdk-nag';
import { NagMessageLevel, NagPack } from './private/nag';
import { IConstruct } from 'constructs';
import { approvalRequesterCanApprove } from './rules/approval-requester-can-approve';
import { approvalWaitWithoutTimeout } from './rules/approval-wait-without-timeout';
import { agentBroadManagedPolicy } from './rules/agent-broad-managed-policy';
import { agentCanHarmProduction } from './rules/agent-can-harm-production';
import { agentGuardWeakScope } from './rules/agent-guard-weak-scope';
import { agentLongSession } from './rules/agent-long-session';
import { agentPassOrAssumeAnyRole } from './rules/agent-pass-or-assume-any-role';
import { agentRoleWithoutGuard } from './rules/agent-role-without-guard';
import { agentTrustWithoutSourceIdentity } from './rules/agent-trust-without-source-identity';
import { agentWildcardGrants } from './rules/agent-wildcard-grants';
import { agentWithoutBoundary } from './rules/agent-without-boundary';
import { CheckContext } from './private/check-context';
import { productionBucketVersioning } from './rules/production-bucket-versioning';
import { productionDatabaseDeletionProtection } from './rules/production-database-deletion-protection';
import { productionKeyPendingWindow } from './rules/production-key-pending-window';
import { productionRemovalPolicyDestroy } from './rules/production-removal-policy-destroy';
import { productionStackTerminationProtection } from './rules/production-stack-termination-protection';
import { productionTableProtection } from './rules/production-table-protection';
import { ProductionScope } from '../guard/production-scope';

/** Properties of the AgentGuardrailsChecks pack. */
export interface AgentGuardrailsChecksProps extends NagPackProps {
  /**
   * Roles that are agents whatever their trust policy and tags.
   * @default - none beyond AgentRoles, roles trusted by agent services and roles tagged `guardrails:agent`
   */
  readonly agentRoles?: iam.IRole[];
  /**
   * Construct paths of roles (the role or its CfnRole) that are agents.
   * @default - none
   */
  readonly agentRolePaths?: string[];
  /**
   * Further service principals whose roles are agents, besides Bedrock, Bedrock AgentCore and Amazon Q.
   * @default - none
   */
  readonly agentServicePrincipals?: string[];
  /**
   * Which resources are production, for the production-resource rules.
   * @default ProductionScope.failClosed(): every resource not tagged `environment` = dev, development, test, sandbox
   * or ephemeral (on itself or its stack)
   */
  readonly production?: ProductionScope;
}

/** One rule of the pack: its id suffix, level, messages and function. */
interface PackRule {
  readonly id: string;
  readonly level: NagMessageLevelType;
  readonly info: string;
  readonly explanation: string;
  readonly check: (node: CfnResource, ctx: CheckContext) => NagRuleResult;
}

/** The pack's name; rule ids are `AgentGuardrails-<id>`, findings `AgentGuardrails-<id>[<finding>]`. */
export const AGENT_GUARDRAILS_PACK_NAME = 'AgentGuardrails';

const RULES: readonly PackRule[] = [
  {
    id: 'AG1',
    level: NagMessageLevel.ERROR,
    check: agentRoleWithoutGuard,
    info: 'The agent role has no production guard attached: it can destroy production resources.',
    explanation:
      'An AI agent will use any permission it holds, including deleting production. Use AgentRole, or apply the GuardAgents aspect ' +
      '(Aspects.of(app).add(new GuardAgents())) to attach the fail-closed production guard, the escalation denies and a permissions boundary.',
  },
  {
    id: 'AG2',
    level: NagMessageLevel.WARN,
    check: agentGuardWeakScope,
    info: 'The agent role is guarded only in the tagged-only scope: resources without the production tag are not protected.',
    explanation:
      'Fail closed: unknown, untagged and untaggable resources must count as production. Use ProductionScope.failClosed() (the default), or ' +
      'acknowledge this finding with the reason.',
  },
  {
    id: 'AG3',
    level: NagMessageLevel.ERROR,
    check: agentWildcardGrants,
    info:
      'The agent role is granted wildcard or unknown actions, NotAction/NotResource, or Resource "*" on actions that support resource-level ' +
      'permissions (finding: what was granted).',
    explanation:
      'Least privilege is checked, not hoped for. Grant named actions on the ARNs they need (AgentRole.allow), or record a deliberate broad grant ' +
      'with a justification (AgentRole.allowBroad, or acknowledge the finding with the reason).',
  },
  {
    id: 'AG4',
    level: NagMessageLevel.ERROR,
    check: agentBroadManagedPolicy,
    info:
      'The agent role has a broad AWS managed policy attached (AdministratorAccess, PowerUserAccess, *FullAccess, *PowerUser*, administrator ' +
      'job functions).',
    explanation:
      'These policies grant destructive actions on whole services. Replace the policy with least-privilege grants; the production guard still ' +
      'applies, but the agent should not hold what it does not need.',
  },
  {
    id: 'AG5',
    level: NagMessageLevel.ERROR,
    check: agentWithoutBoundary,
    info: 'The agent role has no permissions boundary.',
    explanation:
      'A boundary keeps every later grant (a managed policy someone attaches, a CDK grant) inside the guardrails. Use AgentRole or GuardAgents, ' +
      'which set one.',
  },
  {
    id: 'AG6',
    level: NagMessageLevel.ERROR,
    check: agentPassOrAssumeAnyRole,
    info: 'The agent role can pass (iam:PassRole) or assume (sts:AssumeRole) any role.',
    explanation:
      'Borrowing a stronger role (CDK deploy roles, service roles) escapes every guard on the agent. Deny both outside an allow-list of specific ' +
      'role ARNs: AgentRole allowedPassRoles/allowedAssumeRoles, or GuardAgents.',
  },
  {
    id: 'AG7',
    level: NagMessageLevel.ERROR,
    check: agentLongSession,
    info: 'The agent role allows sessions longer than one hour without a recorded justification.',
    explanation:
      'Long sessions outlive revocation and approvals. Keep maxSessionDuration at one hour, or use AgentRole with longSessionJustification (or ' +
      'acknowledge this rule with the reason).',
  },
  {
    id: 'AG8',
    level: NagMessageLevel.ERROR,
    check: agentTrustWithoutSourceIdentity,
    info:
      "The agent role's trust policy lets a principal assume it without a source identity (AWS, federated) or without aws:SourceAccount / " +
      'aws:SourceArn pinning (AWS services) (finding: the principal).',
    explanation:
      'Every agent action must be attributable to a session. Require sts:SourceIdentity in the trust policy for people and runners; pin service ' +
      'principals with aws:SourceAccount or aws:SourceArn, which also stops the confused deputy.',
  },
  {
    id: 'AG9',
    level: NagMessageLevel.ERROR,
    check: agentCanHarmProduction,
    info:
      'The agent role can take production down: it can perform an action of a harmful class (destroy, overwrite, disrupt, isolate, ' +
      'redirect, reconfigure, run code as another identity, blind the guardrails) on a production resource of the app (finding: the class, ' +
      'the resource, the actions and the statements that allow them).',
    explanation:
      "Decided as `verify` decides it, by evaluating the synthesized policies under each action's real request context. Production is " +
      'read-only to an agent except what is explicitly granted on that resource: remove the broad grant, use AgentRole or GuardAgents (the ' +
      'production guard denies every harmful class), or route the operation through an ApprovalGate.',
  },
  {
    id: 'AP1',
    level: NagMessageLevel.ERROR,
    check: (node) => approvalWaitWithoutTimeout(node),
    info: 'A workflow waits for an approval (a .waitForTaskToken task) without a literal TimeoutSeconds (finding: the state).',
    explanation:
      'An approval must end in "not done" when nobody decides; without a timeout the wait lasts up to a year, and a timeout read from a path comes ' +
      'from the request. Use ApprovalGate (timeout bounded by construction), or set TimeoutSeconds on the task.',
  },
  {
    id: 'AP2',
    level: NagMessageLevel.ERROR,
    check: approvalRequesterCanApprove,
    info:
      "An approval gate can be approved by someone who can request through it: an approver is a role that may start the gate's workflow, an " +
      'agent role, or the account root / "*" (finding: the approver).',
    explanation:
      'High-risk actions go through a human: whoever requests must never approve. Name the roles or users of people as approvers, and grant ' +
      'requests only to agents (ApprovalGate.grantRequest).',
  },
  {
    id: 'PR1',
    level: NagMessageLevel.ERROR,
    check: productionDatabaseDeletionProtection,
    info: 'The production RDS instance or Aurora cluster has deletion protection off.',
    explanation: "Deletion protection is the database's own last line of defence when every policy failed. Set deletionProtection: true.",
  },
  {
    id: 'PR2',
    level: NagMessageLevel.ERROR,
    check: productionTableProtection,
    info: 'The production DynamoDB table lacks deletion protection or point-in-time recovery (finding: which).',
    explanation:
      'Set deletionProtection: true and point-in-time recovery on, so the table can neither be deleted in one call nor lose its data to a bulk ' +
      'delete.',
  },
  {
    id: 'PR3',
    level: NagMessageLevel.ERROR,
    check: productionBucketVersioning,
    info: 'The production S3 bucket has versioning off.',
    explanation: 'Without versioning an overwrite or delete is final. Set versioned: true.',
  },
  {
    id: 'PR4',
    level: NagMessageLevel.ERROR,
    check: productionKeyPendingWindow,
    info: 'The production KMS key has the shortest pending window (7 days) before deletion.',
    explanation:
      'Deleting a key destroys every piece of data encrypted under it; a scheduled deletion must be noticed before it happens. Keep the default of ' +
      '30 days or set pendingWindow above 7 days.',
  },
  {
    id: 'PR5',
    level: NagMessageLevel.ERROR,
    check: productionStackTerminationProtection,
    info: 'The stack holds stateful production resources and has termination protection off.',
    explanation: 'Deleting the stack deletes its resources. Set terminationProtection: true on the stack.',
  },
  {
    id: 'PR6',
    level: NagMessageLevel.ERROR,
    check: productionRemovalPolicyDestroy,
    info:
      'The stateful production resource is deleted when it leaves the template or is replaced (removal policy DESTROY, or no policy) (finding: ' +
      'which policy).',
    explanation: 'Set removalPolicy: RemovalPolicy.RETAIN (or SNAPSHOT where supported) so a template change cannot delete production data.',
  },
];

/** The rule's text with `(finding: what it is)` replaced by the value found (a rule without the placeholder gets it appended). */
export function withFinding(info: string, value: string): string {
  const placeholder = /\(finding: [^)]*\)/;
  return placeholder.test(info) ? info.replace(placeholder, `(${value})`) : `${info} (${value})`;
}

/** The pack's rules: id, level and what each checks, for documentation and tests. */
export interface AgentGuardrailsRule {
  /** The full rule id, `AgentGuardrails-<suffix>`. */
  readonly id: string;
  /** The level of its findings. */
  readonly level: NagMessageLevelType;
  /** What the rule reports. */
  readonly info: string;
  /** Why, and how to fix it. */
  readonly explanation: string;
}

/**
 * cdk-nag 3 rule pack: finds every AI agent role in an app (AgentRoles, roles trusted by Bedrock,
 * Bedrock AgentCore or Amazon Q, roles tagged `guardrails:agent`, roles you name) and fails synth
 * when one could destroy production; checks that production resources keep their own last line of
 * defence. Register with `Validations.of(app).addPlugins(new AgentGuardrailsChecks(app))`.
 */
export class AgentGuardrailsChecks extends NagPack {
  /** Every rule of the pack, in order. */
  public static rules(): AgentGuardrailsRule[] {
    return RULES.map((r) => ({ id: `${AGENT_GUARDRAILS_PACK_NAME}-${r.id}`, level: r.level, info: r.info, explanation: r.explanation }));
  }

  public readonly name = AGENT_GUARDRAILS_PACK_NAME;
  public readonly ruleIds: string[] = RULES.map((r) => `${AGENT_GUARDRAILS_PACK_NAME}-${r.id}`);

  private readonly props: AgentGuardrailsChecksProps;
  private context?: CheckContext;

  /**
   * @param scope the app (or stage) the pack validates; optional, as in cdk-nag
   * @param props verbose defaults to true here: "cannot decide" findings then say what was unknown
   */
  constructor(scope?: IConstruct, props: AgentGuardrailsChecksProps = {}) {
    super(scope, { ...props, verbose: props.verbose ?? true });
    this.packName = AGENT_GUARDRAILS_PACK_NAME;
    this.props = props;
  }

  /** Validates a construct tree (after synthesis, so that tags are applied). */
  public validateScope(scope: IConstruct): PolicyValidationPluginReport {
    this.context = new CheckContext(scope, this.props, this.props.production ?? ProductionScope.failClosed());
    try {
      return super.validateScope(scope);
    } finally {
      this.context = undefined;
    }
  }

  protected checkResource(node: CfnResource): void {
    const ctx = this.context ?? new CheckContext(node.node.root, this.props, this.props.production ?? ProductionScope.failClosed());
    for (const rule of RULES) {
      const apply = (info: string, check: (n: CfnResource) => NagRuleResult) =>
        this.applyRule({ ruleSuffixOverride: rule.id, info, explanation: rule.explanation, level: rule.level, node, rule: check });
      let result: NagRuleResult;
      try {
        result = rule.check(node, ctx);
      } catch (e) {
        apply(rule.info, () => {
          throw e;
        });
        continue;
      }
      if (!Array.isArray(result)) {
        apply(rule.info, () => result);
        continue;
      }
      // One message per finding, with the concrete value where the rule's text names what the finding is.
      for (const finding of result) {
        apply(withFinding(rule.info, ctx.findingDetails.get(`${node.node.path}|${finding}`) ?? finding), () => [finding]);
      }
    }
  }
}
