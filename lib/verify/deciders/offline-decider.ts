import { EvaluationRequest, PolicyParseError, evaluate, evaluateFailClosed, explain, parsePolicy, statementsThatMayApply } from '../../evaluator';
import { AgentModel, AgentPolicy } from '../model/agents';
import { Decisions, RawDecision, SyncDecider } from '../analysis/analysis';
import { assumeUnmodelledConditions } from '../analysis/condition-keys';
import { Check } from '../analysis/checks';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { requestContext } from '../analysis/request-context';
import { ResourceModel } from '../model/production-resources';
import { sessionArnOf } from '../../shared/arns';
import { toList } from '../../shared/list';

/** What an unknown policy is assumed to be: the worst case, so that "cannot" is never claimed on a guess. */
const ALLOW_EVERYTHING = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/** The placeholder account of an environment-agnostic stack is not a real owner. */
function knownAccount(agent: AgentModel, resource?: ResourceModel): string | undefined {
  if (!agent.stack.accountKnown) return undefined;
  return resource ? resource.arn.split(':')[4] || agent.stack.env.account : agent.stack.env.account;
}

function parse(agent: AgentModel, policy: AgentPolicy): ReturnType<typeof parsePolicy> {
  try {
    return parsePolicy(policy.document);
  } catch (e) {
    if (e instanceof PolicyParseError) {
      throw new GuardrailsError(
        GuardrailsErrorKind.BAD_POLICY,
        `agent ${agent.name} (${agent.roleArn}): policy ${policy.name} does not parse, so it cannot be evaluated: ${e.message}`,
      );
    }
    throw e;
  }
}

/** The tag value an agent would set to relabel production as disposable. */
export interface RelabelTarget {
  readonly key: string;
  readonly value: string;
}

/** The policies of one agent as evaluated: what it holds for certain, and what it may hold. */
interface PolicySets {
  readonly identity: unknown[];
  readonly boundary?: unknown[];
  /** Resource-policy grants to the role's sessions (the boundary's implicit deny does not limit them). */
  readonly sessionGrants?: unknown;
  /** Unknown managed policies and unresolvable resource-policy grants: evaluated as possibilities only. */
  readonly possibleIdentity?: unknown[];
  readonly possibleSessionGrants?: unknown;
}

