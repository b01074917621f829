import {
  ContextEntry,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { AgentModel, AgentPolicy } from '../model/agents';
import { Decider, Decisions, RawDecision } from '../analysis/analysis';
import { assumeUnmodelledConditions, isModelledKey } from '../analysis/condition-keys';
import { evaluate, parsePolicy } from '../../evaluator';
import { StackModel } from '../model/assembly';
import { Check } from '../analysis/checks';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { RelabelTarget } from './offline-decider';
import { requestContext } from '../analysis/request-context';
import { TemplateResolver } from '../model/template-values';
import { AGENT_TAG } from '../../shared/tags';
import { parseRoleArn } from '../../shared/arns';

/**
 * `verify --live`: the same checks, decided by IAM's own policy simulator (SimulatePrincipalPolicy)
 * for a role as deployed, which includes policies attached outside CDK. Resource tags are passed
 * as context entries only for the actions whose real request context carries them.
 */

/** How many actions one SimulatePrincipalPolicy call asks about. */
const ACTIONS_PER_CALL = 50;

export interface LiveOptions {
  readonly roleArn: string;
  readonly region: string;
  readonly endpoint?: string;
}

export function iamClient(options: LiveOptions): IAMClient {
  return new IAMClient({ region: options.region, ...(options.endpoint ? { endpoint: options.endpoint } : {}), maxAttempts: 3 });
}

async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const err = e as Error & { name?: string };
    throw new GuardrailsError(
      GuardrailsErrorKind.REMOTE,
      `IAM ${what} failed: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}. Check the role ARN, your credentials and ` +
        `their iam:Get*/iam:List*/iam:SimulatePrincipalPolicy permissions.`,
    );
  }
}

function decodeDocument(text: string | undefined): unknown {
  if (!text) return undefined;
  const decoded = text.trim().startsWith('{') ? text : decodeURIComponent(text);
  return JSON.parse(decoded);
}

async function managedDocument(client: IAMClient, arn: string): Promise<unknown> {
  const policy = await call(`GetPolicy ${arn}`, () => client.send(new GetPolicyCommand({ PolicyArn: arn })));
  const versionId = policy.Policy?.DefaultVersionId;
  if (!versionId) throw new GuardrailsError(GuardrailsErrorKind.REMOTE, `IAM GetPolicy ${arn} returned no default version.`);
  const version = await call(`GetPolicyVersion ${arn}`, () => client.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: versionId })));
  return decodeDocument(version.PolicyVersion?.Document);
}

/** Reads a deployed role: tags, inline and attached policies (documents included), boundary. */
export async function readLiveRole(client: IAMClient, options: LiveOptions): Promise<AgentModel> {
  const match = parseRoleArn(options.roleArn);
  if (!match) {
    throw new GuardrailsError(
      GuardrailsErrorKind.USAGE,
      `--role-arn ${JSON.stringify(options.roleArn)} is not a role ARN. Pass arn:aws:iam::<account>:role/<name>.`,
    );
  }
  const { partition, account, name: roleName } = match;
  const role = await call(`GetRole ${roleName}`, () => client.send(new GetRoleCommand({ RoleName: roleName })));
  const tags: Record<string, string> = {};
  for (const t of role.Role?.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
  const identityPolicies: AgentPolicy[] = [];
  let marker: string | undefined;
  do {
    const page = await call('ListRolePolicies', () => client.send(new ListRolePoliciesCommand({ RoleName: roleName, Marker: marker })));
    for (const name of page.PolicyNames ?? []) {
      const inline = await call(`GetRolePolicy ${name}`, () => client.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name })));
      identityPolicies.push({ name, source: 'inline', document: decodeDocument(inline.PolicyDocument) });
    }
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  do {
    const page = await call('ListAttachedRolePolicies', () =>
      client.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, Marker: marker })),
    );
    for (const attached of page.AttachedPolicies ?? []) {
      const arn = attached.PolicyArn!;
      identityPolicies.push({
        name: attached.PolicyName ?? arn,
        source: arn.includes(':iam::aws:policy/') ? 'aws-managed' : 'app-managed',
        arn,
        document: await managedDocument(client, arn),
      });
    }
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  const boundaryArn = role.Role?.PermissionsBoundary?.PermissionsBoundaryArn;
  const boundary: AgentPolicy | undefined = boundaryArn
    ? {
        name: boundaryArn.split('/').pop()!,
        source: boundaryArn.includes(':iam::aws:policy/') ? 'aws-managed' : 'app-managed',
        arn: boundaryArn,
        document: await managedDocument(client, boundaryArn),
      }
    : undefined;
  const env = { stackName: 'live', account, region: options.region, partition };
  const stack: StackModel = {
    displayName: `live account ${account}`,
    env,
    accountKnown: true,
    template: {},
    tags: {},
    resolver: new TemplateResolver(env, {}),
    templateFile: '',
  };
  return {
    name: tags[AGENT_TAG] ?? roleName,
    detectedBy: 'named',
    roleArn: role.Role?.Arn ?? options.roleArn,
    roleName,
    logicalId: roleName,
    stack,
    tags,
    trustedServices: [],
    identityPolicies,
    boundary,
    unresolved: [],
  };
}

const DECISIONS: Record<string, RawDecision> = { allowed: 'Allowed', explicitdeny: 'ExplicitlyDenied', implicitdeny: 'ImplicitlyDenied' };

/** Decides checks with SimulatePrincipalPolicy, batching actions that share a resource and a context. */
export class LiveDecider implements Decider {
  public calls = 0;

  constructor(
    private readonly client: IAMClient,
    private readonly relabel: RelabelTarget,
  ) {}

