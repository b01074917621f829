/**
 * What the MCP server knows about one agent, built from the same models `verify` uses: the cloud
 * assembly (lib/verify/model), the agent's policies, its production resources, the approval gates
 * and circuit breakers of the app, and the decider (the shipped evaluator offline, IAM's policy
 * simulator with --live). Rebuilt when the assembly changes (a new `cdk synth`), so the answers
 * never outlive the policies they describe.
 */
import * as fs from 'fs';
import * as path from 'path';
import { IAMClient } from '@aws-sdk/client-iam';
import { ParsedPolicy, parsePolicy } from '../../evaluator';
import { BoundOperation } from '../../approval-gate/runtime/approval-binding';
import { BreakerConfig, WatchedAgentConfig } from '../../circuit-breaker/runtime/breaker-config';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { Decider } from '../../verify/analysis/analysis';
import { gateChecks } from '../../verify/analysis/checks';
import { assumeUnmodelledConditions } from '../../verify/analysis/condition-keys';
import { LiveDecider, iamClient, readLiveRole } from '../../verify/deciders/live';
import { OfflineDecider } from '../../verify/deciders/offline-decider';
import { AgentModel, AgentPolicy, findAgents } from '../../verify/model/agents';
import { ApprovalGateModel, findApprovalGates } from '../../verify/model/approval-gates';
import { AssemblyModel, StackModel, readAssembly } from '../../verify/model/assembly';
import { ProductionModel, ResourceModel, findResources } from '../../verify/model/production-resources';
import { findResourcePolicies, resourceGrantsFor } from '../../verify/model/resource-policies';
import { UNKNOWN_ACCOUNT } from '../../verify/model/template-values';

export interface KnowledgeOptions {
  /** The cloud assembly directory (cdk.out). */
  readonly assembly: string;
  /** Which agent the server speaks for: its name, role name, logical id, construct path or ARN. */
  readonly agent?: string;
  /** Ask IAM's policy simulator about the deployed role instead of evaluating offline. */
  readonly live: boolean;
  readonly roleArn?: string;
  readonly region: string;
  /** The IAM endpoint with --live (tests, private endpoints). */
  readonly endpoint?: string;
  readonly model: ProductionModel;
}

/** A policy the explanation can name: its label and its document as evaluated. */
export interface NamedPolicy {
  readonly label: string;
  readonly parsed: ParsedPolicy;
}

/** An approval gate of the app, as an agent needs to know it to ask. */
export interface GateInfo {
  /** The workflow's construct path (`Shop/Approvals/Workflow`), as verify names gates. */
  readonly id: string;
  readonly stateMachineName: string;
  readonly stateMachineArn: string;
  /** The operations with the binding of their parameters to the resource (from the gate's handler). */
  readonly operations: BoundOperation[];
  /** How long approvers have, when the workflow's definition says. */
  readonly timeoutSeconds?: number;
  readonly requiredApprovals?: number;
  readonly approvers: string[];
  /** Whether this agent may start the workflow (decided like every other answer). */
  readonly requestable: boolean;
}

/** A circuit breaker entry that watches this agent. */
export interface BreakerWatch {
  /** The breaker's construct path. */
  readonly breaker: string;
  readonly config: WatchedAgentConfig;
  readonly tableName: string;
  readonly monitorOnly: boolean;
  readonly region: string;
}

export interface Knowledge {
  readonly mode: 'offline' | 'live';
  readonly assemblyDirectory: string;
  readonly assembly?: AssemblyModel;
  readonly agent: AgentModel;
  /** Every resource of the app with an ARN, production and disposable. */
  readonly resources: ResourceModel[];
  readonly notAssessed: Record<string, number>;
  readonly gates: GateInfo[];
  readonly breakers: BreakerWatch[];
  readonly decider: Decider;
  /** A decider of the same kind for a request that sets the production tag to `value` (a creation with tags, a retag). */
  readonly deciderFor: (value: string) => Decider;
  readonly model: ProductionModel;
  /** The agent's policies as the decider evaluates them, for naming the statements that decided. */
  readonly identity: NamedPolicy[];
  readonly boundary?: NamedPolicy;
  readonly warnings: string[];
}

/** Whether the agent's boundary is the library's read-only allow-list (production read-only to agents). */
export function hasReadOnlyBoundary(k: Knowledge): boolean {
  return k.boundary?.parsed.statements.some((s) => s.sid === 'AllowOnDisposable') ?? false;
}

/** Whether the agent carries the library's escalation denies. */
export function hasEscalationGuard(k: Knowledge): boolean {
  return k.identity.some((p) => p.parsed.statements.some((s) => s.sid === 'DenyIamWrites' && s.effect === 'Deny'));
}

