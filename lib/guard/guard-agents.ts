import { Annotations, Aspects, IAspect, Stack, Tag } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { AgentRole } from './agent-role';
import { agentNameOf, broadWriteAccess, detectAgent, humanOrRunnerTrust } from './private/agent-detection';
import { AGENT_TAG } from './private/escalation-statements';
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
  notDetected: 'cdk-agent-guardrails:guard-agents:broad-role-not-an-agent',
  guardedNothing: 'cdk-agent-guardrails:guard-agents:guarded-nothing',
} as const);

/** How to make GuardAgents guard a role it does not detect: the hint of its warnings. */
const NAME_THE_AGENT =
  'If an agent (a coding assistant, an ops agent, a CI job that runs one) uses it, name it: ' +
  "new GuardAgents({ agentRoles: [role] }) or agentRolePaths: ['<construct path>'], or tag it guardrails:agent=<name>.";

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

  /** Whether any role the aspect visited is an agent (guarded here, or an AgentRole). */
  private foundAgent = false;
  /** The stack where "guarded nothing" is reported, once. */
  private reportStack?: Stack;

  constructor(private readonly props: GuardAgentsProps = {}) {
    this.production = props.production ?? ProductionScope.failClosed();
    this.protection = props.protection ?? ProductionProtection.readOnly();
  }

  public visit(node: IConstruct): void {
    this.watchForNothingGuarded(node);
    if (node instanceof iam.Role && AgentRole.isAgentRole(node)) this.foundAgent = true;
    if (node instanceof iam.CfnRole && !(node.node.scope instanceof iam.Role)) {
      this.visitL1(node);
      return;
    }
    if (!(node instanceof iam.Role) || AgentRole.isAgentRole(node)) return;
    if (node.node.tryFindChild(GUARDRAIL_IDS.guard)) {
      this.foundAgent = true;
      return;
    }
    const cfnRole = node.node.defaultChild as iam.CfnRole;
    let reasons: string[];
    try {
      const verdict = detectAgent(cfnRole, this.props);
      if (!verdict.agent) {
        this.warnIfBroadAndAssumedByPeople(node, cfnRole);
        return;
      }
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

  /**
   * The detection rule (docs/checks.md): a role is an agent when it is an AgentRole, is trusted by an agent service,
   * carries the guardrails:agent tag, or is named in agentRoles / agentRolePaths. A role that is none of these but
   * can write (nearly) everything and is assumable by a person or a runner is the most common agent role of all
   * (a developer's or CI's credentials handed to an assistant): it is not guarded (it may be a deployment role),
   * but the user is told, with how to name it.
   */
  private warnIfBroadAndAssumedByPeople(role: iam.Role, cfnRole: iam.CfnRole): void {
    const broad = broadWriteAccess(cfnRole);
    const trust = broad.length > 0 ? humanOrRunnerTrust(cfnRole) : [];
    if (broad.length === 0 || trust.length === 0) return;
    Annotations.of(role).addWarningV2(
      GUARD_AGENTS_ANNOTATIONS.notDetected,
      `GuardAgents did not guard ${role.node.path}: nothing marks it as an agent, yet it has broad write access ` +
        `(${[...new Set(broad)].join('; ')}) and a person or runner can assume it (${[...new Set(trust)].join(', ')}). ${NAME_THE_AGENT}`,
    );
  }

  /** Once per aspect: after the aspects ran (at validation), warn in the first stack visited when no agent was found. */
  private watchForNothingGuarded(node: IConstruct): void {
    if (this.reportStack || !Stack.isStack(node)) return;
    const stack = node;
    this.reportStack = stack;
    stack.node.addValidation({
      validate: () => {
        // Once, also when the app is synthesized again.
        if (!this.foundAgent && !stack.node.metadata.some((m) => String(m.data).includes(GUARD_AGENTS_ANNOTATIONS.guardedNothing))) {
          Annotations.of(stack).addWarningV2(
            GUARD_AGENTS_ANNOTATIONS.guardedNothing,
            'GuardAgents found no agent role to guard: no role is trusted by an agent service (Bedrock, Bedrock AgentCore, Amazon Q), ' +
              `tagged guardrails:agent, or named. A role assumed by a person, a CI runner or an agent's host is not detected. ${NAME_THE_AGENT}`,
          );
        }
        return [];
      },
    });
  }

  private guard(role: iam.Role, cfnRole: iam.CfnRole, reasons: string[]): void {
    this.foundAgent = true;
    const agentName = agentNameOf(cfnRole);
    const attached = attachGuardrails(role, {
      agentName,
      production: this.production,
      protection: this.protection,
      allowedPassRoles: [],
      allowedAssumeRoles: [],
    });
    this.runAgentTagAfterThis(role);
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

  /**
   * The agent tag is added to the role (a Tag aspect, priority MUTATING) while this aspect visits it. With the
   * `cdk init` flags (aspect stabilization), an aspect of lower priority than one already invoked on a node stops
   * synth (CannotInvokeAspectWithLowerPriority): the tag is given this aspect's priority, so it applies right after.
   */
  private runAgentTagAfterThis(role: iam.Role): void {
    let own: number | undefined;
    for (let scope: IConstruct | undefined = role; scope && own === undefined; scope = scope.node.scope) {
      own = Aspects.of(scope).applied.find((a) => a.aspect === this)?.priority;
    }
    if (own === undefined) return;
    for (const application of Aspects.of(role).applied) {
      if (application.aspect instanceof Tag && application.aspect.key === AGENT_TAG && application.priority < own) application.priority = own;
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
      this.foundAgent = true;
      Annotations.of(role).addWarningV2(
        GUARD_AGENTS_ANNOTATIONS.notARole,
        `GuardAgents cannot guard ${role.node.path}: it is a CfnRole without an iam.Role around it. Define it with iam.Role or AgentRole, or ` +
          `attach a ProductionGuard yourself; AgentGuardrailsChecks reports it until then.`,
      );
    }
  }
}
