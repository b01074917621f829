import { ACTION_CLASS_MEMBERS } from '../../shared/action-classes.generated';
import { HARMFUL_ACTION_CLASSES } from '../../shared/action-classes';
import { CatalogEntry } from '../../shared/catalog-types';
import { DESTRUCTIVE_CATALOG, ESCALATION_CATALOG } from '../../shared/destructive-catalog.generated';
import { actionDetails, expandActionPattern, splitAction, wildcardRegex } from '../../shared/iam-data';
import { AgentModel } from '../model/agents';
import { ApprovalGateModel } from '../model/approval-gates';
import { ResourceModel } from '../model/production-resources';
import { toList } from '../../shared/list';
import { ambiguousFor, distinctSampleArn, resourceTypesFor, sampleArn } from './request-context';

/**
 * What verify asks of every agent. Each check is one action on one resource; the analysis decides
 * it under the action's realistic request context.
 * - `destroy`, `data`, `tagging`: the destructive catalog on a production resource.
 * - `escalation`: the threat model's escalation and tampering paths (IAM writes, control plane and
 *   audit writes, PassRole/AssumeRole outside any allow-list or of CDK's deploy roles, task tokens,
 *   new credentials).
 * - `delegation`: PassRole/AssumeRole of the app's other roles (reported; allowed ones are the
 *   agent's allow-list at work, not a finding).
 * - `modify`: the agent's own granted write actions on production resources (reported).
 * - `gate`: starting an approval gate's workflow, i.e. requesting its gated operations (reported).
 * - `harm`: the other actions of the harmful classes (HARMFUL_ACTION_CLASSES: disrupt, isolate, redirect,
 *   overwrite, run code, blind the guardrails, ...) that act on a production resource.
 */
export type CheckCategory = 'destroy' | 'data' | 'tagging' | 'escalation' | 'delegation' | 'modify' | 'gate' | 'harm';

export interface Check {
  readonly category: CheckCategory;
  /** Escalation group (`iam-write`, `pass-role`, ...), or the catalog reason. */
  readonly group: string;
  readonly action: string;
  readonly arn: string;
  /** The production resource, for resource checks. */
  readonly resource?: ResourceModel;
}

const CATEGORY_OF_CLASS = { resource: 'destroy', data: 'data', tagging: 'tagging' } as const;

let catalogByService: Map<string, CatalogEntry[]> | undefined;

function catalogFor(service: string): CatalogEntry[] {
  if (!catalogByService) {
    catalogByService = new Map();
    for (const entry of DESTRUCTIVE_CATALOG) {
      const s = entry[0].split(':')[0].toLowerCase();
      const list = catalogByService.get(s) ?? [];
      list.push(entry);
      catalogByService.set(s, list);
    }
  }
  return catalogByService.get(service) ?? [];
}

/** An object inside a bucket: S3's data-level deletes act on objects, not on the bucket. */
function childArns(resource: ResourceModel): string[] {
  return resource.type === 'AWS::S3::Bucket' ? [`${resource.arn}/any-object-key`] : [];
}

const resourceCheckCache = new Map<string, Check[]>();

const checksOfResource = new WeakMap<ResourceModel, Check[]>();

/**
 * resourceChecks and classChecks of one resource, the same array for the same resource object: every agent of a run
 * asks the same production resources. Read-only.
 */
export function allResourceChecks(resource: ResourceModel): readonly Check[] {
  let checks = checksOfResource.get(resource);
  if (!checks) {
    checks = [...resourceChecks(resource), ...classChecks(resource)];
    checksOfResource.set(resource, checks);
  }
  return checks;
}

/** The catalog actions that act on this resource (or its objects), per the IAM data. */
export function resourceChecks(resource: ResourceModel): Check[] {
  const key = `${resource.type}|${resource.arn}`;
  const cached = resourceCheckCache.get(key);
  if (cached) return cached.map((c) => ({ ...c, resource }));
  const service = resource.arn.split(':')[2] ?? '';
  const checks: Check[] = [];
  for (const [action, cls, reason] of catalogFor(service)) {
    for (const arn of [resource.arn, ...childArns(resource)]) {
      if (resourceTypesFor(action, arn).length > 0) {
        checks.push({ category: CATEGORY_OF_CLASS[cls], group: reason, action, arn, resource });
        break;
      }
    }
  }
  resourceCheckCache.set(key, checks);
  return checks;
}

let harmfulByService: Map<string, string[]> | undefined;