  public async decide(agent: AgentModel, checks: readonly Check[]): Promise<Decisions> {
    const groups = new Map<string, { arn: string; entries: ContextEntry[]; indexes: number[] }>();
    checks.forEach((check, i) => {
      const context = requestContext(check.action, check.arn, {
        tags: check.resource?.tags ?? {},
        bucketAbac: check.resource?.bucketAbac ?? false,
        resourceAccount: undefined,
        principalArn: agent.roleArn,
        principalTags: {},
        relabel: check.category === 'tagging' ? this.relabel : undefined,
      });
      // IAM's simulator fills the principal keys itself; pass what depends on the resource and the request.
      const entries: ContextEntry[] = Object.entries(context)
        .filter(([k]) => !/^aws:Principal/i.test(k))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => ({
          ContextKeyName: k,
          ContextKeyValues: Array.isArray(v) ? v : [v],
          ContextKeyType: Array.isArray(v) ? 'stringList' : 'string',
        }));
      const key = `${check.arn}|${JSON.stringify(entries)}`;
      const group = groups.get(key) ?? { arn: check.arn, entries, indexes: [] };
      group.indexes.push(i);
      groups.set(key, group);
    });
    const decisions: RawDecision[] = checks.map(() => 'Unknown');
    const relied: boolean[] = checks.map(() => false);
    const assumed = new Set<string>();
    for (const group of groups.values()) {
      for (let start = 0; start < group.indexes.length; start += ACTIONS_PER_CALL) {
        const indexes = group.indexes.slice(start, start + ACTIONS_PER_CALL);
        const actions = [...new Set(indexes.map((i) => checks[i].action))];
        const byAction = new Map<string, { decision: RawDecision; assumed: boolean }>();
        let marker: string | undefined;
        do {
          this.calls++;
          const page = await call(`SimulatePrincipalPolicy for ${agent.roleArn}`, () =>
            this.client.send(
              new SimulatePrincipalPolicyCommand({
                PolicySourceArn: agent.roleArn,
                ActionNames: actions,
                ...(group.arn !== '*' ? { ResourceArns: [group.arn] } : {}),
                ...(group.entries.length ? { ContextEntries: group.entries } : {}),
                Marker: marker,
              }),
            ),
          );
          for (const result of page.EvaluationResults ?? []) {
            // Anything IAM answers that verify does not recognise stays Unknown: fail closed.
            const decision = DECISIONS[(result.EvalDecision ?? '').toLowerCase()] ?? 'Unknown';
            // IAM decided without a context key verify does not pass (aws:RequestedRegion, aws:SourceIdentity ...):
            // the real request carries it, so an Allow conditioned on it may hold and a Deny may not apply.
            // Short of an explicit deny, that is a possibility: a finding, not a denial.
            // IAM lists them on the result when the resource is `*`, else per resource (ResourceSpecificResults).
            const reported = [
              ...(result.MissingContextValues ?? []),
              ...(result.ResourceSpecificResults ?? []).flatMap((r) => r.MissingContextValues ?? []),
            ];
            const missing = reported.filter((k) => !isModelledKey(k, this.relabel.key));
            missing.forEach((k) => assumed.add(k));
            const possible = missing.length > 0 && decision !== 'ExplicitlyDenied' && decision !== 'Allowed';
            byAction.set((result.EvalActionName ?? '').toLowerCase(), { decision: possible ? 'Allowed' : decision, assumed: possible });
          }
          marker = page.IsTruncated ? page.Marker : undefined;
        } while (marker);
        for (const i of indexes) {
          const answer = byAction.get(checks[i].action.toLowerCase());
          decisions[i] = answer?.decision ?? 'Unknown';
          relied[i] = answer?.assumed ?? false;
        }
      }
    }
    this.applyResourceGrants(agent, checks, decisions);
    return { decisions, relied, assumedKeys: [...assumed].sort() };
  }

  /**
   * IAM's simulator is not given the app's resource-based policies; verify applies them itself: short
   * of an explicit deny (which IAM would have reported), a grant matching the request allows it
   * (the boundary is not credited against it: pessimistic), an unresolvable one makes it Unknown.
   */
  private applyResourceGrants(agent: AgentModel, checks: readonly Check[], decisions: RawDecision[]): void {
    const grants = agent.resourceGrants ?? [];
    if (grants.length === 0) return;
    const policy = (certain: boolean) => {
      const statements = grants.filter((g) => g.certain === certain).map((g) => g.statement);
      return statements.length > 0
        ? [parsePolicy(assumeUnmodelledConditions({ Version: '2012-10-17', Statement: statements }, this.relabel.key).document)]
        : undefined;
    };
    const certain = policy(true);
    const possible = policy(false);
    checks.forEach((check, i) => {
      if (decisions[i] === 'Allowed' || decisions[i] === 'ExplicitlyDenied') return;
      const context = requestContext(check.action, check.arn, {
        tags: check.resource?.tags ?? {},
        bucketAbac: check.resource?.bucketAbac ?? false,
        resourceAccount: agent.stack.env.account,
        principalArn: agent.roleArn,
        principalTags: agent.tags,
        relabel: check.category === 'tagging' ? this.relabel : undefined,
      });
      const request = { principal: agent.roleArn, action: check.action, resource: check.arn, context };
      if (certain && evaluate({ ...request, identityPolicies: certain }) === 'Allowed') decisions[i] = 'Allowed';
      else if (possible && evaluate({ ...request, identityPolicies: possible }) === 'Allowed') decisions[i] = 'Unknown';
    });
  }
}
