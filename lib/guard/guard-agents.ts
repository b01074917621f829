import { Annotations, IAspect } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { AgentRole } from './agent-role';
import { agentNameOf, detectAgent } from './private/agent-detection';
import { GUARDRAIL_IDS, acknowledgeBoundaryWildcards, attachGuardrails } from './private/guardrails-attachment';
import { CannotDecide } from '../shared/errors';
import { ProductionProtection, ProductionProtectionKind } from './production-protection';
import { ProductionScope } from './production-scope';
import { boundaryStatementsForGrant } from './private/explicit-grants';

/** Properties of the GuardAgents aspect. */
export interface GuardAgentsProps {
  /**
   * Which resources are production for the guards the aspect attaches.
   * @default ProductionScope.failClosed()
   */
  readonly production?: ProductionScope;
  /**
   * How much the guarded agents may do to production. With the default, a guarded role keeps its
   * grants on the specific resources they name and can read the rest of production.
   * @default ProductionProtection.readOnly()
   */
  readonly protection?: ProductionProtection;
  /**
   * Roles that are agents whatever their trust policy and tags.
   * @default - none beyond roles trusted by agent services and roles tagged `guardrails:agent`
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
}

/** Annotation ids of the aspect. */
export const GUARD_AGENTS_ANNOTATIONS = Object.freeze({
  guarded: 'cdk-agent-guardrails:guard-agents:guarded',
  existingBoundary: 'cdk-agent-guardrails:guard-agents:existing-boundary',
  undecided: 'cdk-agent-guardrails:guard-agents:undecided',
  notARole: 'cdk-agent-guardrails:guard-agents:l1-role',
} as const);

/**
 * Finds every agent role the AgentGuardrailsChecks pack would find and attaches the production
 * guard, the escalation and tampering denies and a permissions boundary to it, changing nothing
 * else. Idempotent; AgentRoles are left as they are.
 *
 * `Aspects.of(app).add(new GuardAgents())`
 */
export class GuardAgents implements IAspect {
  private readonly production: ProductionScope;
  private readonly protection: ProductionProtection;

  constructor(private readonly props: GuardAgentsProps = {}) {
    this.production = props.production ?? ProductionScope.failClosed();
    this.protection = props.protection ?? ProductionProtection.readOnly();
  }

  public visit(node: IConstruct): void {
    if (node instanceof iam.CfnRole && !(node.node.scope instanceof iam.Role)) {
      this.visitL1(node);
      return;
    }
    if (!(node instanceof iam.Role) || AgentRole.isAgentRole(node) || node.node.tryFindChild(GUARDRAIL_IDS.guard)) {
      return;
    }
    const cfnRole = node.node.defaultChild as iam.CfnRole;
    let reasons: string[];
    try {
      const verdict = detectAgent(cfnRole, this.props);
      if (!verdict.agent) return;
      reasons = verdict.reasons;
    } catch (e) {
      if (!(e instanceof CannotDecide)) throw e;
      // Fail closed: a role that may be an agent is guarded.
      Annotations.of(node).addWarningV2(
        GUARD_AGENTS_ANNOTATIONS.undecided,
        `GuardAgents guarded ${node.node.path} because it could not decide whether it is an agent (${e.message}).`,
      );
      reasons = ['it may be an agent'];
    }
    this.guard(node, cfnRole, reasons);
  }

  private guard(role: iam.Role, cfnRole: iam.CfnRole, reasons: string[]): void {
    const agentName = agentNameOf(cfnRole);
    const attached = attachGuardrails(role, {
      agentName,
      production: this.production,
      protection: this.protection,
      allowedPassRoles: [],
      allowedAssumeRoles: [],
    });
    // Explicit resource-scoped grants keep their data-level deletes (as on an AgentRole).
    const defaultPolicy = role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
    // and the read-only boundary allows them on exactly their resources.
    for (const statement of (defaultPolicy?.document.toJSON()?.Statement ?? []) as unknown[]) {
      const grant = iam.PolicyStatement.fromJson(statement);
      attached.guard.carveOutExplicitGrant(grant);
      if (this.protection.kind === ProductionProtectionKind.READ_ONLY && attached.boundary) {
        for (const allowed of boundaryStatementsForGrant(grant, role)) {
          attached.boundary.addStatements(allowed);
          acknowledgeBoundaryWildcards(attached.boundary, allowed.actions, allowed.resources);
        }
      }
    }
    Annotations.of(role).addInfoV2(
      GUARD_AGENTS_ANNOTATIONS.guarded,
      `GuardAgents guarded ${role.node.path} as agent ${agentName} (${reasons.join('; ')}).`,
    );
    if (!attached.boundary) {
      Annotations.of(role).addWarningV2(
        GUARD_AGENTS_ANNOTATIONS.existingBoundary,
        `GuardAgents kept the existing permissions boundary of ${role.node.path}: replacing it could widen the role. That boundary does not carry ` +
          `the guard's denies (the role's own policies do); ` +
          'make sure it does not allow what the guard denies, or remove it and let GuardAgents set the agent boundary.',
      );
    }
  }

  private visitL1(role: iam.CfnRole): void {
    let agent: boolean;
    try {
      agent = detectAgent(role, this.props).agent;
    } catch (e) {
      if (!(e instanceof CannotDecide)) throw e;
      agent = true;
    }
    if (agent) {
      Annotations.of(role).addWarningV2(
        GUARD_AGENTS_ANNOTATIONS.notARole,
        `GuardAgents cannot guard ${role.node.path}: it is a CfnRole without an iam.Role around it. Define it with iam.Role or AgentRole, or ` +
          `attach a ProductionGuard yourself; AgentGuardrailsChecks reports it until then.`,
      );
    }
  }
}
