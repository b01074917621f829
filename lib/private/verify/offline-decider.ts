import { PolicyParseError, evaluate, parsePolicy } from '../evaluator';
import { AgentModel, AgentPolicy } from './agents';
import { Decider, RawDecision } from './analysis';
import { Check } from './checks';
import { VERIFY_EXIT, VerifyInputError } from './errors';
import { requestContext } from './request-context';
import { ResourceModel } from './production-resources';

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
      throw new VerifyInputError(`agent ${agent.name} (${agent.roleArn}): policy ${policy.name} does not parse, so it cannot be evaluated: ${e.message}`, VERIFY_EXIT.badPolicy);
    }
    throw e;
  }
}

/** The tag value an agent would set to relabel production as disposable. */
export interface RelabelTarget {
  readonly key: string;
  readonly value: string;
}

/**
 * Decides checks with the library's own IAM evaluator, under the realistic request context of each
 * action. A policy without a document is evaluated twice: without it (what is known) and as
 * allow-everything (the worst case); a difference is `Unknown`.
 */
export class OfflineDecider implements Decider {
  constructor(private readonly relabel: RelabelTarget) {}

  public async decide(agent: AgentModel, checks: readonly Check[]): Promise<RawDecision[]> {
    const known = agent.identityPolicies.filter((p) => p.source !== 'unknown').map((p) => parse(agent, p));
    const hasUnknown = agent.identityPolicies.some((p) => p.source === 'unknown');
    const boundary = agent.boundary && agent.boundary.source !== 'unknown' ? [parse(agent, agent.boundary)] : undefined;
    const worstCase = hasUnknown ? [...known, parsePolicy(ALLOW_EVERYTHING)] : undefined;
    const sessionArn = agent.roleArn.replace(':iam::', ':sts::').replace(/:role\/(?:.*\/)?([^/]+)$/, ':assumed-role/$1/verify');
    const principalTags = agent.tags;
    return checks.map((check) => {
      const context = requestContext(check.action, check.arn, {
        tags: check.resource?.tags ?? {},
        bucketAbac: check.resource?.bucketAbac ?? false,
        resourceAccount: knownAccount(agent, check.resource),
        principalArn: agent.roleArn,
        principalTags,
        relabel: check.category === 'tagging' ? this.relabel : undefined,
      });
      const request = { principal: sessionArn, action: check.action, resource: check.arn, context, identityPolicies: known, permissionsBoundaries: boundary };
      const decision = evaluate(request);
      if (decision === 'Allowed' || decision === 'ExplicitlyDenied' || !worstCase) return decision;
      return evaluate({ ...request, identityPolicies: worstCase }) === 'Allowed' ? 'Unknown' : decision;
    });
  }
}
