import {
  BOUNDARY_CREATION_PATTERNS,
  BOUNDARY_READ_EXCEPTIONS,
  BOUNDARY_READ_PATTERNS,
  CODE_EXECUTION_PATTERNS,
} from '../../shared/boundary-allow-list.generated';
import { scopeTarget } from './guard-statements';
import { StatementJson } from '../../shared/policy-size';
import { ProductionScope, ProductionScopeKind } from '../production-scope';

/**
 * The read-only protection of production (ProductionProtection.readOnly).
 *
 * The permissions boundary is an allow-list, the one form that caps AdministratorAccess without
 * listing every write of every service: everything on disposable resources, reads everywhere,
 * creating resources tagged as disposable, the pass/assume allow-lists and each explicit grant on
 * its own resources. Whatever else is attached, nothing beyond that reaches production. The role's
 * policies keep the explicit denies of what must never happen (destruction, escalation), and the
 * few denies below close what an allow-list with tag conditions cannot see.
 */

/**
 * Services the boundary never allows beyond reads, whatever the tag: identities, credentials, the
 * organization and the audit trail (invariant 4). The role's escalation denies say the same; the
 * boundary keeps it when they are detached.
 */
export const NEVER_ALLOWED_SERVICES: readonly string[] = Object.freeze([
  'iam:*',
  'sts:*',
  'organizations:*',
  'account:*',
  'sso:*',
  'sso-directory:*',
  'identitystore:*',
  'cloudtrail:*',
]);

function tagCondition(scope: ProductionScope, key: 'ResourceTag' | 'RequestTag'): Record<string, Record<string, string[]>> {
  return scope.kind === ProductionScopeKind.TAGGED_ONLY
    ? { StringNotEqualsIgnoreCase: { [`aws:${key}/${scope.tagKey}`]: [...scope.tagValues] } }
    : { StringEqualsIgnoreCase: { [`aws:${key}/${scope.tagKey}`]: [...scope.tagValues] } };
}

/**
 * Takes the never-allowed services back out of the widest allow (written as a deny under the same
 * condition: NotAction is what linters and cdk-nag read as "everything but", so it is avoided).
 */
function neverAllowed(condition: Record<string, Record<string, string | string[]>>): StatementJson {
  return { Sid: 'DenyIdentityAndAuditWhereAllowed', Effect: 'Deny', Action: [...NEVER_ALLOWED_SERVICES], Resource: '*', Condition: condition };
}

/** Everything on disposable resources: the allow-list's widest statement, written per scope so that unknown means production. */
function disposableStatements(scope: ProductionScope): StatementJson[] {
  switch (scope.kind) {
    case ProductionScopeKind.FAIL_CLOSED:
      return [
        { Sid: 'AllowOnDisposable', Effect: 'Allow', Action: '*', Resource: '*', Condition: tagCondition(scope, 'ResourceTag') },
        neverAllowed(tagCondition(scope, 'ResourceTag')),
        {
          Sid: 'AllowCreateDisposable',
          Effect: 'Allow',
          Action: [...BOUNDARY_CREATION_PATTERNS],
          Resource: '*',
          Condition: tagCondition(scope, 'RequestTag'),
        },
      ];
    case ProductionScopeKind.TAGGED_ONLY:
      // A new resource carries no resource tag, which the negated condition already allows (the
      // weak scope's meaning); a request-tag statement would also match untagged requests on production.
      return [
        { Sid: 'AllowOnNonProduction', Effect: 'Allow', Action: '*', Resource: '*', Condition: tagCondition(scope, 'ResourceTag') },
        neverAllowed(tagCondition(scope, 'ResourceTag')),
      ];
    case ProductionScopeKind.ACCOUNTS: {
      // A request whose resource account is unknown matches no Allow: fail closed.
      const outside = { StringNotEquals: { 'aws:ResourceAccount': [...scope.accountIds] }, Null: { 'aws:ResourceAccount': 'false' } };
      return [{ Sid: 'AllowOutsideProductionAccounts', Effect: 'Allow', Action: '*', Resource: '*', Condition: outside }, neverAllowed(outside)];
    }
    case ProductionScopeKind.RESOURCES:
      // NotAction and NotResource do not share a statement: the full escalation denies follow it.
      return [
        { Sid: 'AllowOutsideProductionResources', Effect: 'Allow', Action: '*', NotResource: scope.resourceArns.flatMap((a) => [a, `${a}/*`]) },
      ];
  }
}

export interface AllowListOptions {
  readonly allowedPassRoles: readonly string[];
  readonly allowedAssumeRoles: readonly string[];
}