/** The tag an agent would set to relabel production (verify's relabel target). */
export function relabelTarget(model: ProductionModel, value = model.nonProductionValues[0]): { key: string; value: string } {
  return { key: model.tagKey, value };
}

function agentIds(agent: AgentModel): string[] {
  const path = agent.constructPath;
  return [agent.name, agent.roleName, agent.logicalId, agent.roleArn, ...(path ? [path, path.replace(/\/Resource$/, '')] : [])];
}

/** The agent the server speaks for; a clear error with the fix when that is not one agent. */
export function selectAgent(assembly: AssemblyModel, selector: string | undefined): AgentModel {
  const agents = findAgents(assembly, []);
  const names = agents.map((a) => a.name);
  if (selector !== undefined) {
    const found = agents.find((a) => agentIds(a).includes(selector));
    if (found) return found;
    // A plain role the team names as its agent (verify --agent does the same).
    let named: AgentModel[] = [];
    try {
      named = findAgents(assembly, [selector]);
    } catch {
      named = [];
    }
    const role = named.find((a) => agentIds(a).includes(selector) || a.detectedBy === 'named');
    if (role) return role;
    const message = `--agent ${JSON.stringify(selector)} matches no role of the cloud assembly at ${assembly.directory}`;
    throw new GuardrailsError(GuardrailsErrorKind.USAGE, message, {
      code: 'Mcp.UnknownAgent', received: selector,
      fix: names.length > 0 ? `start the server with --agent set to one of: ${names.join(', ')}`
        : 'give the agent role\'s name, logical ID, construct path or ARN, or use AgentRole for the agent',
    });
  }
  if (agents.length === 1) return agents[0];
  if (agents.length === 0) {
    throw new GuardrailsError(GuardrailsErrorKind.NO_AGENTS, `no agent role in the cloud assembly at ${assembly.directory}`, {
      code: 'Mcp.NoAgent', received: assembly.directory,
      fix: 'use AgentRole for the agent (or tag its role guardrails:agent), run `cdk synth`, or start the server with --agent ROLE',
    });
  }
  throw new GuardrailsError(GuardrailsErrorKind.USAGE, `the cloud assembly holds ${agents.length} agents; the server speaks for one`, {
    code: 'Mcp.WhichAgent', received: names.join(', '), fix: `start the server with --agent NAME, one of: ${names.join(', ')}`,
  });
}

/** Construct paths of the app's resources, by the name verify gives their policies (`Stack/LogicalId`). */
function constructPaths(assembly: AssemblyModel | undefined): Map<string, string> {
  const paths = new Map<string, string>();
  for (const stack of assembly?.stacks ?? []) {
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      const p = resource.Metadata?.['aws:cdk:path'];
      if (typeof p === 'string') paths.set(`${stack.displayName}/${logicalId}`, p.replace(/\/Resource$/, ''));
    }
  }
  return paths;
}

function named(agent: AgentModel, policies: readonly AgentPolicy[], tagKey: string, label: (p: AgentPolicy) => string): NamedPolicy[] {
  return policies.filter((p) => p.source !== 'unknown').map((p) => {
    try {
      // The documents exactly as the offline decider rewrites them (unmodelled condition keys, pessimistically).
      return { label: label(p), parsed: parsePolicy(assumeUnmodelledConditions(p.document, tagKey, agent.stack.accountKnown).document) };
    } catch (e) {
      throw new GuardrailsError(GuardrailsErrorKind.BAD_POLICY,
        `policy ${label(p)} of agent ${agent.name} does not parse, so it cannot be evaluated: ${(e as Error).message}`,
        { code: 'Mcp.BadPolicy', fix: 'fix the policy in the app and run `cdk synth`; until then nothing is allowed' });
    }
  });
}

function stateMachineOf(assembly: AssemblyModel, gate: ApprovalGateModel): { stack: StackModel; properties: Record<string, any> } | undefined {
  for (const stack of assembly.stacks) {
    for (const resource of Object.values(stack.template.Resources ?? {})) {
      if (resource.Type === 'AWS::StepFunctions::StateMachine' && resource.Metadata?.['aws:cdk:path'] === `${gate.id}/Resource`) {
        return { stack, properties: resource.Properties ?? {} };
      }
    }
  }
  return undefined;
}

function parseJson(value: unknown): any {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** The environment of the gate's functions: the operations' bindings, approvers and required approvals. */
function gateEnvironment(stack: StackModel, prefix: string): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const resource of Object.values(stack.template.Resources ?? {})) {
    const p = resource.Metadata?.['aws:cdk:path'];
    if (resource.Type !== 'AWS::Lambda::Function' || typeof p !== 'string' || !p.startsWith(prefix)) continue;
    const variables = stack.resolver.resolve(resource.Properties?.Environment?.Variables) ?? {};
    for (const [k, v] of Object.entries(variables)) if (typeof v === 'string') merged[k] = v;
  }
  return merged;
}

