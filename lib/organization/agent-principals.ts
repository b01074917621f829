import { AGENT_TAG } from '../shared/tags';
import { isUnresolvedToken } from '../shared/tokens';
import { invalidProps } from '../shared/errors';

/** Condition operators an agent condition may use (each also with `IfExists`, except Null). */
const OPERATORS: readonly string[] = [
  'StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike',
  'ArnEquals', 'ArnNotEquals', 'ArnLike', 'ArnNotLike', 'Bool',
];

/**
 * Which principals the organization policies treat as agents. Every statement of the service and
 * resource control policies carries this condition, so humans and pipelines are unaffected.
 *
 * A service control policy cannot name the roles of every account, so the default identifies
 * agents by the principal tag `guardrails:agent` that `AgentRole` and `GuardAgents` put on every
 * agent role (sessions inherit their role's tags).
 */
export class AgentPrincipals {
  /**
   * Principals carrying the tag, whatever its value (`Null: { "aws:PrincipalTag/<key>": "false" }`).
   * @param tagKey the principal tag; default `guardrails:agent`
   */
  public static tagged(tagKey: string = AGENT_TAG): AgentPrincipals {
    const valid = typeof tagKey === 'string' && !isUnresolvedToken(tagKey) && /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u.test(tagKey);
    if (!valid || tagKey.toLowerCase().startsWith('aws:')) {
      throw invalidProps('AgentPrincipals.InvalidTagKey', `AgentPrincipals.tagged: ${JSON.stringify(tagKey)} is not a valid tag key.`, {
        received: JSON.stringify(tagKey),
        fix: 'Pass a literal tag key of 1 to 128 letters, digits, spaces and _.:/=+-@, not starting with "aws:" (the default is guardrails:agent).',
      });
    }
    return new AgentPrincipals({ Null: { [`aws:PrincipalTag/${tagKey}`]: ['false'] } }, `principals tagged ${tagKey}`);
  }

  /**
   * Principals whose ARN matches one of the patterns (`ArnLike: { "aws:PrincipalArn": [...] }`), for
   * example `arn:aws:iam::*:role/agent-*`. Sessions are matched by the ARN of their role.
   */
  public static arnLike(patterns: string[]): AgentPrincipals {
    const values = literalValues('AgentPrincipals.arnLike', 'patterns', patterns);
    for (const pattern of values) {
      if (!/^arn:(\*|aws[a-z-]*):(iam|sts)::(\*|\d{12}):\S+$/.test(pattern)) {
        const message = `AgentPrincipals.arnLike: ${JSON.stringify(pattern)} is not an IAM principal ARN pattern.`;
        throw invalidProps('AgentPrincipals.InvalidArnPattern', message, {
          received: JSON.stringify(pattern),
          fix: 'Pass patterns such as arn:aws:iam::*:role/agent-* (the ARN of the role, not of its session).',
        });
      }
    }
    return new AgentPrincipals({ ArnLike: { 'aws:PrincipalArn': values } }, `principals whose ARN is like ${values.join(', ')}`);
  }

  /**
   * Principals matching a condition of your own on a global principal key (`aws:Principal*`,
   * `aws:SourceIdentity`, `aws:userid`, ...), for example
   * `AgentPrincipals.condition('StringLike', 'aws:SourceIdentity', ['agent-*'])`. A negated operator
   * treats every principal lacking the key as an agent, which errs on the safe side.
   */
  public static condition(operator: string, key: string, values: string[]): AgentPrincipals {
    const base = typeof operator === 'string' ? operator.replace(/^(ForAnyValue|ForAllValues):/, '').replace(/IfExists$/, '') : '';
    if (typeof operator !== 'string' || !(OPERATORS.includes(base) || operator === 'Null')) {
      const message = `AgentPrincipals.condition: ${JSON.stringify(operator)} is not a supported condition operator.`;
      throw invalidProps('AgentPrincipals.InvalidOperator', message, {
        received: JSON.stringify(operator),
        fix: `Use one of ${OPERATORS.join(', ')} (optionally with IfExists), or Null.`,
      });
    }
    const principalKey = /^aws:(Principal[A-Za-z]*(\/.+)?|SourceIdentity|userid|username|FederatedProvider)$/;
    if (typeof key !== 'string' || isUnresolvedToken(key) || !principalKey.test(key)) {
      const message = `AgentPrincipals.condition: ${JSON.stringify(key)} is not a global condition key that describes the principal.`;
      throw invalidProps('AgentPrincipals.InvalidKey', message, {
        received: JSON.stringify(key),
        fix: 'Use aws:PrincipalTag/<key>, aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalOrgID, aws:SourceIdentity, '
          + 'aws:userid or aws:username.',
      });
    }
    const list = literalValues('AgentPrincipals.condition', 'values', values);
    return new AgentPrincipals({ [operator]: { [key]: list } }, `principals matching ${operator} ${key} ${list.join(', ')}`);
  }

  private constructor(
    /** The condition block merged into every statement of the organization policies. */
    public readonly condition: Record<string, Record<string, string[]>>,
    /** The agents, in words, for reports. */
    public readonly description: string,
  ) {}

  /**
   * True when an AWS service principal (which carries no principal tags or ARN) could match: a
   * negated operator, `IfExists` or `Null: true`. Resource control policies then also require
   * `aws:PrincipalIsAWSService` to be false, so that services keep delivering logs and events.
   */
  public get mayMatchServicePrincipals(): boolean {
    return Object.entries(this.condition)
      .some(([op, block]) => /Not|IfExists/.test(op) || (op === 'Null' && Object.values(block).some((v) => v.includes('true'))));
  }
}

function literalValues(where: string, name: string, values: readonly string[]): string[] {
  if (!Array.isArray(values) || values.length === 0) {
    throw invalidProps('AgentPrincipals.EmptyValues', `${where}: ${name} is empty.`, {
      received: JSON.stringify(values), fix: `Pass at least one value in ${name}.`,
    });
  }
  for (const value of values) {
    if (typeof value !== 'string' || value.length === 0 || isUnresolvedToken(value)) {
      const message = `${where}: ${name} contains ${JSON.stringify(value)}; values must be non-empty literal strings.`;
      throw invalidProps('AgentPrincipals.InvalidValue', message, {
        received: JSON.stringify(value),
        fix: 'Write the value out: the organization policies are measured against their quota at synth time, which a deploy-time value prevents.',
      });
    }
  }
  return [...new Set(values)];
}