/** The actions of the harmful classes, by service prefix (lower case); an action in several classes once. */
function harmfulActionsOf(service: string): string[] {
  if (!harmfulByService) {
    harmfulByService = new Map();
    const seen = new Set<string>();
    for (const cls of HARMFUL_ACTION_CLASSES) {
      for (const action of ACTION_CLASS_MEMBERS[cls]) {
        if (seen.has(action)) continue;
        seen.add(action);
        const s = action.split(':')[0].toLowerCase();
        harmfulByService.set(s, [...(harmfulByService.get(s) ?? []), action]);
      }
    }
  }
  return harmfulByService.get(service) ?? [];
}

const classCheckCache = new Map<string, Check[]>();

/**
 * The actions of the harmful classes that act on this resource (or its objects), per the IAM data, that
 * the destructive catalog does not already ask (resourceChecks): what verify asks for the per-class view.
 */
export function classChecks(resource: ResourceModel): Check[] {
  const key = `${resource.type}|${resource.arn}`;
  const cached = classCheckCache.get(key);
  if (cached) return cached.map((c) => ({ ...c, resource }));
  const service = resource.arn.split(':')[2] ?? '';
  const asked = new Set(resourceChecks(resource).map((c) => c.action.toLowerCase()));
  const checks: Check[] = [];
  for (const action of harmfulActionsOf(service)) {
    if (asked.has(action.toLowerCase())) continue;
    for (const arn of [resource.arn, ...childArns(resource)]) {
      if (resourceTypesFor(action, arn).length > 0) {
        checks.push({ category: 'harm', group: 'harmful-class', action, arn, resource });
        break;
      }
    }
  }
  classCheckCache.set(key, checks);
  return checks;
}

let iamWrites: Array<{ action: string; onRole: boolean }> | undefined;
let controlPlaneWrites: Array<{ action: string; group: string }> | undefined;

/** The IAM writes of the escalation catalog (expanded once: the catalog is generated), and whether each acts on a role. */
const IAM_WRITES = () =>
  (iamWrites ??= [...new Set(ESCALATION_CATALOG.iamWrites.flatMap(expandActionPattern))].map((action) => ({
    action,
    onRole: actionDetails(action)?.resourceTypes.some((t) => t.name.toLowerCase() === 'role') ?? false,
  })));
const CONTROL_PLANE_WRITES = () =>
  (controlPlaneWrites ??= [...new Set(ESCALATION_CATALOG.controlPlaneWrites.flatMap(expandActionPattern))].map((action) => ({
    action,
    group: splitAction(action)?.service === 'cloudtrail' ? 'audit-trail' : 'control-plane',
  })));

const sampleArnCache = new Map<string, string>();

/** sampleArn, once per action, account and region: every agent of an account asks the same ones. */
function cachedSampleArn(action: string, account: string, region: string): string {
  const key = `${action}|${account}|${region}`;
  let arn = sampleArnCache.get(key);
  if (arn === undefined) {
    arn = sampleArn(action, account, region);
    sampleArnCache.set(key, arn);
  }
  return arn;
}

/** CDK's bootstrap roles (default qualifier): whoever assumes or passes them deploys with their power. */
export function cdkRoleArns(account: string, region: string): string[] {
  return ['deploy-role', 'cfn-exec-role', 'file-publishing-role', 'image-publishing-role', 'lookup-role'].map(
    (r) => `arn:aws:iam::${account}:role/cdk-hnb659fds-${r}-${account}-${region}`,
  );
}

/** A role outside every allow-list: allowing to pass or assume it means passing or assuming any role. */
export function unlistedRoleArn(account: string): string {
  return `arn:aws:iam::${account}:role/role-outside-any-allow-list`;
}

/** The escalation and tampering checks of the threat model for one agent. */
export function escalationChecks(agent: AgentModel, otherRoleArns: readonly string[]): Check[] {
  const { account, region } = agent.stack.env;
  const checks: Check[] = [];
  for (const { action, onRole } of IAM_WRITES()) {
    checks.push({ category: 'escalation', group: 'iam-write', action, arn: onRole ? agent.roleArn : cachedSampleArn(action, account, region) });
  }
  for (const { action, group } of CONTROL_PLANE_WRITES()) {
    checks.push({ category: 'escalation', group, action, arn: cachedSampleArn(action, account, region) });
  }
  for (const role of [...cdkRoleArns(account, region), unlistedRoleArn(account)]) {
    checks.push({ category: 'escalation', group: 'pass-role', action: 'iam:PassRole', arn: role });
    checks.push({ category: 'escalation', group: 'assume-role', action: 'sts:AssumeRole', arn: role });
  }
  for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat']) {
    checks.push({ category: 'escalation', group: 'task-token', action, arn: '*' });
  }
  for (const action of ['sts:GetFederationToken', 'sts:AssumeRoot']) {
    checks.push({ category: 'escalation', group: 'credentials', action, arn: cachedSampleArn(action, account, region) });
  }
  for (const role of otherRoleArns) {
    checks.push({ category: 'delegation', group: 'pass-role', action: 'iam:PassRole', arn: role });
    checks.push({ category: 'delegation', group: 'assume-role', action: 'sts:AssumeRole', arn: role });
  }
  return checks;
}

