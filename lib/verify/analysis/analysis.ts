import { CATALOG_IAM_DATA_VERSION } from '../../shared/destructive-catalog.generated';
import { wildcardRegex } from '../../shared/iam-data';
import { isSpecificLiteralArn } from '../../shared/arns';
import { AgentModel, AgentPolicy, PolicySource } from '../model/agents';
import { ApprovalGateModel, GatedOperationModel } from '../model/approval-gates';
import { HARMFUL_ACTION_CLASSES, classesOf } from '../../shared/action-classes';
import {
  Check,
  OUTSIDE_APP,
  allResourceChecks,
  escalationChecks,
  gateChecks,
  grantedWriteActions,
  mayBeAllowed,
  modifyChecks,
  outsideChecks,
} from './checks';
import { ProductionModel, ResourceModel } from '../model/production-resources';
import { toList } from '../../shared/list';
import { GUARDRAIL_COMPONENT_TAG } from '../../shared/tags';

/**
 * The outcome of one check.
 * - `allowed`: the agent can do it (a finding for destroy, data, tagging and escalation checks).
 * - `granted`: a data-level delete the agent was explicitly granted on exactly this resource
 *   (the guard keeps such grants working by design); reported, not a finding.
 * - `denied`: explicitly denied (the guard, the escalation denies or the boundary).
 * - `not-granted`: nothing allows it.
 * - `unknown`: it depends on a policy verify has no document for.
 */
export type Status = 'allowed' | 'granted' | 'denied' | 'not-granted' | 'unknown';

/** The raw decision of a decider for one check. */
export type RawDecision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied' | 'Unknown';

/** The decisions for one agent's checks. */
export interface Decisions {
  readonly decisions: RawDecision[];
  /**
   * Per check: whether an Allowed or Unknown decision rests on an assumption about a condition key
   * verify does not model (the condition was assumed to hold for an Allow, not to apply for a Deny).
   */
  readonly relied: boolean[];
  /** The unmodelled condition keys assumed for this agent. */
  readonly assumedKeys: string[];
  /** Per check: for an Allowed decision, the statement that allowed it (`policy#Sid`), when the decider can tell. */
  readonly allowedBy?: Array<string | undefined>;
}

/** Decides the checks of one agent: the offline evaluator, or IAM's simulator (--live). */
export interface Decider {
  decide(agent: AgentModel, checks: readonly Check[]): Promise<Decisions>;
}

/** A decider that answers without waiting (the offline evaluator): what the synth-time rule pack uses. */
export interface SyncDecider extends Decider {
  decideSync(agent: AgentModel, checks: readonly Check[]): Decisions;
}

/** The harmful classes verify decides per production resource (lib/shared/action-classes.ts, generated lists). */
export const HARM_CLASSES: readonly string[] = HARMFUL_ACTION_CLASSES;

/** The harmful classes as a person says them (column headings of the per-class view). */
export const CLASS_LABEL: Readonly<Record<string, string>> = Object.freeze({
  'destructive': 'destroy',
  'data-destructive': 'overwrite',
  'disruptive': 'disrupt',
  'network-isolation': 'isolate',
  'traffic': 'redirect',
  'reconfigure': 'reconfigure',
  'code-execution': 'run code',
  'guardrail-blinding': 'blind',
});

/** What one harmful class looks like on one resource: `gated` = only through the named approval gate; `none` = no action of it applies. */
export type ClassStatus = Status | 'gated' | 'none';

/** An action of a harmful class the agent can perform on a production resource: a finding. */
export interface HarmFinding {
  readonly resource: string;
  readonly stack: string;
  readonly class: string;
  readonly action: string;
  /** The statement that allowed it (`policy#Sid`), or why it is not named. */
  readonly statement: string;
}

/** One harmful class on one resource, as seen by one agent. */
export interface ClassCell {
  readonly status: ClassStatus;
  readonly checked: number;
  readonly denied: number;
  /** Allowed actions of the class (findings), with the statement that allowed each. */
  readonly allowed: Array<{ readonly action: string; readonly statement: string }>;
  /** Allowed only because they were explicitly granted on exactly this resource (invariant 1b; never for `destructive`). */
  readonly granted: string[];
  /** Actions of the class the agent can only request through an approval gate: `action (gate id)`. */
  readonly gated: string[];
  readonly unknown: string[];
}