function waitSeconds(definition: any): number | undefined {
  for (const state of Object.values<any>(definition?.States ?? {})) {
    if (typeof state?.Resource === 'string' && state.Resource.endsWith('.waitForTaskToken') && typeof state.TimeoutSeconds === 'number') {
      return state.TimeoutSeconds;
    }
  }
  return undefined;
}

function gateInfo(assembly: AssemblyModel, gate: ApprovalGateModel, requestable: boolean, account?: string): GateInfo {
  const found = stateMachineOf(assembly, gate);
  const env = found ? gateEnvironment(found.stack, gate.id.replace(/[^/]+$/, '')) : {};
  const bound = parseJson(env.OPERATIONS);
  const operations: BoundOperation[] = Array.isArray(bound)
    ? bound
    // Without the handler's bindings the gate still validates; the server only cannot pre-check the parameters.
    : gate.operations.map((o) => ({ operation: o.action, resources: o.resources, resourceArn: '', acceptsArn: false }));
  const deployed = (arn: string) => (account ? arn.replace(`:${UNKNOWN_ACCOUNT}:`, `:${account}:`) : arn);
  const approvers = parseJson(env.APPROVERS);
  const definition = found ? parseJson(found.stack.resolver.resolve(found.properties.DefinitionString)) : undefined;
  return {
    id: gate.id,
    stateMachineName: gate.stateMachineArn.split(':').pop() ?? '',
    stateMachineArn: deployed(gate.stateMachineArn),
    operations: operations.map((o) => ({ ...o, resources: o.resources.map(deployed), resourceArn: deployed(o.resourceArn) })),
    timeoutSeconds: waitSeconds(definition),
    requiredApprovals: env.REQUIRED_APPROVALS !== undefined && /^\d+$/.test(env.REQUIRED_APPROVALS) ? Number(env.REQUIRED_APPROVALS) : undefined,
    approvers: Array.isArray(approvers) ? approvers.filter((a): a is string => typeof a === 'string') : [],
    requestable,
  };
}

/** The circuit breakers of the app that watch this agent (their handler's BREAKER_CONFIG). */
function breakersOf(assembly: AssemblyModel | undefined, agent: AgentModel): BreakerWatch[] {
  const watches: BreakerWatch[] = [];
  for (const stack of assembly?.stacks ?? []) {
    for (const resource of Object.values(stack.template.Resources ?? {})) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const raw = resource.Properties?.Environment?.Variables?.BREAKER_CONFIG;
      if (raw === undefined) continue;
      const config = parseJson(stack.resolver.resolve(raw)) as BreakerConfig | undefined;
      const entry = config?.agents?.find((a) => a.roleArn === agent.roleArn || a.roleName === agent.roleName || a.agentName === agent.name);
      if (!config || !entry) continue;
      const p = String(resource.Metadata?.['aws:cdk:path'] ?? stack.displayName).replace(/\/[^/]+\/Resource$/, '');
      watches.push({ breaker: p, config: entry, tableName: config.tableName, monitorOnly: config.monitorOnly, region: stack.env.region });
    }
  }
  return watches;
}

async function requestableGates(decider: Decider, agent: AgentModel, gates: readonly ApprovalGateModel[]): Promise<boolean[]> {
  if (gates.length === 0) return [];
  const { decisions } = await decider.decide(agent, gateChecks(gates));
  return decisions.map((d) => d === 'Allowed');
}

function loadAssembly(directory: string): AssemblyModel {
  try {
    return readAssembly(directory);
  } catch (e) {
    if (GuardrailsError.isGuardrailsError(e)) {
      throw new GuardrailsError(e.kind, e.message, {
        code: 'Mcp.NoAssembly', received: path.resolve(directory),
        fix: 'run `cdk synth` in the app, or start the server with --assembly pointing at its cdk.out; the server reads it again on the next call',
      });
    }
    throw e;
  }
}