const WRITE_LEVELS = new Set(['Write', 'Permissions management', 'Tagging']);
const MAX_GRANTED_ACTIONS = 500;

/** The write actions the agent's own Allow statements name (service-wide wildcards excepted: the catalog covers them). */
export function grantedWriteActions(agent: AgentModel): string[] {
  const catalog = new Set(DESTRUCTIVE_CATALOG.map((e) => e[0].toLowerCase()));
  const actions = new Set<string>();
  for (const policy of agent.identityPolicies) {
    const statements = (policy.document as any)?.Statement;
    for (const statement of toList(statements)) {
      if (statement?.Effect !== 'Allow') continue;
      const list = toList(statement.Action);
      for (const pattern of list) {
        if (typeof pattern !== 'string' || pattern === '*' || /^[^:]+:\*$/.test(pattern)) continue;
        for (const action of expandActionPattern(pattern)) {
          if (!catalog.has(action.toLowerCase()) && WRITE_LEVELS.has(actionDetails(action)?.accessLevel ?? '')) actions.add(action);
          if (actions.size >= MAX_GRANTED_ACTIONS) return [...actions];
        }
      }
    }
  }
  return [...actions];
}

/** Checks of the agent's granted write actions on the production resources they act on. */
export function modifyChecks(actions: readonly string[], resources: readonly ResourceModel[]): Check[] {
  const checks: Check[] = [];
  for (const resource of resources) {
    const service = resource.arn.split(':')[2] ?? '';
    for (const action of actions) {
      if (splitAction(action)?.service !== service) continue;
      if (resourceTypesFor(action, resource.arn).length > 0)
        checks.push({ category: 'modify', group: 'granted', action, arn: resource.arn, resource });
    }
  }
  return checks;
}

/** Whether the agent may request the operations of each approval gate (start its workflow). */
export function gateChecks(gates: readonly ApprovalGateModel[]): Check[] {
  return gates.map((gate) => ({ category: 'gate', group: gate.id, action: 'states:StartExecution', arn: gate.stateMachineArn }));
}

/**
 * The pseudo-resource standing for every production resource the app does not define: an agent
 * with `s3:*` on `*` can delete buckets of other apps in the account. Untagged, so production under
 * the fail-closed model.
 */
export const OUTSIDE_APP: ResourceModel = {
  id: '(any production resource outside this app)',
  type: '(outside this app)',
  arn: '*',
  stack: '(outside this app)',
  tags: {},
  bucketAbac: false,
  production: true,
};

const OUTSIDE_NAME = 'outside-this-app';

/**
 * The action patterns the agent's Allow statements (identity policies and resource-policy grants)
 * name, or undefined when they may allow any action (`*`, NotAction, an unknown policy). An action
 * none of them names cannot be allowed, so it need not be evaluated.
 */
function allowedActionPatterns(agent: AgentModel): Map<string, RegExp[]> | undefined {
  if (agent.identityPolicies.some((p) => p.source === 'unknown')) return undefined;
  // A document not read as an object may allow anything.
  if (agent.identityPolicies.some((p) => typeof p.document !== 'object' || p.document === null || Array.isArray(p.document))) return undefined;
  const lists = [
    ...agent.identityPolicies.map((p) => statementAllowPatterns((p.document as any)?.Statement, p.document)),
    statementAllowPatterns((agent.resourceGrants ?? []).map((g) => g.statement)),
  ];
  if (lists.some((l) => l === undefined)) return undefined;
  // By service prefix (lower case), so that only that service's catalog entries are tested.
  const patterns = new Map<string, RegExp[]>();
  for (const [service, regex] of lists.flatMap((l) => l!)) {
    const list = patterns.get(service) ?? [];
    list.push(regex);
    patterns.set(service, list);
  }
  return patterns;
}

const namedOfDocument = new WeakMap<object, WeakMap<object, ReadonlySet<string>>>();

/**
 * The actions of `actions` (by lower-case service prefix) that mayBeAllowed(agent) lets through, worked out once per
 * policy document object and action list (documents are not changed once read; a managed policy's is shared by the
 * agents it is attached to).
 */