/** One production resource as seen by one agent. */
export interface ResourceVerdict {
  readonly resource: string;
  readonly type: string;
  readonly arn: string;
  readonly stack: string;
  /** The cell of the matrix: the worst status among the resource's destructive checks. */
  readonly status: Status;
  readonly canDestroy: string[];
  readonly canDeleteData: string[];
  readonly canRetag: string[];
  readonly unknown: string[];
  /** Data-level deletes explicitly granted on this resource (kept working by the guard). */
  readonly grantedData: string[];
  /** Granted write actions that do not destroy. */
  readonly canModify: string[];
  /** Operations on this resource the agent can request through an approval gate (a human decides). */
  readonly gated: string[];
  readonly denied: number;
  readonly notGranted: number;
  readonly checked: number;
  /** Checked and denied actions per kind of destruction. */
  readonly byCategory: Record<'destroy' | 'data' | 'tagging', { checked: number; denied: number }>;
  /** The harmful classes (HARM_CLASSES), each decided action by action. */
  readonly byClass: Record<string, ClassCell>;
}

export interface EscalationFinding {
  readonly group: string;
  readonly action: string;
  readonly resource: string;
}

export interface EscalationVerdict {
  readonly status: Status;
  readonly allowed: EscalationFinding[];
  readonly unknown: EscalationFinding[];
  /** PassRole / AssumeRole of the app's other roles that are allowed (the agent's allow-list). */
  readonly delegations: EscalationFinding[];
  readonly denied: number;
  readonly notGranted: number;
  readonly checked: number;
}

export interface AgentVerdict {
  readonly agent: string;
  readonly roleArn: string;
  readonly stack: string;
  readonly constructPath?: string;
  readonly detectedBy: string;
  readonly policies: Array<{ name: string; source: PolicySource; arn?: string }>;
  readonly boundary?: { name: string; source: PolicySource; arn?: string };
  readonly unresolvedValues: string[];
  readonly resources: ResourceVerdict[];
  readonly escalation: EscalationVerdict;
  /** The approval gates the agent can request operations of. */
  readonly gates: Array<{ gate: string; operations: GatedOperationModel[] }>;
  /**
   * Condition keys verify does not model that the agent's policies use: an Allow conditioned on one
   * is assumed to hold, a Deny conditioned on one is assumed not to apply (fail closed).
   */
  readonly assumed: string[];
  /** Catalog actions not asked on resources outside the app (--live only: their resource types share one ARN format). */
  readonly outsideNotAsked: string[];
  /** How many findings (destroy, data, tagging, escalation, unknown) hold only under those assumptions. */
  readonly assumedFindings: number;
  /** Resource-based policies of the app that grant this agent something (evaluated with its own policies). */
  readonly resourceGrants: Array<{ source: string; scope: 'role' | 'session'; certain: boolean }>;
  readonly canDestroyProduction: boolean;
  /** Every action of a harmful class the agent can perform on a production resource of the app. */
  readonly harms: HarmFinding[];
  readonly canHarmProduction: boolean;
  readonly canEscalate: boolean;
  /** Some answer depends on a policy verify could not read. */
  readonly uncertain: boolean;
}

export interface VerifyReport {
  readonly tool: string;
  readonly mode: 'offline' | 'live';
  readonly assembly: string;
  readonly catalogVersion: string;
  readonly productionModel: ProductionModel & { readonly rule: string };
  /** `component`: the library's own part (its `guardrails:component` tag value), reported apart from the user's resources. */
  readonly productionResources: Array<{ id: string; type: string; arn: string; stack: string; component?: string }>;
  /** Resources whose tag marks them disposable: not evaluated. */
  readonly nonProductionResources: string[];
  readonly notAssessed: Record<string, number>;
  readonly agents: AgentVerdict[];
  readonly warnings: string[];
  readonly summary: {
    readonly agents: number;
    readonly productionResources: number;
    readonly evaluations: number;
    readonly agentsThatCanDestroyProduction: string[];
    readonly agentsThatCanHarmProduction: string[];
    readonly agentsThatCanEscalate: string[];
    readonly uncertainAgents: string[];
    readonly clean: boolean;
  };
}

