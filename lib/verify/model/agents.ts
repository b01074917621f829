import { AGENT_SERVICE_PRINCIPALS, ASSUME_ROLE_ACTIONS } from '../../shared/agent-trust';
import { AGENT_TAG } from '../../shared/tags';
import { AssemblyModel, StackModel, constructPathOf } from './assembly';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { awsManagedPolicyDocument, awsManagedPolicyName } from '../../shared/aws-managed-policies';
import { policyDocumentValue } from '../../shared/policy-document';
import { toList } from '../../shared/list';
import { ResourceGrant, findResourcePolicies, resourceGrantsFor } from './resource-policies';
import { TemplateResource, arnOfResource, isUnresolved, physicalName } from './template-values';

/**
 * AWS services that run AI agents: a role they may assume is an agent role even without the
 * guardrails tag (the incident class: a plain role handed to an agent service). The same list as
 * the rule pack's, so that verify and synth-time checks agree on what an agent is.
 */
export { AGENT_SERVICE_PRINCIPALS };

/** Why a role counts as an agent role. */
export type AgentDetection = 'tag' | 'agent-service' | 'named';

/** Where a policy of an agent comes from. */
export type PolicySource = 'inline' | 'app-managed' | 'aws-managed' | 'unknown';

export interface AgentPolicy {
  readonly name: string;
  readonly source: PolicySource;
  readonly arn?: string;
  /** The resolved document; undefined for an unknown policy. */
  readonly document?: unknown;
}

/** An agent role found in the assembly, with everything IAM would evaluate for it. */
export interface AgentModel {
  readonly name: string;
  readonly detectedBy: AgentDetection;
  readonly roleArn: string;
  readonly roleName: string;
  readonly logicalId: string;
  readonly constructPath?: string;
  readonly stack: StackModel;
  readonly tags: Record<string, string>;
  readonly trustedServices: string[];
  readonly identityPolicies: AgentPolicy[];
  readonly boundary?: AgentPolicy;
  /** Values in its policies verify could not resolve offline. */
  readonly unresolved: string[];
  /** What the app's resource-based policies grant this role (bucket, queue, topic, key policies, Lambda permissions). */
  readonly resourceGrants?: ResourceGrant[];
}

/** Tags of a resource, whichever of CloudFormation's two shapes (list of Key/Value, or a map) it uses. */
export function tagsOf(stack: StackModel, resource: TemplateResource): Record<string, string> {
  if (resource.Type === 'AWS::DynamoDB::GlobalTable') return replicaTagsOf(stack, resource);
  return tagList(stack.resolver.resolve(resource.Properties?.Tags));
}

/**
 * A global table (TableV2) carries its tags on its replicas: those of the replica in the stack's region, else of
 * every replica (keys that clash keep the first value; any production value is found by the caller per key case).
 */
function replicaTagsOf(stack: StackModel, resource: TemplateResource): Record<string, string> {
  const replicas = stack.resolver.resolve(resource.Properties?.Replicas);
  const list = Array.isArray(replicas) ? replicas.filter((r) => r && typeof r === 'object') : [];
  const here = list.filter((r) => r.Region === stack.env.region);
  const tags: Record<string, string> = {};
  for (const replica of here.length > 0 ? here : list) {
    for (const [k, v] of Object.entries(tagList(replica.Tags))) tags[k] ??= v;
  }
  return tags;
}

function tagList(raw: unknown): Record<string, string> {
  const tags: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const t of raw) {
      if (t && typeof t === 'object' && typeof t.Key === 'string' && t.Value !== undefined) tags[t.Key] = String(t.Value);
    }
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) tags[k] = String(v);
  }
  return tags;
}

function trustedServices(document: any): string[] {
  const services: string[] = [];
  for (const statement of toList(document?.Statement) as any[]) {
    if (statement?.Effect !== 'Allow' || !toList(statement.Action).some((a) => typeof a === 'string' && ASSUME_ROLE_ACTIONS.test(a))) continue;
    for (const service of toList(statement?.Principal?.Service)) {
      if (typeof service === 'string') services.push(service.toLowerCase());
    }
  }
  return services;
}

