/**
 * `check_action`: may this agent call this action on this resource? Decided by verify's decider,
 * explained by the statements that matched, with whether the resource is production and which
 * approval gate (if any) can do it for the agent.
 */
import { splitAction } from '../../shared/iam-data';
import { ResourceModel } from '../../verify/model/production-resources';
import { Decided, StatementInfo, checkOf, decideAll } from './decision';
import { GateRoute, gateRoutes, howToAsk } from './gates';
import { inertQuoted } from '../../shared/inert-text';
import { Knowledge } from './knowledge';
import { ProductionVerdict, ResourceMatch, matchResource, productionOf } from './resources';
import { badInput, checkAction, checkResource } from './tool-input';

export interface CheckActionInput {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, unknown>;
}

export type Verdict = 'allowed' | 'denied' | 'unknown';

export interface CheckActionAnswer {
  readonly decision: Verdict;
  readonly agent: string;
  readonly action: string;
  readonly resource: string;
  readonly mode: 'offline' | 'live';
  /** Why, in one sentence. */
  readonly reason: string;
  /** The statements that decided (the denies for a denial, the allows for an allowance). */
  readonly statements: StatementInfo[];
  readonly production: {
    readonly production: boolean | null;
    readonly inApp: boolean;
    readonly resourceId?: string;
    readonly reason: string;
  };
  readonly approval: Array<GateRoute & { readonly howToAsk?: string }>;
  /** What to do now, in one sentence. */
  readonly next: string;
  readonly assumptions: string[];
}

/** The one context key that changes an answer: the production tag the request itself sets. */
function checkContext(k: Knowledge, context: Record<string, unknown> | undefined): string | undefined {
  if (context === undefined) return undefined;
  const accepted = `aws:RequestTag/${k.model.tagKey}`;
  let value: string | undefined;
  for (const [key, v] of Object.entries(context)) {
    if (key.toLowerCase() !== accepted.toLowerCase()) {
      throw badInput('UnsupportedContextKey', `the context key ${inertQuoted(key)} is not accepted: the server builds the request context itself `
        + '(the resource\'s tags from the cloud assembly, the principal from the agent role), so an answer cannot rest on a value you supply', key,
      `drop it; the only key accepted is ${JSON.stringify(accepted)}, the tag your request sets (for a creation or a retag)`);
    }
    if (typeof v !== 'string' || v.length === 0 || v.length > 256) {
      throw badInput('BadContextValue', `the context value of ${accepted} must be the tag value your request sets`, v,
        `pass {"${accepted}": "${k.model.nonProductionValues[0]}"}, for example`);
    }
    value = v;
  }
  return value;
}

const STAR: ResourceMatch = {
  model: { id: '*', type: '(no resource type)', arn: '*', stack: '', tags: {}, bucketAbac: false, production: true } as ResourceModel,
  inApp: false,
  arn: '*',
};

const GUARDRAIL_ORDER = ['the production guard', 'the circuit breaker', 'the escalation guard', 'guardrail self-protection', 'the approval gate'];

function rank(s: StatementInfo): number {
  const i = GUARDRAIL_ORDER.findIndex((g) => s.guardrail.startsWith(g));
  return i === -1 ? GUARDRAIL_ORDER.length : i;
}

function named(s: StatementInfo): string {
  return `${s.statement} of ${s.guardrail} (${s.in} ${s.policy})`;
}

function reasonOf(k: Knowledge, d: Decided, action: string, production: ProductionVerdict | undefined): string {
  const live = k.mode === 'live';
  switch (d.decision) {
    case 'ExplicitlyDenied': {
      const denies = [...d.denies].sort((a, b) => rank(a) - rank(b));
      if (denies.length === 0) {
        return 'IAM\'s policy simulator answers "explicitly denied" by a policy this server cannot name (a service control policy, for example)';
      }
      const more = denies.length > 1 ? `, with ${denies.length - 1} more deny statement${denies.length > 2 ? 's' : ''}` : '';
      return `the explicit deny ${named(denies[0])} matches it${more}; an explicit deny beats every grant`;
    }
    case 'ImplicitlyDenied': {
      const granted = d.allows.find((a) => a.in === 'identity policy');
      if (d.missingAllowIn === 'permissionsBoundary') {
        const onProduction = production?.production
          ? ': on production it allows reads and what was granted on that specific resource only (a grant on "*" gives nothing there)' : '';
        const though = granted ? `, although ${granted.statement} of ${granted.policy} grants it` : '';
        return `the permissions boundary ${k.boundary?.label ?? ''} does not allow it${onProduction}${though}`;
      }
      if (live && d.explanation?.decision === 'Allowed') {
        return 'IAM\'s policy simulator finds no Allow for it (the local reading of the policies differs; IAM\'s answer stands)';
      }
      return `nothing allows it: no policy of ${k.agent.name} grants ${action} on this resource`;
    }
    case 'Allowed': {
      const grant = d.allows.find((a) => a.in === 'identity policy');
      const boundary = d.allows.find((a) => a.in === 'permissions boundary');
      if (!grant) {
        const sources = [...new Set((k.agent.resourceGrants ?? []).map((g) => g.source))];
        if (sources.length > 0) return `a resource-based policy of the app grants it (${sources.join(', ')})`;
        return live ? 'IAM\'s policy simulator allows it' : 'the agent\'s policies allow it';
      }
      // The read-only boundary repeats each explicit grant in a statement without a Sid.
      const which = boundary?.statement.endsWith('(no Sid)')
        ? `${boundary.statement.replace(' (no Sid)', '')}, which repeats an explicit grant` : boundary?.statement;
      const through = boundary ? `, and the permissions boundary lets it through (${which})` : '';
      return `${grant.statement} of ${grant.policy} grants it${through}`;
    }
    default: {
      const unknown = [...k.agent.identityPolicies, ...(k.agent.boundary ? [k.agent.boundary] : [])].filter((p) => p.source === 'unknown');
      const which = unknown.map((p) => p.arn ?? p.name).join(', ') || 'a policy this server has no document for';
      return `it depends on ${which}, whose document this server does not have, or on a grant it cannot resolve`;
    }
  }
}