const SEVERITY: Status[] = ['allowed', 'unknown', 'granted', 'denied', 'not-granted'];

function worst(statuses: Iterable<Status>, fallback: Status): Status {
  let best = SEVERITY.length;
  for (const s of statuses) best = Math.min(best, SEVERITY.indexOf(s));
  return best === SEVERITY.length ? fallback : SEVERITY[best];
}

function tally(results: Array<{ check: Check; status: Status }>, category: string): { checked: number; denied: number } {
  const of = results.filter((r) => r.check.category === category);
  return { checked: of.length, denied: of.filter((r) => r.status === 'denied').length };
}

const wildcardCache = new Map<string, RegExp>();

/** wildcardRegex, compiled once per pattern: explicit-grant and gate matching ask the same few patterns for every check. */
function patternRegex(pattern: string): RegExp {
  let regex = wildcardCache.get(pattern);
  if (!regex) {
    regex = wildcardRegex(pattern);
    if (wildcardCache.size > 50_000) wildcardCache.clear();
    wildcardCache.set(pattern, regex);
  }
  return regex;
}

/**
 * Whether a data-level action on this ARN was granted explicitly: an Allow statement names the
 * action (not through `*` or `service:*`) on specific resources that include this one.
 */
export function explicitlyGranted(policies: readonly AgentPolicy[], action: string, arn: string): boolean {
  return explicitGrants(policies)(action, arn);
}

type GrantTest = (action: string, arn: string) => boolean;

const grantTests = new WeakMap<readonly AgentPolicy[], GrantTest>();

/** explicitlyGranted for one agent's policies, their statements read once per policy list (for many actions and ARNs). */
export function explicitGrants(policies: readonly AgentPolicy[]): GrantTest {
  let test = grantTests.get(policies);
  if (!test) {
    test = compileGrants(policies);
    grantTests.set(policies, test);
  }
  return test;
}

function compileGrants(policies: readonly AgentPolicy[]): GrantTest {
  // By the lower-case service prefix of the named action (a prefix with a wildcard under '*'): a name of another
  // service cannot match.
  const grants = new Map<string, Array<{ readonly name: RegExp; readonly resources: RegExp[] }>>();
  for (const policy of policies) {
    for (const statement of toList((policy.document as any)?.Statement) as any[]) {
      if (statement?.Effect !== 'Allow' || statement.Action === undefined) continue;
      const names = toList(statement.Action).filter((p): p is string => typeof p === 'string' && p !== '*' && !/^[^:]+:\*$/.test(p));
      const resources = toList(statement.Resource).filter((r): r is string => typeof r === 'string' && isSpecificLiteralArn(r));
      if (resources.length === 0) continue;
      for (const name of names) {
        const service = name.includes(':') && !/[*?]/.test(name.split(':')[0]) ? name.split(':')[0].toLowerCase() : '*';
        const list = grants.get(service) ?? [];
        list.push({ name: patternRegex(name), resources: resources.map(patternRegex) });
        grants.set(service, list);
      }
    }
  }
  const matches = (list: ReadonlyArray<{ readonly name: RegExp; readonly resources: RegExp[] }> | undefined, action: string, arn: string) =>
    (list ?? []).some((g) => g.name.test(action) && g.resources.some((r) => r.test(arn)));
  return (action, arn) => matches(grants.get(action.split(':')[0].toLowerCase()), action, arn) || matches(grants.get('*'), action, arn);
}

function statusOf(check: Check, decision: RawDecision, agent: AgentModel): Status {
  switch (decision) {
    case 'Allowed':
      return check.category === 'data' && explicitlyGranted(agent.identityPolicies, check.action, check.arn) ? 'granted' : 'allowed';
    case 'ExplicitlyDenied':
      return 'denied';
    case 'ImplicitlyDenied':
      return 'not-granted';
    default:
      return 'unknown';
  }
}