interface RoleCandidate {
  readonly stack: StackModel;
  readonly logicalId: string;
  readonly resource: TemplateResource;
}

function roleArn(candidate: RoleCandidate): string {
  const path = typeof candidate.resource.Properties?.Path === 'string' ? candidate.resource.Properties.Path.replace(/^\/|\/$/g, '') : '';
  const name = physicalName(candidate.stack.env.stackName, candidate.logicalId, candidate.resource);
  const env = candidate.stack.env;
  return `arn:${env.partition}:iam::${env.account}:role/${path ? `${path}/` : ''}${name}`;
}

/** Whether `--agent` names this role: its logical id, construct path, role name, ARN or agent tag. */
function namedBy(selector: string, candidate: RoleCandidate, tags: Record<string, string>): boolean {
  const path = constructPathOf(candidate.stack, candidate.logicalId, candidate.resource);
  const name = physicalName(candidate.stack.env.stackName, candidate.logicalId, candidate.resource);
  return [
    candidate.logicalId,
    name,
    roleArn(candidate),
    tags[AGENT_TAG],
    typeof path === 'string' ? path : undefined,
    typeof path === 'string' ? path.replace(/\/Resource$/, '') : undefined,
  ].some((v) => v !== undefined && v === selector);
}

/**
 * Every agent role of the assembly: roles tagged `guardrails:agent`, roles an agent service may
 * assume, and the roles named with `--agent`. Throws when a name given with `--agent` matches no role.
 */
export function findAgents(assembly: AssemblyModel, selectors: readonly string[] = []): AgentModel[] {
  const candidates: RoleCandidate[] = [];
  for (const stack of assembly.stacks) {
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      if (resource.Type === 'AWS::IAM::Role') candidates.push({ stack, logicalId, resource });
    }
  }
  const unmatched = new Set(selectors);
  const agents: AgentModel[] = [];
  const resourcePolicies = findResourcePolicies(assembly);
  for (const candidate of candidates) {
    const tags = tagsOf(candidate.stack, candidate.resource);
    const trust = policyDocumentValue(candidate.stack.resolver.resolve(candidate.resource.Properties?.AssumeRolePolicyDocument));
    const services = trustedServices(trust);
    const named = selectors.filter((s) => namedBy(s, candidate, tags));
    named.forEach((s) => unmatched.delete(s));
    let detectedBy: AgentDetection | undefined;
    if (tags[AGENT_TAG] !== undefined) detectedBy = 'tag';
    else if (services.some((s) => AGENT_SERVICE_PRINCIPALS.includes(s))) detectedBy = 'agent-service';
    else if (named.length > 0) detectedBy = 'named';
    if (!detectedBy) continue;
    const agent = buildAgent(assembly, candidate, tags, services, detectedBy);
    agents.push({ ...agent, resourceGrants: resourceGrantsFor(resourcePolicies, agent.roleArn) });
  }
  if (unmatched.size > 0) {
    throw new GuardrailsError(
      GuardrailsErrorKind.USAGE,
      `--agent ${[...unmatched].map((s) => JSON.stringify(s)).join(', ')} matches no role of the assembly. Give a role's logical ID, construct ` +
        `path, role name or ARN.`,
    );
  }
  return agents;
}

/**
 * The role of the assembly with this logical ID in the stack of this name, modelled as verify models an agent
 * (detected by name): what the synth-time rule pack evaluates for a role it found to be an agent.
 */
export function roleModel(assembly: AssemblyModel, stackName: string, logicalId: string): AgentModel | undefined {
  const stack = assembly.stacks.find((s) => s.env.stackName === stackName && s.template.Resources?.[logicalId]?.Type === 'AWS::IAM::Role');
  if (!stack) return undefined;
  const candidate = { stack, logicalId, resource: stack.template.Resources![logicalId] };
  const tags = tagsOf(stack, candidate.resource);
  const services = trustedServices(policyDocumentValue(stack.resolver.resolve(candidate.resource.Properties?.AssumeRolePolicyDocument)));
  let policies = resourcePoliciesCache.get(assembly);
  if (!policies) {
    policies = findResourcePolicies(assembly);
    resourcePoliciesCache.set(assembly, policies);
  }
  const agent = buildAgent(assembly, candidate, tags, services, 'named');
  return { ...agent, resourceGrants: resourceGrantsFor(policies, agent.roleArn) };
}

