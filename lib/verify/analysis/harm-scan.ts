import { AgentModel } from '../model/agents';
import { AllowingRef, OfflineDecider, knownPolicyNames, refName } from '../deciders/offline-decider';
import { Check, allResourceChecks, namedActions } from './checks';
import { HARM_CLASSES, HarmFinding, explicitGrants, grantableIn, harmClassesOf } from './analysis';
import { ResourceModel } from '../model/production-resources';

/** A finding of one agent's content, its allowing statement still an index into the agent's policies. */
interface ScannedHarm {
  readonly resource: ResourceModel;
  readonly class: string;
  readonly action: string;
  readonly ref?: AllowingRef;
}

/**
 * The synth-time rule pack's question of verify, for many agents of one synthesized app: which actions of a harmful
 * class each agent can perform on each production resource of the app, with the statement that allows each. The
 * answer equals `analyseAgentSync(...).harms` (test/checks/agent-harm-memo-equivalence.test.ts) without building the
 * rest of a verdict: only actions some Allow of the agent can apply to are evaluated (OfflineDecider.allowedSync),
 * and agents with the same policy content (agents of one stack often are) are scanned once. Lives for one run of the
 * pack (one synth): nothing is kept across synths.
 */
export class ProductionHarmScan {
  private readonly byContent = new Map<string, ScannedHarm[]>();
  /** The checks that decide a class on a resource, in the order of the resources and of their checks. */
  private readonly deciding: Check[] = [];
  /** Action -> indexes into `deciding`. */
  private readonly byAction = new Map<string, number[]>();
  /** The actions of `byAction`, by lower-case service prefix. */
  private readonly actions = new Map<string, string[]>();
  /**
   * Per check of a production resource: the harmful classes it decides on that resource, i.e. those in which it is
   * the first check of its action (as classCells reads a resource's results), and the resource's index.
   */
  private readonly decides = new Map<Check, { readonly resource: number; readonly classes: readonly string[] }>();

  constructor(
    private readonly production: readonly ResourceModel[],
    private readonly decider: OfflineDecider,
  ) {
    production.forEach((resource, r) => {
      const seen = new Set<string>();
      for (const check of allResourceChecks(resource)) {
        const action = check.action.toLowerCase();
        const classes = harmClassesOf(check).filter((cls) => !seen.has(`${cls}|${action}`));
        classes.forEach((cls) => seen.add(`${cls}|${action}`));
        if (classes.length === 0) continue;
        this.decides.set(check, { resource: r, classes });
        const at = this.byAction.get(check.action) ?? [];
        at.push(this.deciding.push(check) - 1);
        this.byAction.set(check.action, at);
      }
    });
    for (const action of this.byAction.keys()) {
      const service = action.split(':')[0].toLowerCase();
      this.actions.set(service, [...(this.actions.get(service) ?? []), action]);
    }
  }

  /** Every action of a harmful class the agent can perform on a production resource of the app, as analyseAgentSync lists them. */
  public harmsOf(agent: AgentModel): HarmFinding[] {
    // Only what some Allow names can be allowed: the rest is not asked (its denied / not-granted split is verify's report).
    const candidates = this.candidatesOf(agent);
    if (candidates.length === 0) return [];
    const key = this.decider.contentKey(agent);
    let scanned = this.byContent.get(key);
    if (!scanned) {
      scanned = this.scan(agent, candidates);
      this.byContent.set(key, scanned);
    }
    if (scanned.length === 0) return [];
    const names = knownPolicyNames(agent);
    const statements = new Map<AllowingRef | undefined, string>();
    return scanned.map((h) => {
      let statement = statements.get(h.ref);
      if (statement === undefined) {
        statement = h.ref ? refName(h.ref, names) : 'not named (IAM does not report it)';
        statements.set(h.ref, statement);
      }
      return { resource: h.resource.id, stack: h.resource.stack, class: h.class, action: h.action, statement };
    });
  }

  /** The checks of the production resources whose action some Allow of the agent names, in check order. */
  private candidatesOf(agent: AgentModel): Check[] {
    const named = namedActions(agent, this.actions);
    if (named.size === 0) return [];
    const indexes: number[] = [];
    for (const action of named) indexes.push(...this.byAction.get(action)!);
    return indexes.sort((a, b) => a - b).map((i) => this.deciding[i]);
  }

  private scan(agent: AgentModel, candidates: readonly Check[]): ScannedHarm[] {
    const refs = this.decider.allowedSync(agent, candidates);
    const granted = explicitGrants(agent.identityPolicies);
    // Per resource and class, in check order (candidates keep the order of the resource's checks).
    const found = new Map<number, Map<string, ScannedHarm[]>>();
    candidates.forEach((check, i) => {
      if (refs[i] === undefined) return;
      const { resource, classes } = this.decides.get(check)!;
      for (const cls of classes) {
        if (grantableIn(cls, check) && granted(check.action, check.arn)) continue;
        const byClass = found.get(resource) ?? new Map<string, ScannedHarm[]>();
        found.set(resource, byClass);
        const list = byClass.get(cls) ?? [];
        byClass.set(cls, list);
        list.push({ resource: this.production[resource], class: cls, action: check.action, ref: refs[i] });
      }
    });
    const harms: ScannedHarm[] = [];
    for (const resource of [...found.keys()].sort((a, b) => a - b)) {
      for (const cls of HARM_CLASSES) harms.push(...(found.get(resource)!.get(cls) ?? []));
    }
    return harms;
  }
}