export interface AnalysisInput {
  readonly assembly: string;
  readonly mode: 'offline' | 'live';
  readonly agents: readonly AgentModel[];
  readonly production: readonly ResourceModel[];
  readonly nonProduction?: readonly ResourceModel[];
  readonly notAssessed: Record<string, number>;
  readonly otherRoleArns: readonly string[];
  readonly gates?: readonly ApprovalGateModel[];
  readonly model: ProductionModel;
  readonly decider: Decider;
  readonly onProgress?: (done: number, total: number) => void;
  readonly warnings?: string[];
  /**
   * Ask only what decides the per-class view (the production resources of the app and the approval gates),
   * not escalation or resources outside the app: the synth-time rule pack, whose other rules cover those.
   * @default false
   */
  readonly productionResourcesOnly?: boolean;
}

/** What verify asks of one agent, in the order the decider answers. */
export function agentChecks(agent: AgentModel, input: AnalysisInput, warnings: string[]): { checks: Check[]; skipped: string[] } {
  const resourceCheckList = input.production.map((r) => allResourceChecks(r));
  if (input.productionResourcesOnly) {
    // Only what may be allowed is asked: the rest cannot be a finding (its denied / not-granted split is verify's report, not the rule's).
    const named = mayBeAllowed(agent);
    return { checks: [...resourceCheckList.flat().filter((c) => named(c.action)), ...gateChecks(input.gates ?? [])], skipped: [] };
  }
  const escalation = escalationChecks(agent, input.otherRoleArns);
  const modify = modifyChecks(grantedWriteActions(agent), input.production);
  const gates = gateChecks(input.gates ?? []);
  const { checks: outside, skipped } = outsideChecks(agent, { skipAmbiguous: input.mode === 'live' });
  if (skipped.length > 0) {
    warnings.push(
      `agent ${agent.name}: ${skipped.join(', ')} not asked of IAM on resources outside this app (the action's resource types share one ARN ` +
        `format); the offline run checks them.`,
    );
  }
  return { checks: [...resourceCheckList.flat(), ...outside, ...escalation, ...modify, ...gates], skipped };
}

/** The harmful classes an action of a check counts in (the catalog's destroy and data deletes always count). */
export function harmClassesOf(check: Check): string[] {
  if (check.category !== 'destroy' && check.category !== 'data' && check.category !== 'modify' && check.category !== 'harm') return [];
  const classes: string[] = classesOf(check.action).filter((c) => HARM_CLASSES.includes(c));
  if (check.category === 'destroy' && !classes.includes('destructive')) classes.unshift('destructive');
  if (check.category === 'data' && !classes.includes('data-destructive')) classes.push('data-destructive');
  return classes;
}

/**
 * Invariant 1b: whether an explicit grant on exactly this resource makes an allowed action of the class the user's
 * choice (`granted`, not a finding). Destroying the resource never is; a data-level delete (the catalog's `data`
 * checks, such as consuming a queue's messages) stays grantable.
 */
export function grantableIn(cls: string, check: Check): boolean {
  return cls !== 'destructive' || check.category === 'data';
}

const CLASS_SEVERITY: ClassStatus[] = ['allowed', 'unknown', 'granted', 'gated', 'denied', 'not-granted', 'none'];

