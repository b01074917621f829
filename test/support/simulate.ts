import { runSimulation } from '@cloud-copilot/iam-simulate';
import { EffectivePolicies } from './effective-policies';
import { requestContext, sampleArns } from './request-context';
import { ACCOUNT } from './template-resolver';

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface Request {
  readonly action: string;
  readonly resource: string;
  /** Tags on the resource; they enter the context only where the action's real context carries them. */
  readonly tags?: Record<string, string>;
  readonly bucketAbac?: boolean;
  /** Further context keys (aws:TokenIssueTime, aws:ResourceAccount, ...). */
  readonly context?: Record<string, string | string[]>;
  readonly principal?: string;
  /** The resource's own policy; KMS keys get the default key policy that delegates to IAM. */
  readonly resourcePolicy?: unknown;
}

/** The default key policy of a KMS key (as CDK and the console create it): IAM policies decide. */
const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

/**
 * Evaluates a request against the effective policies of a role with @cloud-copilot/iam-simulate
 * (an independent IAM simulator). Fails the test if the simulator rejects the request or ignores a
 * context key: the context must be one AWS would really build for that action.
 */
export async function decide(policies: EffectivePolicies, request: Request): Promise<Decision> {
  const contextVariables = {
    ...requestContext(request.action, request.resource, request.tags ?? {}, { bucketAbac: request.bucketAbac }),
    ...(request.context ?? {}),
  };
  const result: any = await runSimulation(
    {
      request: {
        principal: request.principal ?? `arn:aws:iam::${ACCOUNT}:role/agent`,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables,
      },
      identityPolicies: policies.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
      permissionBoundaryPolicies: policies.permissionsBoundary ? [policies.permissionsBoundary] : undefined,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy ?? (request.resource.startsWith('arn:aws:kms:') ? DEFAULT_KEY_POLICY : undefined),
      additionalSettings: { s3: { bucketAbacEnabled: request.bucketAbac ?? false } },
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(`simulation of ${request.action} on ${request.resource} failed: ${JSON.stringify(result.errors)}`);
  }
  const ignored = result.result?.ignoredContextKeys ?? [];
  if (ignored.length > 0) {
    throw new Error(
      `the simulator ignored context keys ${ignored.join(', ')} for ${request.action} on ${request.resource}: the test context is not realistic`,
    );
  }
  return result.overallResult as Decision;
}

/**
 * Evaluates an action on a sample resource of its own type. Some ARN formats overlap (the simulator
 * then cannot tell the resource type); the next sample type is tried, and if none is unambiguous
 * the test fails.
 */
export async function decideOnSample(policies: EffectivePolicies, request: Omit<Request, 'resource'>): Promise<Decision> {
  const candidates = sampleArns(request.action);
  if (candidates.length === 0) return decide(policies, { ...request, resource: '*' });
  let lastError: Error | undefined;
  for (const resource of candidates) {
    try {
      return await decide(policies, { ...request, resource });
    } catch (e) {
      lastError = e as Error;
      if (!/multiple\.resource\.types/.test(lastError.message)) throw e;
    }
  }
  // Every sample is ambiguous (the ARN formats of the action's types coincide): evaluate the
  // simulator's wildcard mode, which decides for each matching resource type.
  const wildcard = candidates[0].replace(/[^:/]+$/, '*');
  const decision = await decide(policies, { ...request, resource: wildcard }).catch(() => {
    throw lastError;
  });
  return decision;
}
