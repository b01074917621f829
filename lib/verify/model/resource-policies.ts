import { AssemblyModel, StackModel } from './assembly';
import { TemplateResource, arnOfResource } from './template-values';
import { sessionArnPrefix } from '../../shared/arns';
import { toList } from '../../shared/list';

/**
 * Resource-based policies of the app that grant an agent something its identity policies do not.
 *
 * Within one account, IAM allows a request when an identity policy OR the resource's policy
 * allows it (explicit denies still win). A bucket policy naming the agent role can therefore hand
 * it `s3:DeleteBucket` without any identity grant. verify turns each Allow statement whose
 * principal covers the agent into an identity-style statement scoped to the resource it is
 * attached to, and evaluates it beside the agent's own policies.
 *
 * Principals:
 * - the agent role's ARN: a grant to the role, limited by the role's permissions boundary (as IAM does);
 * - `*` or one of the role's sessions (`arn:aws:sts::ACCOUNT:assumed-role/NAME/...`): a grant to
 *   the session, which the boundary's implicit deny does not limit;
 * - an account (`ACCOUNT`, `arn:aws:iam::ACCOUNT:root`): delegates to the account's identity
 *   policies and grants nothing by itself (the default key policy of every KMS key says so);
 * - anything verify cannot resolve offline: an UNKNOWN grant (fail closed).
 * Deny statements of resource policies are not credited (pessimistic).
 */

/** How a resource-policy statement reaches the agent. */
export type GrantScope = 'role' | 'session';

export interface ResourceGrant {
  /** `Stack/LogicalId (Type)`. */
  readonly source: string;
  /** An Allow statement without Principal, scoped to the resources the policy governs. */
  readonly statement: Record<string, unknown>;
  readonly scope: GrantScope;
  /** False when its principal or resource could not be resolved: evaluated as a possibility only (UNKNOWN). */
  readonly certain: boolean;
}

/** One resource-based policy of the app, resolved. */
export interface ResourcePolicyModel {
  readonly source: string;
  /** The policy document with intrinsics resolved. */
  readonly document: unknown;
  /** ARNs the policy governs (`Resource: "*"` means these); undefined when they cannot be resolved. */
  readonly governs?: string[];
}

const unresolved = (v: unknown) => JSON.stringify(v ?? null).includes('unresolved:');

function queueArn(url: unknown, stack: StackModel): string | undefined {
  if (typeof url !== 'string') return undefined;
  if (url.startsWith('arn:')) return url;
  const m = /^https:\/\/sqs\.([^./]+)\.[^/]+\/(\d{12})\/([^/]+)$/.exec(url);
  return m ? `arn:${stack.env.partition}:sqs:${m[1]}:${m[2]}:${m[3]}` : undefined;
}

function lambdaArn(name: unknown, stack: StackModel): string | undefined {
  if (typeof name !== 'string' || unresolved(name)) return undefined;
  if (name.startsWith('arn:')) return name;
  const env = stack.env;
  return `arn:${env.partition}:lambda:${env.region}:${env.account}:function:${name}`;
}

function all(values: Array<string | undefined>): string[] | undefined {
  return values.length > 0 && values.every((v) => typeof v === 'string' && !unresolved(v)) ? (values as string[]) : undefined;
}

/** The resource-based policies of one template resource, if it has any verify reads. */
function policiesOf(stack: StackModel, logicalId: string, resource: TemplateResource): ResourcePolicyModel[] {
  const source = `${stack.displayName}/${logicalId} (${resource.Type})`;
  const p = resource.Properties ?? {};
  const resolve = (v: unknown) => stack.resolver.resolve(v);
  switch (resource.Type) {
    case 'AWS::S3::BucketPolicy': {
      const bucket = resolve(p.Bucket);
      const arn = typeof bucket === 'string' && !unresolved(bucket) ? `arn:${stack.env.partition}:s3:::${bucket}` : undefined;
      return [{ source, document: resolve(p.PolicyDocument), governs: arn ? [arn, `${arn}/*`] : undefined }];
    }
    case 'AWS::SQS::QueuePolicy':
      return [{ source, document: resolve(p.PolicyDocument), governs: all(toList(resolve(p.Queues)).map((q) => queueArn(q, stack))) }];
    case 'AWS::SNS::TopicPolicy':
      return [
        { source, document: resolve(p.PolicyDocument), governs: all(toList(resolve(p.Topics)).map((t) => (typeof t === 'string' ? t : undefined))) },
      ];
    case 'AWS::KMS::Key': {
      const arn = arnOfResource(stack.env, logicalId, resource);
      return p.KeyPolicy === undefined ? [] : [{ source, document: resolve(p.KeyPolicy), governs: arn ? [arn] : undefined }];
    }
    case 'AWS::SecretsManager::ResourcePolicy': {
      const secret = resolve(p.SecretId);
      return [
        { source, document: resolve(p.ResourcePolicy), governs: all([typeof secret === 'string' && secret.startsWith('arn:') ? secret : undefined]) },
      ];
    }
    case 'AWS::ECR::Repository': {
      const arn = arnOfResource(stack.env, logicalId, resource);
      return p.RepositoryPolicyText === undefined ? [] : [{ source, document: resolve(p.RepositoryPolicyText), governs: arn ? [arn] : undefined }];
    }
    case 'AWS::Lambda::Permission': {
      const principal = resolve(p.Principal);
      const action = resolve(p.Action);
      const statement: Record<string, unknown> = {
        Effect: 'Allow',
        Principal: typeof principal === 'string' && /\.amazonaws\.com(\.cn)?$/.test(principal) ? { Service: principal } : { AWS: principal },
        Action: action,
        Resource: '*',
      };
      return [{ source, document: { Version: '2012-10-17', Statement: [statement] }, governs: all([lambdaArn(resolve(p.FunctionName), stack)]) }];
    }
    default:
      return [];
  }
}

