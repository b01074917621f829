/**
 * `describe_resource`: production or disposable and why, what protects it, what this agent may do
 * to it (by class of action, in words) and what needs a human. Every class is decided action by
 * action with verify's decider: the destructive catalog's checks, the action classes of the
 * service that act on this resource type, its reads, and the agent's own granted writes.
 */
import { ActionClass, classesOf } from '../../shared/action-classes';
import { serviceActions, splitAction } from '../../shared/iam-data';
import { Check, grantedWriteActions, modifyChecks, resourceChecks } from '../../verify/analysis/checks';
import { resourceTypesFor } from '../../verify/analysis/request-context';
import { Decided, StatementInfo, categoryOf, decideAll, statementFamily } from './decision';
import { GateRoute, gateRoutes, howToAsk } from './gates';
import { inertQuoted } from '../../shared/inert-text';
import { Knowledge, hasReadOnlyBoundary } from './knowledge';
import { findResourceRef, productionOf } from './resources';
import { checkResourceRef } from './tool-input';

/** The groups an action falls in, in the order they are reported; an action counts in its first. */
const GROUPS = [
  { key: 'destroy', words: 'destroy it, its backups, versions, protections or keys' },
  { key: 'data', words: 'delete or overwrite data in it' },
  { key: 'tagging', words: 'change its tags' },
  { key: ActionClass.DISRUPTIVE, words: 'take it out of service (stop, reboot, fail over, scale to zero)' },
  { key: ActionClass.NETWORK_ISOLATION, words: 'change its network (security groups, routes, ACLs, endpoints)' },
  { key: ActionClass.TRAFFIC, words: 'change where its traffic goes' },
  { key: ActionClass.CODE_EXECUTION, words: 'make it run code or commands' },
  { key: ActionClass.GUARDRAIL_BLINDING, words: 'switch off its detection, audit or alarms' },
  { key: ActionClass.RECONFIGURE, words: 'change its configuration, permissions or contents' },
  { key: 'write', words: 'other writes' },
  { key: 'read', words: 'read it (Get, List, Describe)' },
] as const;

type GroupKey = (typeof GROUPS)[number]['key'];

export interface ClassAnswer {
  readonly class: string;
  readonly words: string;
  readonly checked: number;
  readonly allowed: string[];
  /** The statements or rule that keep the rest out. */
  readonly deniedBy: string[];
}

export interface DescribeAnswer {
  readonly resource: string;
  readonly resourceId?: string;
  readonly type: string;
  readonly inApp: boolean;
  readonly production: boolean;
  readonly reason: string;
  readonly agent: string;
  readonly mode: 'offline' | 'live';
  readonly classes: ClassAnswer[];
  readonly protections: string[];
  readonly needsHuman: Array<GateRoute & { readonly howToAsk?: string }>;
}

const READ_LEVELS = new Set(['Read', 'List']);

function accessLevel(action: string): string {
  const parts = splitAction(action);
  return parts ? serviceActions(parts.service)[parts.name.toLowerCase()]?.accessLevel ?? '' : '';
}

function groupOf(check: Check): GroupKey {
  if (check.category === 'destroy' || check.category === 'data' || check.category === 'tagging') return check.category;
  const classes: string[] = classesOf(check.action);
  for (const g of GROUPS) if (classes.includes(g.key)) return g.key;
  return READ_LEVELS.has(accessLevel(check.action)) ? 'read' : 'write';
}

function checksFor(k: Knowledge, arn: string, resource: Check['resource']): Check[] {
  const byAction = new Map<string, Check>();
  const add = (check: Check) => {
    if (!byAction.has(check.action.toLowerCase())) byAction.set(check.action.toLowerCase(), check);
  };
  resourceChecks(resource!).forEach(add);
  modifyChecks(grantedWriteActions(k.agent), [resource!]).forEach(add);
  const service = arn.split(':')[2] ?? '';
  for (const details of Object.values(serviceActions(service))) {
    const action = `${service}:${details.name}`;
    if (byAction.has(action.toLowerCase()) || resourceTypesFor(action, arn).length === 0) continue;
    const classified = classesOf(action).length > 0;
    if (!classified && !READ_LEVELS.has(details.accessLevel)) continue;
    add({ category: categoryOf(action), group: 'mcp', action, arn, resource });
  }
  return [...byAction.values()];
}

function deniedBy(decided: readonly Decided[], k: Knowledge): string[] {
  const reasons = new Set<string>();
  for (const d of decided) {
    if (d.decision === 'ExplicitlyDenied') {
      const first = d.denies.find((s) => s.guardrail !== 'the agent\'s own grants') ?? d.denies[0];
      reasons.add(first ? `denied by ${statementFamily(first.statement)} of ${first.guardrail}` : 'denied by an explicit deny IAM reports');
    } else if (d.decision === 'ImplicitlyDenied') {
      reasons.add(d.missingAllowIn === 'permissionsBoundary' ? `outside the permissions boundary ${k.boundary?.label ?? ''}`.trim()
        : 'not granted to you');
    } else if (d.decision === 'Unknown') {
      reasons.add('UNKNOWN (a policy without a document): treat as denied');
    }
  }
  return [...reasons];
}

