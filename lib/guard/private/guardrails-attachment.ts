import { Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ProductionGuard } from '../production-guard';
import { ProductionScope } from '../production-scope';
import { boundaryStatements } from './boundary-statements';
import { AGENT_TAG, escalationStatements } from './escalation-statements';
import { IAM_QUOTAS, packStatements, policyDocument } from '../../shared/policy-size';
import { sharedManagedPolicy } from './shared-policies';
import { invalidProps } from '../../shared/errors';

export interface GuardrailsOptions {
  readonly agentName: string;
  readonly production: ProductionScope;
  readonly allowedPassRoles: readonly string[];
  readonly allowedAssumeRoles: readonly string[];
}

export interface AttachedGuardrails {
  readonly guard: ProductionGuard;
  readonly escalationPolicies: iam.ManagedPolicy[];
  /** The boundary created for the role; undefined when the role already had one (kept, never replaced: that could widen it). */
  readonly boundary?: iam.ManagedPolicy;
  readonly boundaryServices: string[];
}

/** Construct ids of the guardrails under the role, so that a second attachment can be detected. */
export const GUARDRAIL_IDS = { guard: 'ProductionGuard' } as const;

/**
 * Attaches the production guard, the escalation and tampering denies and the permissions boundary
 * to a role (an AgentRole, or a plain iam.Role found by an aspect), and tags it as an agent role.
 * An existing permissions boundary is kept: replacing it could only widen the role.
 */
export function attachGuardrails(role: iam.Role, options: GuardrailsOptions): AttachedGuardrails {
  const escalation = escalationStatements(options);
  let content;
  try {
    content = boundaryStatements(options.production, escalation);
  } catch (e) {
    throw invalidProps('AgentRole.InvalidProps', `agent ${options.agentName}: ${(e as Error).message}`);
  }
  const cfnRole = role.node.defaultChild as iam.CfnRole;
  let boundary: iam.ManagedPolicy | undefined;
  if (cfnRole.permissionsBoundary === undefined) {
    boundary = sharedManagedPolicy(role, policyDocument(content.statements), 'cdk-agent-guardrails permissions boundary for agents');
    cfnRole.permissionsBoundary = boundary.managedPolicyArn;
  }
  const escalationPolicies = packStatements(escalation, IAM_QUOTAS.managedPolicy).map((statements) =>
    sharedManagedPolicy(role, policyDocument(statements), 'cdk-agent-guardrails escalation and tampering denies for agents'));
  escalationPolicies.forEach((p) => role.addManagedPolicy(p));
  const guard = new ProductionGuard(role, GUARDRAIL_IDS.guard, { scope: options.production });
  guard.attachTo(role);
  Tags.of(role).add(AGENT_TAG, options.agentName);
  return { guard, escalationPolicies, boundary, boundaryServices: boundary ? content.coveredServices : [] };
}