const resourcePoliciesCache = new WeakMap<AssemblyModel, ReturnType<typeof findResourcePolicies>>();

/** Every app-defined managed policy, by the ARN it would have once deployed. */
function managedPoliciesOf(assembly: AssemblyModel): Map<string, { stack: StackModel; logicalId: string; resource: TemplateResource }> {
  const byArn = new Map<string, { stack: StackModel; logicalId: string; resource: TemplateResource }>();
  for (const stack of assembly.stacks) {
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      if (resource.Type === 'AWS::IAM::ManagedPolicy') byArn.set(String(stack.resolver.ref(logicalId)), { stack, logicalId, resource });
    }
  }
  return byArn;
}

/** A policy resource of the assembly that names the roles it is attached to (AWS::IAM::Policy, RolePolicy, ManagedPolicy). */
interface Attachment {
  readonly stack: StackModel;
  readonly logicalId: string;
  readonly resource: TemplateResource;
}

/** A policy document resolved once per assembly, with the values that could not be resolved. */
interface ResolvedDocument {
  readonly document: unknown;
  readonly unresolved: readonly string[];
}

/**
 * What every agent of one assembly looks up: the app's managed policies by ARN, and its policy resources by the role
 * names and ARNs they attach to (in template order). Built once per assembly, so that modelling n agents does not
 * resolve every policy of the app n times.
 */
interface AssemblyIndex {
  readonly managed: ReturnType<typeof managedPoliciesOf>;
  readonly attachments: readonly Attachment[];
  /** Role name or ARN -> indexes into `attachments`, ascending. */
  readonly attachedTo: ReadonlyMap<string, readonly number[]>;
  readonly documents: Map<Attachment | TemplateResource, ResolvedDocument>;
}

const indexes = new WeakMap<AssemblyModel, AssemblyIndex>();

function indexOf(assembly: AssemblyModel): AssemblyIndex {
  let index = indexes.get(assembly);
  if (!index) {
    const attachments: Attachment[] = [];
    const attachedTo = new Map<string, number[]>();
    for (const stack of assembly.stacks) {
      for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
        const targets =
          resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy'
            ? resource.Properties?.Roles
            : resource.Type === 'AWS::IAM::RolePolicy'
              ? resource.Properties?.RoleName
              : undefined;
        if (targets === undefined) continue;
        const at = attachments.push({ stack, logicalId, resource }) - 1;
        // Only a string can equal a role's name or ARN.
        for (const target of new Set(toList(stack.resolver.resolve(targets)).filter((t): t is string => typeof t === 'string'))) {
          attachedTo.set(target, [...(attachedTo.get(target) ?? []), at]);
        }
      }
    }
    index = { managed: managedPoliciesOf(assembly), attachments, attachedTo, documents: new Map() };
    indexes.set(assembly, index);
  }
  return index;
}

/** The policy document of a policy resource, resolved by its own stack once per assembly. */
function resolvedDocument(index: AssemblyIndex, stack: StackModel, resource: TemplateResource): ResolvedDocument {
  let resolved = index.documents.get(resource);
  if (!resolved) {
    const document = policyDocumentValue(stack.resolver.resolve(resource.Properties?.PolicyDocument));
    resolved = { document, unresolved: unresolvedIn(document) };
    index.documents.set(resource, resolved);
  }
  return resolved;
}

