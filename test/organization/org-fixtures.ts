import { runSimulation } from '@cloud-copilot/iam-simulate';
import { Decision, evaluate } from '../../lib/evaluator';
import { requestContext, sampleArns } from '../support/request-context';
import { ACCOUNT } from '../support/template-resolver';

/** The member account that owns production, and an account outside the organization. */
export { ACCOUNT };
export const OTHER_ACCOUNT = '999999999999';
export const AGENT_TAG_KEY = 'aws:PrincipalTag/guardrails:agent';

const ALLOW_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
/** AdministratorAccess, and FullAWSAccess (the SCP every target of a deny-list organization has). */
export const ADMINISTRATOR_ACCESS = ALLOW_ALL;
export const FULL_AWS_ACCESS = ALLOW_ALL;

export interface OrgRequest {
  readonly action: string;
  readonly resource: string;
  /** Tags of the resource; in the context only where the action's real context carries them. */
  readonly tags?: Record<string, string>;
  /** Whether the caller is an agent (carries the guardrails:agent principal tag). */
  readonly agent: boolean;
  /** Further context keys (aws:RequestTag/..., aws:TagKeys, ...). */
  readonly context?: Record<string, string | string[]>;
  /** The caller's account; another one than the resource's makes a cross-account request. @default ACCOUNT */
  readonly principalAccount?: string;
  /** The resource's own policy (needed for cross-account requests). */
  readonly resourcePolicy?: unknown;
  readonly bucketAbac?: boolean;
}

export type PolicyDocument = { Version: string; Statement: any[] };

const contexts = new Map<string, Record<string, string | string[]>>();

/** The request context AWS would build for the request, with the caller's agent tag (memoized: whole-catalog tests ask often). */
export function contextOf(request: OrgRequest): Record<string, string | string[]> {
  const key = JSON.stringify([request.action, request.resource, request.tags, request.agent, request.context, request.bucketAbac]);
  let context = contexts.get(key);
  if (!context) {
    context = buildContext(request);
    contexts.set(key, context);
  }
  return context;
}

function buildContext(request: OrgRequest): Record<string, string | string[]> {
  return {
    ...requestContext(request.action, request.resource, request.tags ?? {}, { bucketAbac: request.bucketAbac }),
    ...(request.agent ? { [AGENT_TAG_KEY]: 'ops-assistant' } : {}),
    ...(request.context ?? {}),
  };
}

function principalOf(request: OrgRequest): string {
  return `arn:aws:iam::${request.principalAccount ?? ACCOUNT}:role/${request.agent ? 'agent' : 'deployer'}`;
}

const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

/**
 * Decides a request of a principal with AdministratorAccess with @cloud-copilot/iam-simulate, under
 * the SCPs (beside FullAWSAccess, at the root) when the caller is in the organization, and the RCPs
 * of the resource's organization (beside RCPFullAWSAccess, which the simulator adds). Fails the test
 * when the simulator rejects a policy or ignores a context key: the context must be one AWS builds.
 */
export async function simulate(policies: { scps: PolicyDocument[]; rcps: PolicyDocument[] }, request: OrgRequest,
  identity: PolicyDocument[] = [ADMINISTRATOR_ACCESS]): Promise<Decision> {
  const inOrganization = (request.principalAccount ?? ACCOUNT) === ACCOUNT;
  const result: any = await runSimulation({
    request: {
      principal: principalOf(request),
      action: request.action,
      resource: { resource: request.resource, accountId: ACCOUNT },
      contextVariables: contextOf(request),
    },
    identityPolicies: identity.map((policy, i) => ({ name: `identity-${i}`, policy })),
    serviceControlPolicies: inOrganization
      ? [{
        orgIdentifier: 'r-root',
        policies: [{ name: 'FullAWSAccess', policy: FULL_AWS_ACCESS }, ...policies.scps.map((policy, i) => ({ name: `scp-${i}`, policy }))],
      }]
      : [],
    resourceControlPolicies: [{ orgIdentifier: 'r-root', policies: policies.rcps.map((policy, i) => ({ name: `rcp-${i}`, policy })) }],
    resourcePolicy: request.resourcePolicy ?? (request.resource.startsWith('arn:aws:kms:') ? DEFAULT_KEY_POLICY : undefined),
    additionalSettings: { s3: { bucketAbacEnabled: request.bucketAbac ?? false } },
  }, {});
  if (result.resultType === 'error') {
    throw new Error(`simulation of ${request.action} on ${request.resource} failed: ${JSON.stringify(result.errors)}`);
  }
  const ignored = result.result?.ignoredContextKeys ?? [];
  if (ignored.length > 0) {
    throw new Error(`the simulator ignored context keys ${ignored.join(', ')} for ${request.action}: the test context is not realistic`);
  }
  return result.overallResult as Decision;
}

/** Like simulate, on a sample resource of the action's own type (the next type when the simulator finds the ARN ambiguous). */
export async function simulateOnSample(policies: { scps: PolicyDocument[]; rcps: PolicyDocument[] },
  request: Omit<OrgRequest, 'resource'>): Promise<Decision> {
  const candidates = sampleArns(request.action);
  if (candidates.length === 0) return simulate(policies, { ...request, resource: '*' });
  let lastError: Error | undefined;
  for (const resource of candidates) {
    try {
      return await simulate(policies, { ...request, resource });
    } catch (e) {
      lastError = e as Error;
      if (!/multiple\.resource\.types/.test(lastError.message)) throw e;
    }
  }
  return simulate(policies, { ...request, resource: candidates[0].replace(/[^:/]+$/, '*') }).catch(() => { throw lastError; });
}

/**
 * Decides a request with the library's own evaluator: the identity policies (and boundary), and
 * the given control policies as one organization level beside an allow-all policy. For resource
 * control policies (which the evaluator does not parse yet: they carry `Principal: "*"`), the
 * principal element is removed: `"*"` matches every principal, and a level of deny statements beside
 * an allow-all decides exactly as RCPFullAWSAccess and the RCPs do for a request of the same account.
 */
export function evaluateUnder(control: PolicyDocument[], request: OrgRequest,
  identity: unknown[] = [ADMINISTRATOR_ACCESS], boundary: unknown[] = []): Decision {
  const level = [FULL_AWS_ACCESS, ...control.map(withoutPrincipal)];
  return evaluate({
    principal: principalOf(request),
    action: request.action,
    resource: request.resource,
    context: contextOf(request),
    identityPolicies: identity,
    permissionsBoundaries: boundary,
    serviceControlPolicies: control.length > 0 ? [level] : [],
  });
}

// The evaluator caches compiled policies by document: keep one principal-less copy per RCP.
const principalless = new WeakMap<PolicyDocument, PolicyDocument>();
function withoutPrincipal(document: PolicyDocument): PolicyDocument {
  let copy = principalless.get(document);
  if (!copy) {
    copy = { ...document, Statement: document.Statement.map(({ Principal: _principal, ...rest }) => rest) };
    principalless.set(document, copy);
  }
  return copy;
}

/** A sample ARN of the action's own resource type, or '*' for an action without one. */
export function sampleResource(action: string, name = 'prod'): string {
  return sampleArns(action, name)[0] ?? '*';
}