/** Every resource-based policy verify reads, across every stack of the assembly. */
export function findResourcePolicies(assembly: AssemblyModel): ResourcePolicyModel[] {
  const found: ResourcePolicyModel[] = [];
  for (const stack of assembly.stacks) {
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      found.push(...policiesOf(stack, logicalId, resource));
    }
  }
  return found;
}

/** How one principal value reaches the agent: a grant scope, 'unknown', or undefined (it does not). */
function reach(value: unknown, roleArn: string): GrantScope | 'unknown' | undefined {
  if (value === '*') return 'session';
  if (typeof value !== 'string' || unresolved(value)) return 'unknown';
  if (value === roleArn) return 'role';
  const sessions = sessionArnPrefix(roleArn);
  if (sessions !== undefined && value.startsWith(sessions)) return 'session';
  // A role's unique ID (AROA...) cannot be matched to a role offline.
  if (/^AROA[A-Z0-9]+$/.test(value)) return 'unknown';
  return undefined;
}

/** The widest way a statement's Principal (or NotPrincipal) reaches the agent. */
function principalReach(statement: Record<string, any>, roleArn: string): GrantScope | 'unknown' | undefined {
  if (statement.NotPrincipal !== undefined) {
    const listed = Object.values(statement.NotPrincipal === '*' ? { AWS: '*' } : (statement.NotPrincipal ?? {})).flatMap((v) => toList(v));
    // NotPrincipal exempts only what it names; everyone else (the agent's session included) is granted.
    const exempt = listed.some((v) => {
      const r = reach(v, roleArn);
      return r === 'role' || (r === 'session' && v !== '*');
    });
    return exempt ? undefined : 'session';
  }
  const principal = statement.Principal;
  if (principal === '*') return 'session';
  if (!principal || typeof principal !== 'object') return unresolved(principal) ? 'unknown' : undefined;
  const values = toList(principal.AWS);
  const reaches = values.map((v) => reach(v, roleArn));
  if (reaches.includes('session')) return 'session';
  if (reaches.includes('role')) return 'role';
  if (reaches.includes('unknown')) return 'unknown';
  return undefined;
}

/** The grants the app's resource-based policies give the agent role with this ARN. */
export function resourceGrantsFor(policies: readonly ResourcePolicyModel[], roleArn: string): ResourceGrant[] {
  const grants: ResourceGrant[] = [];
  for (const policy of policies) {
    const statements = toList((policy.document as any)?.Statement);
    if (policy.document !== undefined && (typeof policy.document !== 'object' || statements.length === 0) && unresolved(policy.document)) {
      // A document verify cannot read at all: it may grant anything on what it governs.
      grants.push({
        source: policy.source,
        statement: { Effect: 'Allow', Action: '*', Resource: policy.governs ?? '*' },
        scope: 'session',
        certain: false,
      });
      continue;
    }
    for (const raw of statements) {
      const statement = raw as Record<string, any>;
      if (!statement || statement.Effect !== 'Allow') continue;
      const scope = principalReach(statement, roleArn);
      if (scope === undefined) continue;
      const resources = statement.NotResource !== undefined ? ['*'] : toList(statement.Resource ?? '*');
      const wildcard = resources.some((r) => r === '*');
      const unknownResource = resources.some((r) => typeof r !== 'string' || unresolved(r)) || (wildcard && !policy.governs);
      const scoped =
        wildcard && policy.governs
          ? [...new Set([...resources.filter((r) => r !== '*'), ...policy.governs])]
          : resources.filter((r) => typeof r === 'string' && !unresolved(r));
      const { Principal: _p, NotPrincipal: _n, NotResource: _r, Resource: _res, Sid: _s, ...rest } = statement;
      const certain = scope !== 'unknown' && !unknownResource && (statement.Action !== undefined || statement.NotAction !== undefined);
      grants.push({
        source: policy.source,
        statement: { ...rest, Resource: unknownResource ? '*' : scoped },
        scope: scope === 'role' ? 'role' : 'session',
        certain,
      });
    }
  }
  return grants;
}