function unresolvedIn(resolved: unknown): string[] {
  const text = JSON.stringify(resolved ?? null);
  return text.includes('unresolved:') ? (text.match(/unresolved:[^"]*/g) ?? []).map((m) => m.slice('unresolved:'.length)) : [];
}

function buildAgent(
  assembly: AssemblyModel,
  candidate: RoleCandidate,
  tags: Record<string, string>,
  services: string[],
  detectedBy: AgentDetection,
): AgentModel {
  const { stack, logicalId, resource } = candidate;
  const roleName = physicalName(stack.env.stackName, logicalId, resource);
  const arn = roleArn(candidate);
  const index = indexOf(assembly);
  const unresolved = new Set<string>();
  const track = (s: StackModel, value: unknown) => {
    const resolved = policyDocumentValue(s.resolver.resolve(value));
    unresolvedIn(resolved).forEach((u) => unresolved.add(u));
    return resolved;
  };
  const trackPolicy = (s: StackModel, r: TemplateResource) => {
    const { document, unresolved: missing } = resolvedDocument(index, s, r);
    missing.forEach((u) => unresolved.add(u));
    return document;
  };

  const identityPolicies: AgentPolicy[] = [];
  for (const inline of toList(resource.Properties?.Policies) as any[]) {
    identityPolicies.push({
      name: String(stack.resolver.resolve(inline?.PolicyName) ?? 'inline'),
      source: 'inline',
      document: track(stack, inline?.PolicyDocument),
    });
  }
  // The policy resources attached to this role by name or ARN, in the order of the assembly's templates.
  const attached = [...new Set([...(index.attachedTo.get(roleName) ?? []), ...(index.attachedTo.get(arn) ?? [])])].sort((a, b) => a - b);
  for (const { stack: other, logicalId: id, resource: r } of attached.map((i) => index.attachments[i])) {
    if (r.Type === 'AWS::IAM::ManagedPolicy') {
      identityPolicies.push({
        name: `${other.displayName}/${id}`,
        source: 'app-managed',
        arn: String(other.resolver.ref(id)),
        document: trackPolicy(other, r),
      });
    } else {
      identityPolicies.push({ name: `${other.displayName}/${id}`, source: 'inline', document: trackPolicy(other, r) });
    }
  }
  const lookup = (policyArn: unknown): AgentPolicy => {
    const key = String(policyArn);
    const own = index.managed.get(key);
    if (own)
      return {
        name: `${own.stack.displayName}/${own.logicalId}`,
        source: 'app-managed',
        arn: key,
        document: trackPolicy(own.stack, own.resource),
      };
    const aws = awsManagedPolicyDocument(key);
    if (aws) return { name: awsManagedPolicyName(key)!, source: 'aws-managed', arn: key, document: aws };
    return { name: awsManagedPolicyName(key) ?? key, source: 'unknown', arn: key };
  };
  const managedArns = toList(stack.resolver.resolve(resource.Properties?.ManagedPolicyArns));
  for (const policyArn of managedArns) {
    if (identityPolicies.some((p) => p.arn === policyArn)) continue;
    if (isUnresolved(policyArn)) unresolved.add(String(policyArn).slice('unresolved:'.length));
    identityPolicies.push(lookup(policyArn));
  }
  const boundaryArn =
    resource.Properties?.PermissionsBoundary !== undefined ? stack.resolver.resolve(resource.Properties.PermissionsBoundary) : undefined;
  const path = constructPathOf(stack, logicalId, resource);
  return {
    name: tags[AGENT_TAG] ?? (typeof path === 'string' ? path.replace(/\/Resource$/, '') : `${stack.displayName}/${logicalId}`),
    detectedBy,
    roleArn: arn,
    roleName,
    logicalId,
    constructPath: typeof path === 'string' ? path : undefined,
    stack,
    tags,
    trustedServices: services,
    identityPolicies,
    boundary: boundaryArn !== undefined ? lookup(boundaryArn) : undefined,
    unresolved: [...unresolved],
  };
}

/** Every role of the assembly that is not an agent, by ARN: the roles an agent could pass or assume. */
export function otherRoles(assembly: AssemblyModel, agents: readonly AgentModel[]): string[] {
  const agentArns = new Set(agents.map((a) => a.roleArn));
  const arns: string[] = [];
  for (const stack of assembly.stacks) {
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      if (resource.Type !== 'AWS::IAM::Role') continue;
      const arn = arnOfResource(stack.env, logicalId, resource);
      if (arn && !agentArns.has(arn)) arns.push(arn);
    }
  }
  return arns;
}
