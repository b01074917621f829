/**
 * One request decided as verify decides it, and explained: the decider gives the decision (the
 * shipped evaluator offline, IAM's simulator live); the evaluator's `explain` names the statements
 * of the agent's policies that matched, under the very request context the decider builds.
 */
import { Explanation, StatementRef, explain } from '../../evaluator';
import { DESTRUCTIVE_CATALOG } from '../../shared/destructive-catalog.generated';
import { RawDecision } from '../../verify/analysis/analysis';
import { Check, CheckCategory } from '../../verify/analysis/checks';
import { requestContext } from '../../verify/analysis/request-context';
import { Knowledge, NamedPolicy } from './knowledge';
import { ResourceMatch } from './resources';

/** A statement that took part in a decision, named so that a person can find it. */
export interface StatementInfo {
  readonly guardrail: string;
  readonly policy: string;
  readonly statement: string;
  readonly effect: 'Allow' | 'Deny';
  readonly in: 'identity policy' | 'permissions boundary';
}

export interface Decided {
  readonly decision: RawDecision;
  /** The answer rests on an assumption about a condition key the model does not fill in. */
  readonly assumed: boolean;
  readonly assumedKeys: string[];
  readonly explanation?: Explanation;
  readonly denies: StatementInfo[];
  readonly allows: StatementInfo[];
  /** For an implicit deny: where the missing Allow is. */
  readonly missingAllowIn?: 'identity' | 'permissionsBoundary';
}

let catalogIndex: Map<string, CheckCategory> | undefined;

/** The check category verify gives an action: its destructive catalog class, else a modification. */
export function categoryOf(action: string): CheckCategory {
  if (!catalogIndex) {
    const byClass = { resource: 'destroy', data: 'data', tagging: 'tagging' } as const;
    catalogIndex = new Map(DESTRUCTIVE_CATALOG.map(([a, cls]) => [a.toLowerCase(), byClass[cls]]));
  }
  return catalogIndex.get(action.toLowerCase()) ?? 'modify';
}

/** The guard's statements are split across policies (DenyDestroyProduction1, 2, ...): one protection by name. */
export function statementFamily(statement: string): string {
  return /^Deny(DestroyProduction|DataDeletesOnProduction)\d*$/.test(statement) ? statement.replace(/\d+$/, '') : statement;
}

/** Which guardrail a statement belongs to, by the Sids the library writes. */
function guardrailOf(sid: string | undefined, set: 'identity' | 'permissionsBoundary'): string {
  const s = sid ?? '';
  if (/^(RevokeSessions|QuarantineUntilHumanReset)/.test(s)) return 'the circuit breaker\'s quarantine';
  if (/^(DenyApprovalGate|DenyGatedOperationsDirectly)/.test(s)) return 'the approval gate (gated operations go through the gate only)';
  if (/^DenyGuardrailComponents/.test(s)) return 'guardrail self-protection (resources tagged guardrails:component)';
  if (/^Deny(DestroyProduction|DataDeletesOnProduction)/.test(s)) return 'the production guard';
  if (/^Deny(WritesNamedLikeReads|CreatingHostedZones|ChangesAuthorizedOnlyOnOwnedResources)/.test(s)) {
    return 'the production guard (outage protection)';
  }
  if (/^Deny(IamWrites|ControlPlaneAndAuditWrites|PassRole|AssumeRole|CdkDeployRoles|NewCredentials|SilencingAlerts|TaskTokens)/.test(s)
    || /^DenyIdentityAndAudit/.test(s)) {
    return 'the escalation guard';
  }
  if (set === 'permissionsBoundary') return 'the permissions boundary (production is read-only to agents)';
  return 'the agent\'s own grants';
}

function describe(refs: readonly StatementRef[], k: Knowledge): StatementInfo[] {
  return refs.map((ref) => {
    const set = ref.policySet === 'permissionsBoundary' ? 'permissionsBoundary' : 'identity';
    const policy: NamedPolicy | undefined = set === 'identity' ? k.identity[ref.policyIndex] : k.boundary;
    return {
      guardrail: guardrailOf(ref.sid, set),
      policy: policy?.label ?? `policy ${ref.policyIndex + 1}`,
      statement: ref.sid ?? `statement ${ref.statementIndex + 1} (no Sid)`,
      effect: ref.effect,
      in: set === 'identity' ? 'identity policy' : 'permissions boundary',
    };
  });
}

/** The session ARN the offline decider evaluates as. */
function sessionArn(roleArn: string): string {
  return roleArn.replace(':iam::', ':sts::').replace(/:role\/(?:.*\/)?([^/]+)$/, ':assumed-role/$1/verify');
}

/** The check verify would make for this request. */
export function checkOf(action: string, match: ResourceMatch, category = categoryOf(action)): Check {
  return { category, group: category === 'modify' ? 'granted' : 'mcp', action, arn: match.arn, resource: match.model };
}

/**
 * Decides checks with the knowledge's decider and explains each. `tagValue`: the production tag
 * the request sets (a creation with tags, a retag): decided as verify decides a relabelling.
 */
export async function decideAll(k: Knowledge, checks: readonly Check[], tagValue?: string): Promise<Decided[]> {
  const decider = tagValue === undefined ? k.decider : k.deciderFor(tagValue);
  const { decisions, relied, assumedKeys } = await decider.decide(k.agent, checks);
  const relabel = { key: k.model.tagKey, value: tagValue ?? k.model.nonProductionValues[0] };
  return checks.map((check, i) => {
    const explanation = explainCheck(k, check, check.category === 'tagging' ? relabel : undefined);
    return {
      decision: decisions[i],
      assumed: relied[i],
      assumedKeys: relied[i] ? assumedKeys : [],
      explanation,
      denies: describe(explanation?.explicitDenies ?? [], k),
      allows: describe(explanation?.allows ?? [], k),
      missingAllowIn: explanation?.missingAllowIn === 'permissionsBoundary' ? 'permissionsBoundary'
        : explanation?.missingAllowIn === 'identity' ? 'identity' : undefined,
    };
  });
}

/** The evaluator's explanation under the request context the offline decider builds; undefined if it cannot be built. */
function explainCheck(k: Knowledge, check: Check, relabel?: { key: string; value: string }): Explanation | undefined {
  const agent = k.agent;
  const resourceAccount = agent.stack.accountKnown && check.resource ? check.resource.arn.split(':')[4] || agent.stack.env.account : undefined;
  const context = requestContext(check.action, check.arn, {
    tags: check.resource?.tags ?? {},
    bucketAbac: check.resource?.bucketAbac ?? false,
    resourceAccount: k.mode === 'live' ? agent.stack.env.account : resourceAccount,
    principalArn: agent.roleArn,
    principalTags: agent.tags,
    relabel,
  });
  try {
    return explain({
      principal: sessionArn(agent.roleArn),
      action: check.action,
      resource: check.arn,
      context,
      identityPolicies: k.identity.map((p) => p.parsed),
      permissionsBoundaries: k.boundary ? [k.boundary.parsed] : undefined,
    });
  } catch {
    // The decision stands without its explanation; the answer then names no statement.
    return undefined;
  }
}