async function loadOffline(options: KnowledgeOptions): Promise<Knowledge> {
  const assembly = loadAssembly(options.assembly);
  const agent = selectAgent(assembly, options.agent);
  const inventory = findResources(assembly, options.model);
  const decider = new OfflineDecider(relabelTarget(options.model));
  const gates = findApprovalGates(assembly);
  const requestable = await requestableGates(decider, agent, gates);
  const paths = constructPaths(assembly);
  const label = (p: AgentPolicy) => paths.get(p.name) ?? p.name;
  return {
    mode: 'offline',
    assemblyDirectory: assembly.directory,
    assembly,
    agent,
    resources: [...inventory.production, ...inventory.nonProduction],
    notAssessed: inventory.notAssessed,
    gates: gates.map((g, i) => gateInfo(assembly, g, requestable[i])),
    breakers: breakersOf(assembly, agent),
    decider,
    deciderFor: (value) => new OfflineDecider(relabelTarget(options.model, value)),
    model: options.model,
    identity: named(agent, agent.identityPolicies, options.model.tagKey, label),
    boundary: agent.boundary ? named(agent, [agent.boundary], options.model.tagKey, label)[0] : undefined,
    warnings: [],
  };
}

/** Live: the deployed role from IAM; the app's resources, gates and breakers from the assembly when there is one (as verify --live). */
async function loadLive(options: KnowledgeOptions, client: IAMClient): Promise<Knowledge> {
  const read = await readLiveRole(client, { roleArn: options.roleArn!, region: options.region, endpoint: options.endpoint });
  const warnings: string[] = [];
  const assembly = fs.existsSync(path.join(options.assembly, 'manifest.json')) ? loadAssembly(options.assembly) : undefined;
  if (!assembly) {
    warnings.push(`no cloud assembly at ${path.resolve(options.assembly)}: every resource counts as production and no approval gate is known`);
  }
  // An environment-agnostic app deploys into the role's account.
  const account = read.stack.env.account;
  const deployed = <T>(value: T): T => JSON.parse(JSON.stringify(value ?? null).split(`:${UNKNOWN_ACCOUNT}:`).join(`:${account}:`)) ?? undefined;
  const inventory = assembly ? findResources(assembly, options.model) : { production: [], nonProduction: [], notAssessed: {} };
  const resourcePolicies = assembly
    ? findResourcePolicies(assembly).map((p) => ({ ...p, document: deployed(p.document), governs: deployed(p.governs) }))
    : [];
  const agent: AgentModel = { ...read, resourceGrants: resourceGrantsFor(resourcePolicies, read.roleArn) };
  const decider = new LiveDecider(client, relabelTarget(options.model));
  const gates = (assembly ? findApprovalGates(assembly) : []).map((g) => ({ ...g, stateMachineArn: deployed(g.stateMachineArn) }));
  const requestable = await requestableGates(decider, agent, gates);
  const label = (p: AgentPolicy) => p.name;
  return {
    mode: 'live',
    assemblyDirectory: path.resolve(options.assembly),
    assembly,
    agent,
    resources: [...inventory.production, ...inventory.nonProduction].map((r) => ({ ...r, arn: deployed(r.arn) })),
    notAssessed: inventory.notAssessed,
    gates: assembly ? gates.map((g, i) => gateInfo(assembly, g, requestable[i], account)) : [],
    breakers: breakersOf(assembly, agent),
    decider,
    deciderFor: (value) => new LiveDecider(client, relabelTarget(options.model, value)),
    model: options.model,
    identity: named(agent, agent.identityPolicies, options.model.tagKey, label),
    boundary: agent.boundary ? named(agent, [agent.boundary], options.model.tagKey, label)[0] : undefined,
    warnings,
  };
}

/** How long a live role's policies are trusted before IAM is asked again (a breaker may quarantine it meanwhile). */
const LIVE_TTL_MS = 30_000;

function fingerprint(directory: string): string {
  try {
    const stat = fs.statSync(path.join(directory, 'manifest.json'));
    return `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return 'missing';
  }
}

/** Builds the knowledge once, and again when the assembly changes (or, live, after a short while). */
export class KnowledgeSource {
  private cached?: { key: string; at: number; value: Promise<Knowledge> };
  private client?: IAMClient;

  constructor(public readonly options: KnowledgeOptions) {}

  public get(): Promise<Knowledge> {
    const key = fingerprint(this.options.assembly);
    const now = Date.now();
    const stale = !this.cached || this.cached.key !== key || (this.options.live && now - this.cached.at > LIVE_TTL_MS);
    if (stale) {
      const value = this.load();
      // A failed load is not cached: the next call tries again (after `cdk synth`, or once IAM answers).
      value.catch(() => {
        if (this.cached?.value === value) this.cached = undefined;
      });
      this.cached = { key, at: now, value };
    }
    return this.cached!.value;
  }

  public close(): void {
    this.client?.destroy();
  }

  private load(): Promise<Knowledge> {
    if (!this.options.live) return loadOffline(this.options);
    this.client ??= iamClient({ roleArn: this.options.roleArn!, region: this.options.region, endpoint: this.options.endpoint });
    return loadLive(this.options, this.client);
  }
}