function classCells(
  results: ReadonlyArray<{ check: Check; status: Status; allowedBy?: string }>,
  agent: AgentModel,
  gated: ReadonlyMap<string, string>,
): Record<string, ClassCell> {
  // One pass over the results: each action lands in the cells of its classes, once per class.
  const cells = new Map(
    HARM_CLASSES.map((cls) => [
      cls,
      {
        status: 'none' as ClassStatus,
        seen: new Set<string>(),
        checked: 0,
        denied: 0,
        allowed: [] as ClassCell['allowed'][number][],
        granted: [] as string[],
        gated: [] as string[],
        unknown: [] as string[],
      },
    ]),
  );
  for (const r of results) {
    const classes = harmClassesOf(r.check);
    if (classes.length === 0) continue;
    const key = r.check.action.toLowerCase();
    let granted: boolean | undefined;
    for (const cls of classes) {
      const cell = cells.get(cls)!;
      if (cell.seen.has(key)) continue;
      cell.seen.add(key);
      cell.checked++;
      let s: ClassStatus = r.status;
      // Invariant 1b: an explicit grant on exactly this resource is the user's choice, destroying the resource excepted
      // (a data-level delete, such as consuming a queue's messages, stays grantable: the catalog's `data` checks).
      const grantable = grantableIn(cls, r.check);
      if (s === 'allowed' && grantable && (granted ??= explicitlyGranted(agent.identityPolicies, r.check.action, r.check.arn))) s = 'granted';
      if (s === 'granted' && !grantable) s = 'allowed';
      if ((s === 'denied' || s === 'not-granted') && gated.has(key)) s = 'gated';
      if (s === 'allowed') cell.allowed.push({ action: r.check.action, statement: r.allowedBy ?? 'not named (IAM does not report it)' });
      else if (s === 'granted') cell.granted.push(r.check.action);
      else if (s === 'gated') cell.gated.push(`${r.check.action} (${gated.get(key)})`);
      else if (s === 'unknown') cell.unknown.push(r.check.action);
      else if (s === 'denied') cell.denied++;
      if (CLASS_SEVERITY.indexOf(s) < CLASS_SEVERITY.indexOf(cell.status)) cell.status = s;
    }
  }
  const out: Record<string, ClassCell> = {};
  for (const [cls, { seen: _seen, ...cell }] of cells) out[cls] = cell;
  return out;
}

/** Runs every check of every agent and builds the report. */
export async function analyse(input: AnalysisInput): Promise<VerifyReport> {
  const verdicts: AgentVerdict[] = [];
  let evaluations = 0;
  const warnings = [...(input.warnings ?? [])];
  for (const [index, agent] of input.agents.entries()) {
    const { checks, skipped } = agentChecks(agent, input, warnings);
    const decided = await input.decider.decide(agent, checks);
    evaluations += checks.length;
    verdicts.push(agentVerdict(agent, input, { checks, skipped }, decided, warnings));
    input.onProgress?.(index + 1, input.agents.length);
  }
  return report(input, verdicts, evaluations, warnings);
}

/** One agent's verdict without waiting (the offline evaluator), for the synth-time rule pack. */
export function analyseAgentSync(agent: AgentModel, input: AnalysisInput & { readonly decider: SyncDecider }, warnings: string[]): AgentVerdict {
  const asked = agentChecks(agent, input, warnings);
  return agentVerdict(agent, input, asked, input.decider.decideSync(agent, asked.checks), warnings);
}

