import { Aspects, Stack, Tag, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { AgentRole } from '../agent-role';
import { AGENT_TAG } from './escalation-statements';
import { CannotDecide } from '../../shared/errors';
import { flatten, isLiteral, statementsOf } from './policy-json';
import { AGENT_SERVICE_PRINCIPALS, ASSUME_ROLE_ACTIONS } from '../../shared/agent-trust';
import { toList } from '../../shared/list';

export { AGENT_SERVICE_PRINCIPALS } from '../../shared/agent-trust';

/** Which roles count as agents, beyond AgentRoles, agent-service trust and the agent tag. */
export interface AgentDetectionOptions {
  /** Roles that are agents whatever their trust policy. */
  readonly agentRoles?: iam.IRole[];
  /** Construct paths of roles (the role or its CfnRole) that are agents. */
  readonly agentRolePaths?: string[];
  /** Further service principals whose roles are agents (for example 'sagemaker.amazonaws.com'). */
  readonly agentServicePrincipals?: string[];
}

/** Why a role is (or is not) an agent. */
export interface AgentVerdict {
  readonly agent: boolean;
  /** Each reason the role counts as an agent, for messages. */
  readonly reasons: string[];
}

/** The service principals the trust policy lets assume the role; throws when one cannot be read. */
export function trustedServices(role: iam.CfnRole): string[] {
  const document = Stack.of(role).resolve(role.assumeRolePolicyDocument);
  const services: string[] = [];
  for (const statement of statementsOf(document)) {
    if (statement.Effect !== 'Allow' || !toList(statement.Action).some((a) => isLiteral(a) && ASSUME_ROLE_ACTIONS.test(a))) {
      continue;
    }
    const principal = statement.Principal as Record<string, unknown> | string | undefined;
    if (principal === undefined || typeof principal === 'string') continue;
    for (const service of toList(principal.Service)) {
      const name = serviceName(service);
      if (name === undefined) {
        throw new CannotDecide(
          `the trust policy of ${role.node.path} names the service principal ${flatten(service)}, whose value is only known at deploy time`,
          "Name the service principal as a literal (new iam.ServicePrincipal('bedrock.amazonaws.com')), or list the role in agentRoles / " +
            'agentRolePaths.',
        );
      }
      services.push(name);
    }
  }
  return services;
}

/** A service principal as a literal; `{ Fn::Join: [svc., URLSuffix] }` is read as amazonaws.com. */
function serviceName(service: unknown): string | undefined {
  if (isLiteral(service)) return service.toLowerCase();
  const join = (service as any)?.['Fn::Join'];
  if (Array.isArray(join)) {
    const parts = toList<unknown>(join[1]).map((p) => (isLiteral(p) ? p : (p as any)?.Ref === 'AWS::URLSuffix' ? 'amazonaws.com' : undefined));
    return parts.every((p) => p !== undefined) ? parts.join(String(join[0])).toLowerCase() : undefined;
  }
  return undefined;
}

/** The value of the agent tag on the role: applied already, or declared by a Tags aspect above it. */
export function agentTagValue(role: iam.CfnRole): string | undefined {
  const applied = role.tags.tagValues()[AGENT_TAG];
  if (applied !== undefined) return applied;
  // Aspects (GuardAgents) may run before the Tag aspect has reached the role.
  for (let scope: IConstruct | undefined = role; scope; scope = scope.node.scope) {
    for (const aspect of Aspects.of(scope).all) {
      if (aspect instanceof Tag && aspect.key === AGENT_TAG) {
        return aspect.value;
      }
    }
  }
  return undefined;
}

function namedByUser(role: iam.CfnRole, options: AgentDetectionOptions): boolean {
  const l2 = role.node.scope;
  const named = (options.agentRoles ?? []).some((r) => r === l2 || r.node.defaultChild === role);
  const paths = options.agentRolePaths ?? [];
  return named || paths.includes(role.node.path) || (l2 !== undefined && paths.includes(l2.node.path));
}

/**
 * Whether a role is an agent: an AgentRole; a role trusted by an agent service; a role carrying the
 * `guardrails:agent` tag; or a role the user named. Throws CannotDecide when the trust policy names
 * a service only known at deploy time (and nothing else decides).
 */
export function detectAgent(role: iam.CfnRole, options: AgentDetectionOptions = {}): AgentVerdict {
  const reasons: string[] = [];
  if (role.node.scope instanceof AgentRole) reasons.push(`it is the AgentRole ${role.node.scope.agentName}`);
  if (agentTagValue(role) !== undefined) reasons.push(`it carries the ${AGENT_TAG} tag`);
  if (namedByUser(role, options)) reasons.push('it is named as an agent role');
  const agentServices = new Set([...AGENT_SERVICE_PRINCIPALS, ...(options.agentServicePrincipals ?? []).map((s) => s.toLowerCase())]);
  let undecided: CannotDecide | undefined;
  try {
    const services = trustedServices(role).filter((s) => agentServices.has(s));
    if (services.length > 0) reasons.push(`it is trusted by the agent service ${services.join(', ')}`);
  } catch (e) {
    if (!(e instanceof CannotDecide)) throw e;
    undecided = e;
  }
  if (reasons.length === 0 && undecided) throw undecided;
  return { agent: reasons.length > 0, reasons };
}

/** A name for the agent (1 to 64 letters, digits, `-`, `_`): the agent tag, the role name, or the construct id. */
export function agentNameOf(role: iam.CfnRole): string {
  if (role.node.scope instanceof AgentRole) return role.node.scope.agentName;
  const candidates = [agentTagValue(role), role.roleName, role.node.scope?.node.id];
  for (const candidate of candidates) {
    if (candidate === undefined || Token.isUnresolved(candidate)) continue;
    const name = candidate
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .replace(/^[-_]+/, '')
      .slice(0, 64);
    if (name.length > 0) return name;
  }
  return 'agent';
}

/** AWS managed policies that give a role write access to (nearly) everything. */
const BROAD_MANAGED_POLICIES = /:policy\/(AdministratorAccess|PowerUserAccess)(?=["'\]]|$)/;

/**
 * Why the role can write (nearly) everything, or [] : AdministratorAccess or PowerUserAccess attached, or a
 * statement of its own allowing `*` or `service:*` on `Resource: *`.
 */
export function broadWriteAccess(role: iam.CfnRole): string[] {
  const stack = Stack.of(role);
  const reasons: string[] = [];
  for (const arn of toList(stack.resolve(role.managedPolicyArns))) {
    const match = BROAD_MANAGED_POLICIES.exec(JSON.stringify(arn));
    if (match) reasons.push(match[1]);
  }
  const defaultPolicy = role.node.scope?.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
  const documents = [
    ...toList<any>(stack.resolve(role.policies)).map((p) => p?.policyDocument),
    defaultPolicy ? stack.resolve(defaultPolicy.document.toJSON()) : undefined,
  ];
  for (const document of documents) {
    for (const statement of statementsOf(document)) {
      if (statement.Effect !== 'Allow' || !toList(statement.Resource).includes('*')) continue;
      const wild = toList(statement.Action).filter((a) => isLiteral(a) && (a === '*' || /^[a-z0-9-]+:\*$/i.test(a)));
      if (wild.length > 0) reasons.push(`${wild.join(', ')} on *`);
    }
  }
  return reasons;
}

/**
 * Who other than an AWS service can assume the role: AWS principals (an account, a user, a role: a person or a
 * runner) and federated ones (an OIDC provider such as GitHub Actions, SAML). Values known only at deploy time
 * are reported as such.
 */
export function humanOrRunnerTrust(role: iam.CfnRole): string[] {
  const document = Stack.of(role).resolve(role.assumeRolePolicyDocument);
  const principals: string[] = [];
  for (const statement of statementsOf(document)) {
    if (statement.Effect !== 'Allow' || !toList(statement.Action).some((a) => isLiteral(a) && ASSUME_ROLE_ACTIONS.test(a))) continue;
    const principal = statement.Principal as Record<string, unknown> | string | undefined;
    if (principal === '*') principals.push('*');
    if (principal === undefined || typeof principal === 'string') continue;
    for (const kind of ['AWS', 'Federated']) {
      for (const p of toList(principal[kind])) principals.push(isLiteral(p) ? p : flatten(p));
    }
  }
  return principals;
}