function verdictOf(d: Decided): Verdict {
  return d.decision === 'Allowed' ? 'allowed' : d.decision === 'Unknown' ? 'unknown' : 'denied';
}

function nextStep(verdict: Verdict, production: ProductionVerdict | undefined, route: GateRoute | undefined, quoted: string): string {
  if (verdict === 'allowed') {
    return production?.production ? 'You may call it; the resource is production, so do only what your task needs.' : 'You may call it.';
  }
  const prefix = verdict === 'unknown' ? 'Treat it as denied until a person confirms (or the server runs with --live). ' : '';
  if (route?.requestable) return `${prefix}Do not call it yourself. A human can approve it: ${howToAsk(route, quoted)}.`;
  if (route) {
    return `${prefix}Approval gate ${route.gate} performs this operation, but this agent may not request through it; `
      + 'ask the person you work for.';
  }
  return `${prefix}Do not retry it or look for another way to the same effect; tell the person you work for what you need and why.`;
}

export async function checkActionAnswer(k: Knowledge, input: CheckActionInput): Promise<CheckActionAnswer> {
  const action = checkAction(input.action);
  const resource = checkResource(action, input.resource);
  const tagValue = checkContext(k, input.context);
  const match = resource === '*' ? STAR : matchResource(k, resource);
  const production = resource === '*' ? undefined : productionOf(k, match);
  const [decided] = await decideAll(k, [checkOf(action, match, tagValue !== undefined ? 'tagging' : undefined)], tagValue);
  const verdict = verdictOf(decided);
  const routes = resource === '*' ? [] : gateRoutes(k, action, [resource, match.arn]);
  const quoted = inertQuoted(resource);
  const reason = reasonOf(k, decided, action, production);
  return {
    decision: verdict,
    agent: k.agent.name,
    action,
    resource,
    mode: k.mode,
    reason,
    statements: verdict === 'allowed' ? decided.allows : [...decided.denies].sort((x, y) => rank(x) - rank(y)),
    production: {
      production: production ? production.production : null,
      inApp: match.inApp,
      ...(match.inApp ? { resourceId: match.model.id } : {}),
      reason: production?.reason ?? `${splitAction(action)?.service}:${splitAction(action)?.name} acts on no specific resource`,
    },
    approval: routes.map((r) => ({ ...r, ...(r.requestable ? { howToAsk: howToAsk(r, quoted) } : {}) })),
    next: nextStep(verdict, production, routes[0], quoted),
    assumptions: decided.assumed ? [`assumes that conditions on ${decided.assumedKeys.join(', ')} hold for your request`] : [],
  };
}

/** The answer as a model reads it: the verdict first, then why, production, approval and the next step. */
export function checkActionText(k: Knowledge, a: CheckActionAnswer): string {
  const head = a.decision === 'allowed' ? `ALLOWED: ${a.agent} may call ${a.action} on ${inertQuoted(a.resource)}.`
    : a.decision === 'denied' ? `DENIED: ${a.agent} may not call ${a.action} on ${inertQuoted(a.resource)}.`
      : `UNKNOWN: whether ${a.agent} may call ${a.action} on ${inertQuoted(a.resource)} cannot be told from what this server has.`;
  const production = a.production.production === null ? `Production: not applicable (${a.production.reason}).`
    : `Production: ${a.production.production ? 'yes' : 'no (disposable)'}${a.production.resourceId ? ` (${a.production.resourceId})` : ''}: `
      + `${a.production.reason}.`;
  const source = k.mode === 'live'
    ? `Source: IAM's policy simulator for ${k.agent.roleArn} (as verify --live decides).`
    : `Source: the cloud assembly at ${k.assemblyDirectory}, evaluated with the shipped IAM evaluator (as cdk-agent-guardrails verify decides).`;
  return [
    head,
    `Why: ${a.reason}.`,
    production,
    ...(a.approval.length > 0 && a.decision !== 'allowed'
      ? [`Approval gate: ${a.approval.map((r) => `${r.gate} performs ${r.operation} here${r.requestable ? '' : ' (this agent may not request)'}`)
        .join('; ')}.`]
      : []),
    ...a.assumptions.map((s) => `Assumption: this answer ${s}.`),
    `Next: ${a.next}`,
    source,
  ].join('\n');
}