function agentVerdict(
  agent: AgentModel,
  input: AnalysisInput,
  { checks, skipped }: { readonly checks: readonly Check[]; readonly skipped: string[] },
  decided: Decisions,
  warnings: string[],
): AgentVerdict {
  {
    const { decisions, relied, assumedKeys } = decided;
    const statuses = checks.map((c, i) => statusOf(c, decisions[i], agent));
    // Findings that hold only because a condition on an unmodelled key was assumed (reported, still findings).
    const assumedFindings = checks.filter(
      (c, i) => relied[i] && c.category !== 'modify' && c.category !== 'gate' && c.category !== 'delegation',
    ).length;

    const byResource = new Map<ResourceModel, Array<{ check: Check; status: Status; allowedBy?: string }>>();
    const escalationResults: Array<{ check: Check; status: Status }> = [];
    const requestable = new Set<string>();
    checks.forEach((check, i) => {
      if (check.category === 'gate') {
        if (statuses[i] === 'allowed') requestable.add(check.group);
      } else if (check.resource) {
        const list = byResource.get(check.resource) ?? [];
        list.push({ check, status: statuses[i], allowedBy: decided.allowedBy?.[i] });
        byResource.set(check.resource, list);
      } else {
        escalationResults.push({ check, status: statuses[i] });
      }
    });
    const agentGates = (input.gates ?? []).filter((g) => requestable.has(g.id)).map((g) => ({ gate: g.id, operations: g.operations }));
    const gatedBy = (arn: string) => {
      const byAction = new Map<string, string>();
      for (const g of agentGates) {
        for (const op of g.operations) {
          if (op.resources.some((r) => patternRegex(r).test(arn))) byAction.set(op.action.toLowerCase(), `approval gate ${g.gate}`);
        }
      }
      return byAction;
    };
    const gatedOn = (arn: string) => [
      ...new Set(
        agentGates
          .flatMap((g) => g.operations)
          .filter((op) => op.resources.some((r) => patternRegex(r).test(arn)))
          .map((op) => op.action),
      ),
    ];
    const resources: ResourceVerdict[] = [...input.production, OUTSIDE_APP].map((resource) => {
      const results = byResource.get(resource) ?? [];
      const destructive = results.filter((r) => r.check.category !== 'modify' && r.check.category !== 'harm');
      const pick = (category: string, status: Status) => [
        ...new Set(results.filter((r) => r.check.category === category && r.status === status).map((r) => r.check.action)),
      ];
      return {
        resource: resource.id,
        type: resource.type,
        arn: resource.arn,
        stack: resource.stack,
        status: worst(
          destructive.map((r) => r.status),
          'not-granted',
        ),
        canDestroy: pick('destroy', 'allowed'),
        canDeleteData: pick('data', 'allowed'),
        canRetag: pick('tagging', 'allowed'),
        unknown: [...new Set(destructive.filter((r) => r.status === 'unknown').map((r) => r.check.action))],
        grantedData: pick('data', 'granted'),
        canModify: pick('modify', 'allowed'),
        gated: gatedOn(resource.arn),
        denied: destructive.filter((r) => r.status === 'denied').length,
        notGranted: destructive.filter((r) => r.status === 'not-granted').length,
        checked: destructive.length,
        byCategory: {
          destroy: tally(destructive, 'destroy'),
          data: tally(destructive, 'data'),
          tagging: tally(destructive, 'tagging'),
        },
        byClass: classCells(results, agent, gatedBy(resource.arn)),
      };
    });
    const finding = (r: { check: Check }) => ({ group: r.check.group, action: r.check.action, resource: r.check.arn });
    const escalationOnly = escalationResults.filter((r) => r.check.category === 'escalation');
    const escalationVerdict: EscalationVerdict = {
      status: worst(
        escalationOnly.map((r) => r.status),
        'not-granted',
      ),
      allowed: escalationOnly.filter((r) => r.status === 'allowed').map(finding),
      unknown: escalationOnly.filter((r) => r.status === 'unknown').map(finding),
      delegations: escalationResults.filter((r) => r.check.category === 'delegation' && r.status === 'allowed').map(finding),
      denied: escalationOnly.filter((r) => r.status === 'denied').length,
      notGranted: escalationOnly.filter((r) => r.status === 'not-granted').length,
      checked: escalationOnly.length,
    };
    const canDestroyProduction = resources.some((r) => r.canDestroy.length + r.canDeleteData.length + r.canRetag.length > 0);
    // Per resource of the app: outside it, the catalog's destroy and data checks above speak (canDestroyProduction).
    const harms: HarmFinding[] = resources
      .filter((r) => r.arn !== OUTSIDE_APP.arn)
      .flatMap((r) =>
        HARM_CLASSES.flatMap((cls) =>
          r.byClass[cls].allowed.map((a) => ({ resource: r.resource, stack: r.stack, class: cls, action: a.action, statement: a.statement })),
        ),
      );
    const canHarmProduction = harms.length > 0;
    const canEscalate = escalationVerdict.allowed.length > 0;
    const uncertainClasses = resources.some((r) => HARM_CLASSES.some((cls) => r.byClass[cls].unknown.length > 0));
    const uncertain = resources.some((r) => r.unknown.length > 0) || escalationVerdict.unknown.length > 0 || uncertainClasses;
    const grantSources = [...new Set((agent.resourceGrants ?? []).map((g) => `${g.source}${g.certain ? '' : ' (UNKNOWN principal or resource)'}`))];
    if (grantSources.length > 0) {
      warnings.push(
        `agent ${agent.name}: resource-based policies grant it access and were evaluated with its own policies: ${grantSources.join('; ')}.`,
      );
    }
    if (assumedFindings > 0) {
      warnings.push(
        `agent ${agent.name}: ${assumedFindings} finding(s) assume conditions on keys verify does not model hold for the agent (assumed: ` +
          `${assumedKeys.join(', ')}). verify fails closed on them; narrow the policy or check with --live.`,
      );
    }
    const describe = (p: AgentPolicy) => ({ name: p.name, source: p.source, ...(p.arn ? { arn: p.arn } : {}) });
    if (agent.unresolved.length > 0) {
      warnings.push(
        `agent ${agent.name}: its policies hold values verify could not resolve offline ` +
          `(${agent.unresolved.slice(0, 5).join('; ')}${agent.unresolved.length > 5 ? '; ...' : ''}); statements using them match nothing. Use ` +
          `--live for the deployed role.`,
      );
    }
    for (const p of [...agent.identityPolicies, ...(agent.boundary ? [agent.boundary] : [])].filter((p) => p.source === 'unknown')) {
      warnings.push(
        `agent ${agent.name}: managed policy ${p.arn} is UNKNOWN (verify ships no document for it); it was evaluated as if it allowed everything. ` +
          `Use --live to ask IAM.`,
      );
    }
    return {
      agent: agent.name,
      roleArn: agent.roleArn,
      stack: agent.stack.displayName,
      constructPath: agent.constructPath,
      detectedBy: agent.detectedBy,
      policies: agent.identityPolicies.map(describe),
      boundary: agent.boundary ? describe(agent.boundary) : undefined,
      unresolvedValues: agent.unresolved,
      resources,
      escalation: escalationVerdict,
      gates: agentGates,
      assumed: assumedKeys,
      outsideNotAsked: skipped,
      assumedFindings,
      resourceGrants: (agent.resourceGrants ?? []).map((g) => ({ source: g.source, scope: g.scope, certain: g.certain })),
      canDestroyProduction,
      harms,
      canHarmProduction,
      canEscalate,
      uncertain,
    };
  }
}