function protectionsOf(statements: readonly StatementInfo[], k: Knowledge, production: boolean): string[] {
  const seen = new Map<string, string>();
  for (const s of statements) {
    if (s.effect !== 'Deny' || s.guardrail === 'the agent\'s own grants') continue;
    const sid = statementFamily(s.statement);
    if (!seen.has(`${s.guardrail}|${sid}`)) seen.set(`${s.guardrail}|${sid}`, `${sid} (${s.guardrail})`);
  }
  const list = [...seen.values()];
  if (production && hasReadOnlyBoundary(k)) {
    list.push(`the permissions boundary ${k.boundary?.label}: production is read-only to this agent except explicit grants`);
  }
  return list;
}

export async function describeAnswer(k: Knowledge, input: { readonly resource: string }): Promise<DescribeAnswer> {
  const ref = checkResourceRef(input.resource);
  const match = findResourceRef(k, ref);
  const production = productionOf(k, match);
  const checks = checksFor(k, match.arn, match.model);
  const decided = checks.length > 0 ? await decideAll(k, checks) : [];
  const groups = new Map<GroupKey, { checks: Check[]; decided: Decided[] }>();
  checks.forEach((check, i) => {
    const key = groupOf(check);
    const g = groups.get(key) ?? { checks: [], decided: [] };
    g.checks.push(check);
    g.decided.push(decided[i]);
    groups.set(key, g);
  });
  const classes: ClassAnswer[] = GROUPS.filter((g) => groups.has(g.key)).map((g) => {
    const entry = groups.get(g.key)!;
    return {
      class: g.key,
      words: g.words,
      checked: entry.checks.length,
      allowed: entry.checks.filter((_, i) => entry.decided[i].decision === 'Allowed').map((c) => c.action),
      deniedBy: deniedBy(entry.decided.filter((d) => d.decision !== 'Allowed'), k),
    };
  });
  const needsHuman = k.gates.flatMap((gate) => gate.operations.map((op) => op.operation))
    .filter((op, i, all) => all.indexOf(op) === i)
    .flatMap((op) => gateRoutes(k, op, [ref, match.arn]));
  const quoted = inertQuoted(match.inApp ? match.arn : ref);
  return {
    resource: match.inApp ? match.arn : ref,
    ...(match.inApp ? { resourceId: match.model.id } : {}),
    type: match.model.type,
    inApp: match.inApp,
    production: production.production,
    reason: production.reason,
    agent: k.agent.name,
    mode: k.mode,
    classes,
    protections: protectionsOf(decided.flatMap((d) => d.denies), k, production.production),
    needsHuman: needsHuman.map((r) => ({ ...r, ...(r.requestable ? { howToAsk: howToAsk(r, quoted) } : {}) })),
  };
}

function list(actions: readonly string[], max = 8): string {
  return actions.length <= max ? actions.join(', ') : `${actions.slice(0, max).join(', ')} and ${actions.length - max} more`;
}

export function describeText(k: Knowledge, a: DescribeAnswer): string {
  const name = a.resourceId ? `${a.resourceId} (${a.type}, ${inertQuoted(a.resource)})` : `${inertQuoted(a.resource)} (not a resource of this app)`;
  const lines = [
    `${name} is ${a.production ? 'PRODUCTION' : 'DISPOSABLE'}: ${a.reason}.`,
    `What ${a.agent} may do to it:`,
    ...a.classes.map((c) => {
      if (c.allowed.length === 0) return `- ${c.words}: no (${c.checked} action${c.checked === 1 ? '' : 's'}: ${c.deniedBy.join('; ')})`;
      if (c.allowed.length === c.checked) return `- ${c.words}: yes, all ${c.checked} (${list(c.allowed, 5)})`;
      return `- ${c.words}: only ${list(c.allowed)} (${c.checked - c.allowed.length} other${c.checked - c.allowed.length === 1 ? '' : 's'}: `
        + `${c.deniedBy.join('; ')})`;
    }),
    a.protections.length > 0 ? `Protections: ${a.protections.join('; ')}.` : 'Protections: none of the guardrails\' denies apply to it.',
    a.needsHuman.some((r) => r.requestable)
      ? `Needs a human: ${a.needsHuman.filter((r) => r.requestable)
        .map((r) => `${r.operation} through approval gate ${r.gate} (${r.howToAsk})`).join('; ')}.`
      : 'Needs a human: anything denied above; no approval gate this agent may use covers this resource, so ask the person you work for.',
    k.mode === 'live' ? `Source: IAM's policy simulator for ${k.agent.roleArn}.`
      : `Source: the cloud assembly at ${k.assemblyDirectory}, evaluated with the shipped IAM evaluator (as verify decides).`,
  ];
  return lines.join('\n');
}
