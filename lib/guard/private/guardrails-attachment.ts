import { Stack, Tags, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ProductionGuard } from '../production-guard';
import { ProductionProtection, ProductionProtectionKind } from '../production-protection';
import { ProductionScope } from '../production-scope';
import { allowListBoundaryStatements, outageGuardStatements } from './outage-statements';
import { boundaryStatements } from './boundary-statements';
import { AGENT_TAG, escalationStatements } from './escalation-statements';
import { IAM_QUOTAS, StatementJson, packStatements, policyDocument, policySize } from '../../shared/policy-size';
import { toList } from '../../shared/list';
import { acknowledgeNagFindings, nagResourceFinding } from '../../shared/nag-suppressions';
import { sharedManagedPolicy } from './shared-policies';
import { invalidProps } from '../../shared/errors';

export interface GuardrailsOptions {
  readonly agentName: string;
  readonly production: ProductionScope;
  readonly protection: ProductionProtection;
  readonly allowedPassRoles: readonly string[];
  readonly allowedAssumeRoles: readonly string[];
}

export interface AttachedGuardrails {
  readonly guard: ProductionGuard;
  readonly escalationPolicies: iam.ManagedPolicy[];
  /** The boundary created for the role; undefined when the role already had one (kept, never replaced: that could widen it). */
  readonly boundary?: iam.ManagedPolicy;
  readonly boundaryServices: string[];
  /**
   * The created boundary's statements as built here, and their size as IAM counts it (an upper bound of
   * what CDK renders: it may only shorten single-element lists and drop duplicates).
   */
  readonly boundaryContent?: { readonly statements: number; readonly size: number };
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
  const readOnly = options.protection.kind === ProductionProtectionKind.READ_ONLY;
  let content;
  try {
    content = readOnly
      ? { statements: allowListBoundaryStatements(options.production, escalation, options), coveredServices: ['*'] }
      : boundaryStatements(options.production, escalation);
  } catch (e) {
    throw invalidProps('AgentRole.BoundaryTooLarge', `agent ${options.agentName}: ${(e as Error).message}`);
  }
  const cfnRole = role.node.defaultChild as iam.CfnRole;
  let boundary: iam.ManagedPolicy | undefined;
  if (cfnRole.permissionsBoundary === undefined) {
    // The read-only boundary is the agent's own: its explicit grants are added to it.
    boundary = readOnly
      ? new iam.ManagedPolicy(role, 'AgentBoundary', {
          description: `cdk-agent-guardrails permissions boundary of agent ${options.agentName}: reads, disposable resources, explicit grants`,
          document: iam.PolicyDocument.fromJson(policyDocument(content.statements)),
        })
      : sharedManagedPolicy(role, policyDocument(content.statements), 'cdk-agent-guardrails permissions boundary for agents');
    cfnRole.permissionsBoundary = boundary.managedPolicyArn;
    if (readOnly)
      acknowledgeBoundaryWildcards(
        boundary,
        content.statements.flatMap((st) => toList(st.Action)),
        ['*'],
      );
  }
  const escalationPolicies = escalationDocuments(options, escalation, readOnly).map(({ document, json }) =>
    sharedManagedPolicy(role, document, 'cdk-agent-guardrails escalation, tampering and outage denies for agents', json),
  );
  escalationPolicies.forEach((p) => role.addManagedPolicy(p));
  const guard = new ProductionGuard(role, GUARDRAIL_IDS.guard, { scope: options.production });
  guard.attachTo(role);
  Tags.of(role).add(AGENT_TAG, options.agentName);
  return {
    guard,
    escalationPolicies,
    boundary,
    boundaryServices: boundary ? content.coveredServices : [],
    boundaryContent: boundary ? { statements: content.statements.length, size: policySize(policyDocument(content.statements)) } : undefined,
  };
}

type DocumentWithJson = { document: ReturnType<typeof policyDocument>; json: string };
const escalationDocumentsByOptions = new Map<string, readonly DocumentWithJson[]>();

/**
 * The escalation (and, read-only, outage) deny documents, packed once per distinct scope, protection
 * and allow-lists: a pure function of them and of the catalog compiled into this package, which a
 * thousand agents would otherwise rebuild and serialize one by one.
 */
function escalationDocuments(options: GuardrailsOptions, escalation: readonly StatementJson[], readOnly: boolean): readonly DocumentWithJson[] {
  const key = JSON.stringify([options.production, readOnly, options.allowedPassRoles, options.allowedAssumeRoles]);
  let documents = escalationDocumentsByOptions.get(key);
  if (!documents) {
    // The read-only protection's few denies share the escalation policy: no managed policy slot of the user's is spent on them.
    const denies = readOnly ? [...escalation, ...outageGuardStatements(options.production)] : escalation;
    documents = packStatements(denies, IAM_QUOTAS.managedPolicy).map((statements) => {
      const json = JSON.stringify(policyDocument(statements));
      return { document: JSON.parse(json) as ReturnType<typeof policyDocument>, json };
    });
    escalationDocumentsByOptions.set(key, documents);
  }
  return documents;
}

/**
 * A permissions boundary grants nothing: it caps what the role's own policies grant. Its wildcards
 * (everything on disposable resources, read and creation patterns, the grants it mirrors) are what
 * cdk-nag's wildcard rule reports; they are acknowledged here, on the boundary only, with that reason.
 */
export function acknowledgeBoundaryWildcards(boundary: iam.ManagedPolicy, actions: readonly string[], resources: readonly unknown[]): void {
  const findings = [
    ...new Set(actions.filter((a) => a.includes('*')).map((a) => `Action::${a}`)),
    ...new Set(
      resources
        // A literal is its own resolution; only tokens need the stack to resolve them.
        .map((r) => (typeof r === 'string' && !Token.isUnresolved(r) ? r : Stack.of(boundary).resolve(r)))
        .filter((r) => JSON.stringify(r).includes('*'))
        .map((r) => nagResourceFinding(r)),
    ),
  ];
  if (findings.length === 0) return;
  acknowledgeNagFindings(boundary, [
    {
      id: 'AwsSolutions-IAM5',
      reason:
        "A permissions boundary grants nothing by itself: it caps the role's own policies to reads, disposable resources and the explicit grants " +
        'it mirrors, so its wildcards can only narrow what the role may do.',
      appliesTo: findings,
    },
  ]);
}
