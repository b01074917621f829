import { EvaluationRequest, PolicyParseError, evaluate, parsePolicy } from '../../evaluator';
import { AgentModel, AgentPolicy } from '../model/agents';
import { Decider, Decisions, RawDecision } from '../analysis/analysis';
import { assumeUnmodelledConditions } from '../analysis/condition-keys';
import { Check } from '../analysis/checks';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { requestContext } from '../analysis/request-context';
import { ResourceModel } from '../model/production-resources';
import { sessionArnOf } from '../../shared/arns';

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
export class OfflineDecider implements Decider {
  constructor(private readonly relabel: RelabelTarget) {}

  public async decide(agent: AgentModel, checks: readonly Check[]): Promise<Decisions> {
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
    const decisions: RawDecision[] = [];
    const relied: boolean[] = [];
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
      const decision = decideWith(request, evaluated);
      decisions.push(decision);
      relied.push(asWritten !== undefined && (decision === 'Allowed' || decision === 'Unknown') && decideWith(request, asWritten) !== decision);
    }
    return { decisions, relied, assumedKeys: [...assumed].sort() };
  }
}

type BareRequest = Omit<EvaluationRequest, 'identityPolicies' | 'permissionsBoundaries'>;

function decideWith(request: BareRequest, sets: PolicySets): RawDecision {
  const decision = evaluate({ ...request, identityPolicies: sets.identity, permissionsBoundaries: sets.boundary });
  if (decision === 'Allowed' || decision === 'ExplicitlyDenied') return decision;
  // No explicit deny applies (the first evaluation saw every Deny): a session grant alone allows.
  if (sets.sessionGrants && evaluate({ ...request, identityPolicies: [sets.sessionGrants] }) === 'Allowed') return 'Allowed';
  if (sets.possibleIdentity && evaluate({ ...request, identityPolicies: sets.possibleIdentity, permissionsBoundaries: sets.boundary }) === 'Allowed')
    return 'Unknown';
  if (sets.possibleSessionGrants && evaluate({ ...request, identityPolicies: [sets.possibleSessionGrants] }) === 'Allowed') return 'Unknown';
  return decision;
}