function report(input: AnalysisInput, verdicts: AgentVerdict[], evaluations: number, warnings: string[]): VerifyReport {
  const names = (f: (v: AgentVerdict) => boolean) => verdicts.filter(f).map((v) => v.agent);
  const summary = {
    agents: verdicts.length,
    productionResources: input.production.length,
    evaluations,
    agentsThatCanDestroyProduction: names((v) => v.canDestroyProduction),
    agentsThatCanHarmProduction: names((v) => v.canHarmProduction),
    agentsThatCanEscalate: names((v) => v.canEscalate),
    uncertainAgents: names((v) => v.uncertain),
    clean: verdicts.every((v) => !v.canDestroyProduction && !v.canHarmProduction && !v.canEscalate && !v.uncertain),
  };
  return {
    tool: 'cdk-agent-guardrails verify',
    mode: input.mode,
    assembly: input.assembly,
    catalogVersion: CATALOG_IAM_DATA_VERSION,
    productionModel: {
      ...input.model,
      rule:
        `fail closed: a resource is production unless its "${input.model.tagKey}" tag (on the resource, else its stack) is one of ` +
        `${input.model.nonProductionValues.join(', ')}; untagged is production`,
    },
    productionResources: input.production.map((r) => {
      const component = Object.entries(r.tags).find(([k]) => k.toLowerCase() === GUARDRAIL_COMPONENT_TAG)?.[1];
      return { id: r.id, type: r.type, arn: r.arn, stack: r.stack, ...(component !== undefined ? { component } : {}) };
    }),
    nonProductionResources: (input.nonProduction ?? []).map((r) => r.id),
    notAssessed: input.notAssessed,
    agents: verdicts,
    warnings,
    summary,
  };
}