/** The boundary's static part; explicit grants are added to it as the agent receives them. */
export function allowListBoundaryStatements(
  scope: ProductionScope,
  escalation: readonly StatementJson[],
  options: AllowListOptions,
): StatementJson[] {
  const allowLists: StatementJson[] = [];
  if (options.allowedPassRoles.length > 0) {
    allowLists.push({ Sid: 'AllowPassRoleAllowList', Effect: 'Allow', Action: 'iam:PassRole', Resource: [...options.allowedPassRoles] });
  }
  if (options.allowedAssumeRoles.length > 0) {
    allowLists.push({ Sid: 'AllowAssumeRoleAllowList', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: [...options.allowedAssumeRoles] });
  }
  return [
    ...disposableStatements(scope),
    { Sid: 'AllowRead', Effect: 'Allow', Action: [...BOUNDARY_READ_PATTERNS], Resource: '*' },
    ...allowLists,
    // Where the allows exclude the never-allowed services, only the guardrails' own components
    // need a deny here (a disposable stack may hold them); otherwise the full escalation denies.
    ...(scope.kind === ProductionScopeKind.RESOURCES ? escalation : escalation.filter((st) => st.Sid === 'DenyGuardrailComponents')),
  ];
}

/**
 * Changes authorized only against a resource the agent may own (its route table, resolver rule, rule
 * group association, access entry, Auto Scaling group, event source mapping, access grant, network
 * interface) while they change a production subnet, VPC, cluster, target group, function or bucket
 * that IAM does not see (it is named in the request, at most in a condition key): denied whatever
 * the tag, and done through an ApprovalGate instead.
 */
export const OWNED_RESOURCE_CHANGES: readonly string[] = Object.freeze([
  'ec2:ReplaceRouteTableAssociation',
  'route53resolver:AssociateResolverRule',
  'route53resolver:AssociateFirewallRuleGroup',
  'eks:AssociateAccessPolicy',
  'cloudfront:AssociateAlias',
  'route53:AssociateVPCWithHostedZone',
  'route53:CreateVPCAssociationAuthorization',
  // production traffic to the agent's instances or tasks (target groups are named in the request only)
  'autoscaling:AttachLoadBalancerTargetGroups',
  'autoscaling:AttachTrafficSources',
  'autoscaling:AttachLoadBalancers',
  'ecs:CreateService',
  'ecs:CreateExpressGatewayService',
  'ecs:CreateDaemon',
  // a production function fed or drained by the agent's queue or stream (lambda:FunctionArn names it)
  'lambda:CreateEventSourceMapping',
  'lambda:UpdateEventSourceMapping',
  // S3 access grants and batch jobs act on buckets named in the request; GetDataAccess then issues credentials
  's3:CreateAccessGrant',
  's3:CreateJob',
  // takes secondary addresses from production interfaces of the same subnet (AllowReassignment)
  'ec2:AssignPrivateIpAddresses',
]);

/** Parts of an instance launch that are existing resources and would be taken over, not just used: they must be disposable. */
const LAUNCH_TAKES_OVER = ['network-interface', 'capacity-reservation', 'placement-group'];

/** Where a statement on disposable resources applies for a scope (what AllowOnDisposable opens). */
function disposableTarget(scope: ProductionScope): Pick<StatementJson, 'Resource' | 'NotResource' | 'Condition'> {
  switch (scope.kind) {
    case ProductionScopeKind.FAIL_CLOSED:
    case ProductionScopeKind.TAGGED_ONLY:
      return { Resource: '*', Condition: tagCondition(scope, 'ResourceTag') };
    case ProductionScopeKind.ACCOUNTS:
      return {
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:ResourceAccount': [...scope.accountIds] }, Null: { 'aws:ResourceAccount': 'false' } },
      };
    case ProductionScopeKind.RESOURCES:
      return { NotResource: scope.resourceArns.flatMap((a) => [a, `${a}/*`]) };
  }
}

/** Denies on the role (beside the guard) that the allow-list boundary cannot express with tags. */
export function outageGuardStatements(scope: ProductionScope): StatementJson[] {
  const production = scopeTarget(scope);
  const onProduction = {
    Resource: production.resources.length === 1 ? production.resources[0] : production.resources,
    ...(production.condition ? { Condition: production.condition } : {}),
  };
  const launchParts = LAUNCH_TAKES_OVER.map((type) => `arn:*:ec2:*:*:${type}/*`);
  return [
    // Actions the boundary's read patterns match that change something or issue credentials.
    { Sid: 'DenyWritesNamedLikeReadsOnProduction', Effect: 'Deny', Action: [...BOUNDARY_READ_EXCEPTIONS], ...onProduction },
    // A disposable resource can hold a stronger identity than the agent (a dev stack's stored CloudFormation
    // role, a dev function's or instance's role): running code there is running it as that identity.
    { Sid: 'DenyCodeExecutionOnDisposable', Effect: 'Deny', Action: [...CODE_EXECUTION_PATTERNS], ...disposableTarget(scope) },
    // A launch may take over a production network interface, capacity reservation or placement group.
    {
      Sid: 'DenyLaunchOnProductionParts',
      Effect: 'Deny',
      Action: 'ec2:RunInstances',
      Resource: launchParts,
      ...(production.condition ? { Condition: production.condition } : {}),
    },
    // A private hosted zone names VPCs that may be production and shadows their DNS; no tag condition
    // sees the VPC, and the call names no resource: creating hosted zones goes through a human.
    { Sid: 'DenyCreatingHostedZones', Effect: 'Deny', Action: 'route53:CreateHostedZone', Resource: '*' },
    { Sid: 'DenyChangesAuthorizedOnlyOnOwnedResources', Effect: 'Deny', Resource: '*', Action: [...OWNED_RESOURCE_CHANGES] },
  ];
}