function policyOf(statements: unknown[]): unknown {
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * Decides checks with the library's own IAM evaluator, under the realistic request context of each
 * action. Conditions on keys verify does not model are rewritten pessimistically first
 * (condition-keys.ts). A policy without a document, or a resource-policy grant verify cannot
 * resolve, is evaluated twice: without it (what is known) and as a possibility (allow-everything
 * for an unknown managed policy); a difference is `Unknown`.
 */
export class OfflineDecider implements SyncDecider {
  /**
   * @param memoize keep the decisions of agents whose synthesized policy documents, tags and account are identical
   * (agents of one stack often are), for as long as this decider lives: the rule pack makes one per synth.
   */
  constructor(
    private readonly relabel: RelabelTarget,
    private readonly memoize = false,
  ) {}

  private readonly memo = new Map<string, { decisions: Decisions; allowedRefs: Array<AllowingRef | undefined> }>();

  public async decide(agent: AgentModel, checks: readonly Check[]): Promise<Decisions> {
    return this.decideSync(agent, checks);
  }

  public decideSync(agent: AgentModel, checks: readonly Check[]): Decisions {
    // Nothing to ask (the rule pack asks only what some Allow names): no policy needs parsing.
    if (checks.length === 0) return { decisions: [], relied: [], assumedKeys: [], allowedBy: [] };
    if (!this.memoize) return this.decideUncached(agent, checks).decisions;
    const entry = this.memoized(agent, checks);
    // The allowing statement is named with this agent's own policy names (same documents, in the same order).
    const names = knownPolicyNames(agent);
    return { ...entry.decisions, allowedBy: entry.allowedRefs.map((ref) => (ref ? refName(ref, names) : undefined)) };
  }

  /** Shared decisions of allowedSync: check and statements that can apply -> the allowing statement, or null when not allowed. */
  private readonly shared = new Map<string, AllowingRef | null>();
  /** Per policy document (by identity, for this decider's life): its content id, and what decisions read of its text. */
  private readonly documentInfo = new WeakMap<object, DocumentInfo>();
  private readonly statementIds = new WeakMap<object, number>();
  private readonly contentIds = new Map<string, number>();

  /**
   * Which checks are allowed, and by which statement (`AllowingRef`, named with `refName` and the agent's
   * `knownPolicyNames`): what decideSync answers `Allowed` to, for callers that report only what is allowed (the rule
   * pack). Decisions are shared between agents (for this decider's life, one synth): a check is decided once for all
   * agents whose statements that can apply to it (Action and Resource, statementsThatMayApply) are the same, at the
   * same places, under the same request; a statement that cannot apply takes no part in a decision. A check that no
   * identity Allow (or, with a boundary, no boundary Allow) can apply to is not allowed, unevaluated. Agents with
   * resource-policy grants or unknown policies are decided as decideSync decides them.
   */
  public allowedSync(agent: AgentModel, checks: readonly Check[]): Array<AllowingRef | undefined> {
    if (checks.length === 0) return [];
    // Shared decisions are keyed by statement content: only documents read as objects have statements to key by.
    const isObject = (document: unknown) => typeof document === 'object' && document !== null && !Array.isArray(document);
    const simple =
      (agent.resourceGrants ?? []).length === 0 &&
      agent.identityPolicies.every((p) => p.source !== 'unknown' && isObject(p.document)) &&
      agent.boundary?.source !== 'unknown' &&
      (agent.boundary === undefined || isObject(agent.boundary.document));
    if (!simple) {
      const entry = this.memoized(agent, checks);
      return entry.decisions.decisions.map((d, i) => (d === 'Allowed' ? entry.allowedRefs[i] : undefined));
    }
    const pessimistic = (policy: AgentPolicy) => {
      const document = assumeUnmodelledConditions(policy.document, this.relabel.key, agent.stack.accountKnown).document;
      return { document, parsed: parse(agent, { ...policy, document }), info: this.infoOf(document) };
    };
    const identity = agent.identityPolicies.map(pessimistic);
    const boundary = agent.boundary ? pessimistic(agent.boundary) : undefined;
    const policies = [...identity, ...(boundary ? [boundary] : [])];
    // What the decisions read besides the statements: the account, region and variables verify cannot know, and the
    // principal only where a document can refer to it (as the whole-agent memo keys it).
    const principalDependent = [...agent.identityPolicies, ...(agent.boundary ? [agent.boundary] : [])].some(
      (p) => this.infoOf(p.document).principalDependent,
    );
    const agentKey = JSON.stringify([
      agent.stack.accountKnown ? agent.stack.env.account : '-',
      agent.stack.env.region,
      unknowableVariables(agent),
      principalDependent ? [agent.roleArn, agent.tags] : null,
    ]);
    const keys: Array<string | undefined> = [];
    const missing: Check[] = [];
    const missingKeys: string[] = [];
    const asked = new Set<string>();
    const parsed = policies.map((p) => p.parsed);
    const allows = parsed.map((p) => p.statements.map((st) => st.effect === 'Allow'));
    const ids = policies.map((p) => p.parsed.statements.map((_, j) => this.statementId(p.document, j, p.info.version)));
    // The agent's part of every key, as a short id: what it reads besides statements, and how its policies are laid out.
    const prefix = intern(`${agentKey}\n${boundary ? 'B' : ''}${identity.length}`, this.contentIds);
    const boundaryAt = boundary ? policies.length - 1 : -1;
    for (const check of checks) {
      const applies = statementsThatMayApply(parsed, check.action, check.arn);
      let identityMayAllow = false;
      let boundaryMayAllow = boundaryAt === -1;
      let signature = `${prefix}|${this.checkId(check)}`;
      for (let i = 0; i < applies.length; i++) {
        signature += ';';
        const flags = applies[i];
        for (let j = 0; j < flags.length; j++) {
          if (!flags[j]) continue;
          signature += `${j}=${ids[i][j]},`;
          if (allows[i][j]) {
            if (i === boundaryAt) boundaryMayAllow = true;
            else identityMayAllow = true;
          }
        }
      }
      // Not allowed whatever the context: no identity Allow (or, with a boundary, no boundary Allow) can apply.
      if (!identityMayAllow || !boundaryMayAllow) {
        keys.push(undefined);
        continue;
      }
      keys.push(signature);
      if (!this.shared.has(signature) && !asked.has(signature)) {
        asked.add(signature);
        missing.push(check);
        missingKeys.push(signature);
      }
    }
    if (missing.length > 0) {
      const { decisions, allowedRefs } = this.decideUncached(agent, missing);
      missingKeys.forEach((key, i) => this.shared.set(key, decisions.decisions[i] === 'Allowed' ? (allowedRefs[i] ?? null) : null));
    }
    return keys.map((key) => (key === undefined ? undefined : (this.shared.get(key) ?? undefined)));
  }

  /**
   * A key equal for two agents whose decisions are equal (memoKey's, without the checks, with documents by content id):
   * their documents, the principal where a document can refer to it, the account and region. Names are not in it:
   * the allowing statement is an index (AllowingRef), named per agent.
   */
  public contentKey(agent: AgentModel): string {
    const doc = (p: AgentPolicy) => [p.source, p.arn ?? '', p.document === undefined ? -1 : this.infoOf(p.document).id];
    const grants = (agent.resourceGrants ?? []).map((g) => [g.scope, g.certain, g.statement]);
    const policies = [...agent.identityPolicies, ...(agent.boundary ? [agent.boundary] : [])];
    const principalDependent =
      policies.some((p) => p.document !== undefined && this.infoOf(p.document).principalDependent) ||
      PRINCIPAL_DEPENDENT.test(JSON.stringify(grants));
    return JSON.stringify([
      agent.identityPolicies.map(doc),
      agent.boundary ? doc(agent.boundary) : null,
      grants,
      principalDependent ? [agent.roleArn, agent.tags] : null,
      agent.stack.accountKnown ? agent.stack.env.account : '-',
      agent.stack.env.region,
    ]);
  }

  private memoized(agent: AgentModel, checks: readonly Check[]): { decisions: Decisions; allowedRefs: Array<AllowingRef | undefined> } {
    const key = memoKey(agent, checks);
    let entry = this.memo.get(key);
    if (!entry) {
      entry = this.decideUncached(agent, checks);
      this.memo.set(key, entry);
    }
    return entry;
  }

  private readonly checkIds = new WeakMap<Check, number>();

  /** A check's id: the same for checks whose requests are built from the same values (checkKey). */
  private checkId(check: Check): number {
    let id = this.checkIds.get(check);
    if (id === undefined) {
      id = intern(checkKey(check), this.contentIds);
      this.checkIds.set(check, id);
    }
    return id;
  }

  private infoOf(document: unknown): DocumentInfo {
    if (typeof document !== 'object' || document === null) return documentInfo(document, this.contentIds);
    let info = this.documentInfo.get(document);
    if (!info) {
      info = documentInfo(document, this.contentIds);
      this.documentInfo.set(document, info);
    }
    return info;
  }

  /** A statement's content id (with the policy's Version, which decides whether `${...}` is a variable). */
  private statementId(document: unknown, index: number, version: string): number {
    const statement = toList((document as { Statement?: unknown }).Statement)[index];
    if (typeof statement === 'object' && statement !== null) {
      const known = this.statementIds.get(statement);
      if (known !== undefined) return known;
      const id = intern(`${version}|${JSON.stringify(statement)}`, this.contentIds);
      this.statementIds.set(statement, id);
      return id;
    }
    return intern(`${version}|${JSON.stringify(statement)}`, this.contentIds);
  }

  private decideUncached(agent: AgentModel, checks: readonly Check[]): { decisions: Decisions; allowedRefs: Array<AllowingRef | undefined> } {
    const assumed = new Set<string>();
    const pessimistic = (document: unknown) => {
      const rewritten = assumeUnmodelledConditions(document, this.relabel.key, agent.stack.accountKnown);
      rewritten.assumed.forEach((k) => assumed.add(k));
      return rewritten.document;
    };
    const sets = (rewrite: (document: unknown) => unknown): PolicySets => {
      const read = (policy: AgentPolicy) => parse(agent, { ...policy, document: rewrite(policy.document) });
      const grants = agent.resourceGrants ?? [];
      const grantPolicy = (list: typeof grants) =>
        list.length > 0
          ? parse(agent, {
              name: `resource policies (${[...new Set(list.map((g) => g.source))].join(', ')})`,
              source: 'inline',
              document: rewrite(policyOf(list.map((g) => g.statement))),
            })
          : undefined;
      const roleGrants = grantPolicy(grants.filter((g) => g.certain && g.scope === 'role'));
      const known = [...agent.identityPolicies.filter((p) => p.source !== 'unknown').map(read), ...(roleGrants ? [roleGrants] : [])];
      const hasUnknown = agent.identityPolicies.some((p) => p.source === 'unknown');
      const uncertainGrants = grants.filter((g) => !g.certain);
      return {
        identity: known,
        boundary: agent.boundary && agent.boundary.source !== 'unknown' ? [read(agent.boundary)] : undefined,
        sessionGrants: grantPolicy(grants.filter((g) => g.certain && g.scope === 'session')),
        possibleIdentity: hasUnknown ? [...known, parsePolicy(ALLOW_EVERYTHING)] : undefined,
        possibleSessionGrants: grantPolicy(uncertainGrants),
      };
    };
    const evaluated = sets(pessimistic);
    // The documents as written, to tell whether a finding relied on an assumed condition.
    const asWritten = assumed.size > 0 ? sets((d) => d) : undefined;
    const sessionArn = sessionArnOf(agent.roleArn, 'verify') ?? agent.roleArn;
    const principalTags = agent.tags;
    const variableKeys = unknowableVariables(agent);
    const decisions: RawDecision[] = [];
    const relied: boolean[] = [];
    const allowedRefs: Array<AllowingRef | undefined> = [];
    const knownNames = knownPolicyNames(agent);
    for (const check of checks) {
      const context = requestContext(check.action, check.arn, {
        tags: check.resource?.tags ?? {},
        bucketAbac: check.resource?.bucketAbac ?? false,
        resourceAccount: knownAccount(agent, check.resource),
        principalArn: agent.roleArn,
        principalTags,
        relabel: check.category === 'tagging' ? this.relabel : undefined,
      });
      const request = { principal: sessionArn, action: check.action, resource: check.arn, context };
      const doubts: string[] = [];
      let decision = decideWith(request, evaluated, doubts);
      if (decision !== 'Allowed' && variableKeys.length > 0) {
        const worse = withUnknownValues(request, variableKeys, (r) => decideWith(r, evaluated, []));
        if (worse) {
          decision = worse.decision;
          doubts.push(worse.doubt);
        }
      }
      decisions.push(decision);
      allowedRefs.push(decision === 'Allowed' ? allowingStatement(request, evaluated) : undefined);
      // A finding that rests on a construct no AWS page defines is reported like an assumed key: named, and failing verify.
      doubts.forEach((d) => assumed.add(d));
      relied.push(
        doubts.length > 0 ||
          (asWritten !== undefined && (decision === 'Allowed' || decision === 'Unknown') && decideWith(request, asWritten, []) !== decision),
      );
    }
    const allowedBy = allowedRefs.map((ref) => (ref ? refName(ref, knownNames) : undefined));
    return { decisions: { decisions, relied, assumedKeys: [...assumed].sort(), allowedBy }, allowedRefs };
  }
}

/** What allowedSync reads of a policy document's text, once per document object. */
interface DocumentInfo {
  /** The same for documents of the same JSON text. */
  readonly id: number;
  readonly version: string;
  /** Whether the document can refer to the principal (as memoKey tells it). */
  readonly principalDependent: boolean;
}

function documentInfo(document: unknown, ids: Map<string, number>): DocumentInfo {
  const text = JSON.stringify(document ?? null);
  const version = (document as { Version?: unknown } | undefined)?.Version;
  return { id: intern(text, ids), version: typeof version === 'string' ? version : '', principalDependent: PRINCIPAL_DEPENDENT.test(text) };
}

function intern(text: string, ids: Map<string, number>): number {
  let id = ids.get(text);
  if (id === undefined) {
    id = ids.size;
    ids.set(text, id);
  }
  return id;
}

/** Everything of a check its request is built from (requestContext's inputs besides the agent's). */
function checkKey(c: Check): string {
  return `${c.category}|${c.action}|${c.arn}|${JSON.stringify(c.resource?.tags ?? null)}|${c.resource?.bucketAbac ?? ''}|${c.resource?.arn ?? ''}`;
}

const PRINCIPAL_DEPENDENT = /\$\{|aws:principal|aws:userid|aws:username|sourceidentity|rolesessionname/i;

/** The statement that allowed a request: the index of the identity policy and the statement's label; undefined policy = a session grant. */
export interface AllowingRef {
  readonly policyIndex?: number;
  readonly label: string;
}

/** The names `AllowingRef.policyIndex` counts in: the agent's known identity policies, then its resource-based grants. */
export function knownPolicyNames(agent: AgentModel): string[] {
  return [
    ...agent.identityPolicies.filter((p) => p.source !== 'unknown').map((p) => p.name),
    ...((agent.resourceGrants ?? []).some((g) => g.certain && g.scope === 'role') ? ['resource-based policies'] : []),
  ];
}

export function refName(ref: AllowingRef, names: readonly string[]): string {
  return ref.policyIndex === undefined ? ref.label : `${names[ref.policyIndex] ?? `policy ${ref.policyIndex + 1}`}#${ref.label}`;
}

/** Keys an agent's decisions: everything they depend on; the role's ARN and tags only when a document can refer to the principal. */
function memoKey(agent: AgentModel, checks: readonly Check[]): string {
  const documents = JSON.stringify([
    agent.identityPolicies.map((p) => [p.source, p.arn ?? '', p.document ?? null]),
    agent.boundary ? [agent.boundary.source, agent.boundary.arn ?? '', agent.boundary.document ?? null] : null,
    (agent.resourceGrants ?? []).map((g) => [g.scope, g.certain, g.statement]),
  ]);
  const principalDependent = PRINCIPAL_DEPENDENT.test(documents);
  return [
    documents,
    principalDependent ? JSON.stringify(agent.tags) : '',
    agent.stack.accountKnown ? agent.stack.env.account : '-',
    agent.stack.env.region,
    principalDependent ? agent.roleArn : '',
    checks.map((c) => `${c.category}|${c.action}|${c.arn}|${JSON.stringify(c.resource?.tags ?? null)}|${c.resource?.bucketAbac ?? ''}`).join(';'),
  ].join('\n');
}

/** The first identity-policy statement that allows the request (`Sid`, or `statement N`); a session grant otherwise. */
function allowingStatement(request: BareRequest, sets: PolicySets): AllowingRef {
  const explained = explain({ ...request, identityPolicies: sets.identity, permissionsBoundaries: sets.boundary });
  const ref = explained.allows.find((a) => a.policySet === 'identity');
  if (!ref || explained.decision !== 'Allowed') return { label: 'a resource-based policy granting the role session' };
  return { policyIndex: ref.policyIndex, label: ref.sid ?? `statement ${ref.statementIndex + 1}` };
}

type BareRequest = Omit<EvaluationRequest, 'identityPolicies' | 'permissionsBoundaries'>;

/**
 * Doubt fails closed (issue 17): the first evaluation reads every construct no AWS page defines
 * against the guard (an uncertain Deny does not apply, an uncertain Allow does); `doubts` receives
 * the constructs that made the decision worse than the documented reading.
 */
function decideWith(request: BareRequest, sets: PolicySets, doubts: string[]): RawDecision {
  const failClosed = evaluateFailClosed({ ...request, identityPolicies: sets.identity, permissionsBoundaries: sets.boundary });
  const decision = failClosed.decision;
  if (failClosed.doubts.length > 0 && decision !== evaluate({ ...request, identityPolicies: sets.identity, permissionsBoundaries: sets.boundary })) {
    doubts.push(...failClosed.doubts);
  }
  if (decision === 'Allowed' || decision === 'ExplicitlyDenied') return decision;
  // No explicit deny applies (the first evaluation saw every Deny): a session grant alone allows.
  if (sets.sessionGrants && evaluate({ ...request, identityPolicies: [sets.sessionGrants] }) === 'Allowed') return 'Allowed';
  if (sets.possibleIdentity && evaluate({ ...request, identityPolicies: sets.possibleIdentity, permissionsBoundaries: sets.boundary }) === 'Allowed')
    return 'Unknown';
  if (sets.possibleSessionGrants && evaluate({ ...request, identityPolicies: [sets.possibleSessionGrants] }) === 'Allowed') return 'Unknown';
  return decision;
}

/** Policy variables whose value verify cannot know offline: the agent may choose them (session tags) or AWS sets them per session. */
const UNKNOWABLE = [/^aws:principaltag\//, /^aws:username$/, /^aws:userid$/, /^aws:sourceidentity$/, /^aws:rolesessionname$/, /^aws:requesttag\//];

function unknowableVariables(agent: AgentModel): string[] {
  const documents = [
    ...agent.identityPolicies.map((p) => p.document),
    agent.boundary?.document,
    ...(agent.resourceGrants ?? []).map((g) => g.statement),
  ];
  const keys = new Set<string>();
  for (const text of documents.map((d) => JSON.stringify(d ?? null))) {
    for (const m of text.matchAll(/\$\{([^},']+)/g)) {
      const key = m[1].trim();
      if (UNKNOWABLE.some((r) => r.test(key.toLowerCase()))) keys.add(key);
    }
  }
  return [...keys].sort().slice(0, 4);
}

/**
 * Issue 17: a variable verify cannot know offline (session tags, aws:username, aws:SourceIdentity, a principal tag
 * the role does not carry) is evaluated both without a value (the request as built) and with values the agent could
 * give it: the request's own values and the pieces of the resource's name. The worse answer is reported, named.
 */
function withUnknownValues(
  request: BareRequest,
  keys: readonly string[],
  decideOne: (r: BareRequest) => RawDecision,
): { decision: RawDecision; doubt: string } | undefined {
  const context = request.context as Record<string, string | string[]>;
  const present = new Set(Object.keys(context).map((k) => k.toLowerCase()));
  const tagKeys = keys.filter((k) => k.toLowerCase().startsWith('aws:principaltag/') || !present.has(k.toLowerCase()));
  if (tagKeys.length === 0) return undefined;
  const name = request.resource.split(/[:/]/).pop() ?? '';
  const pieces = name.split('-').map((_, i, all) => all.slice(0, i + 1).join('-'));
  const candidates = [...new Set([...Object.values(context).filter((v): v is string => typeof v === 'string'), ...pieces, name])]
    .filter((v) => v !== '')
    .slice(0, 24);
  for (const key of tagKeys) {
    for (const value of candidates) {
      const decision = decideOne({ ...request, context: { ...context, [key]: value } });
      if (decision === 'Allowed') {
        return { decision, doubt: `\${${key}} has no value verify can know offline; with the value ${JSON.stringify(value)} the agent is allowed` };
      }
    }
  }
  return undefined;
}