export function namedActions(agent: AgentModel, actions: ReadonlyMap<string, readonly string[]>): ReadonlySet<string> {
  const all = () => new Set([...actions.values()].flat());
  if (agent.identityPolicies.some((p) => p.source === 'unknown')) return all();
  const named = new Set<string>();
  const add = (patterns: ReadonlyArray<readonly [string, RegExp]> | undefined, into: Set<string>): boolean => {
    if (!patterns) return false;
    const byService = new Map<string, RegExp[]>();
    for (const [service, regex] of patterns) {
      const list = byService.get(service) ?? [];
      list.push(regex);
      byService.set(service, list);
    }
    for (const [service, regexes] of byService) {
      for (const action of actions.get(service) ?? []) {
        if (!into.has(action) && regexes.some((regex) => regex.test(action))) into.add(action);
      }
    }
    return true;
  };
  if (!add(statementAllowPatterns((agent.resourceGrants ?? []).map((g) => g.statement)), named)) return all();
  for (const policy of agent.identityPolicies) {
    const document = policy.document;
    // A document not read as an object (text that is no JSON object) may allow anything: every action is a candidate.
    if (typeof document !== 'object' || document === null || Array.isArray(document)) return all();
    const patterns = statementAllowPatterns((document as any)?.Statement, document);
    if (!patterns) return all();
    const byList = namedOfDocument.get(document) ?? new WeakMap<object, ReadonlySet<string>>();
    namedOfDocument.set(document, byList);
    let own = byList.get(actions);
    if (!own) {
      const set = new Set<string>();
      add(patterns, set);
      own = set;
      byList.set(actions, own);
    }
    own.forEach((a) => named.add(a));
  }
  return named;
}

const patternsOfDocument = new WeakMap<object, ReadonlyArray<readonly [string, RegExp]> | undefined>();

/**
 * The action patterns the Allow statements name, by lower-case service prefix, or undefined when they may allow any
 * action. Once per policy document object (documents are not changed once read; a managed policy's is shared).
 */
function statementAllowPatterns(statements: unknown, document?: unknown): ReadonlyArray<readonly [string, RegExp]> | undefined {
  const cacheable = typeof document === 'object' && document !== null;
  if (cacheable && patternsOfDocument.has(document)) return patternsOfDocument.get(document);
  let patterns: Array<readonly [string, RegExp]> | undefined = [];
  for (const statement of toList(statements) as any[]) {
    if (statement?.Effect !== 'Allow') continue;
    if (statement.NotAction !== undefined) {
      patterns = undefined;
      break;
    }
    for (const raw of Array.isArray(statement.Action) ? statement.Action : [statement.Action]) {
      // As the evaluator reads an action: surrounding spaces do not count.
      const pattern = typeof raw === 'string' ? raw.trim() : raw;
      const service = typeof pattern === 'string' ? pattern.split(':')[0].toLowerCase() : '*';
      if (typeof pattern !== 'string' || pattern === '*' || /[*?]/.test(service) || !pattern.includes(':')) {
        patterns = undefined;
        break;
      }
      patterns.push([service, wildcardRegex(pattern)]);
    }
    if (!patterns) break;
  }
  if (cacheable) patternsOfDocument.set(document, patterns);
  return patterns;
}

/**
 * Whether some Allow of the agent (identity policies, resource-policy grants) names the action; true for every
 * action when they may allow any (`*`, NotAction, an unknown policy). An action none names cannot be allowed: the
 * synth-time rule pack, which only reports what is allowed, skips evaluating it.
 */
export function mayBeAllowed(agent: AgentModel): (action: string) => boolean {
  const patterns = allowedActionPatterns(agent);
  if (!patterns) return () => true;
  const known = new Map<string, boolean>();
  return (action) => {
    let named = known.get(action);
    if (named === undefined) {
      named = (patterns.get(action.split(':')[0].toLowerCase()) ?? []).some((p) => p.test(action));
      known.set(action, named);
    }
    return named;
  };
}

/**
 * The destructive catalog on a sample untagged resource of each action's own type, in the agent's
 * account and region but outside this app. Actions no Allow of the agent names are skipped: they
 * cannot be allowed.
 */
export function outsideChecks(agent: AgentModel, options: { readonly skipAmbiguous?: boolean } = {}): { checks: Check[]; skipped: string[] } {
  const { account, region } = agent.stack.env;
  const patterns = allowedActionPatterns(agent);
  const checks: Check[] = [];
  const skipped: string[] = [];
  const entries = patterns
    ? [...patterns.entries()].flatMap(([service, list]) => catalogFor(service).filter(([action]) => list.some((p) => p.test(action))))
    : DESTRUCTIVE_CATALOG;
  for (const [action, cls, reason] of entries) {
    const arn = distinctSampleArn(action, account, region, OUTSIDE_NAME);
    // Two resource types of the action share one ARN format: IAM's simulator may refuse to pick one.
    if (options.skipAmbiguous && ambiguousFor(action, arn)) {
      skipped.push(action);
      continue;
    }
    checks.push({ category: CATEGORY_OF_CLASS[cls], group: reason, action, arn, resource: OUTSIDE_APP });
  }
  return { checks, skipped };
}
