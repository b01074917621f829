/**
 * The binding between a gated request's `parameters` and the resource it names.
 *
 * Approvers read `resource`; the executor sends `parameters`. Unless the resource is derived from
 * the parameters, an agent can name an allowed staging resource while its parameters name
 * production. Every gated operation therefore has an ARN template whose `{Name}` placeholders are
 * filled from the request's parameters; the workflow, the notifier and the approval handler each
 * derive the target from the parameters and refuse a request whose `resource` is not that target.
 *
 * No CDK imports: the approval handler bundles this file.
 */
import { createHash } from 'crypto';

/** Pseudo parameters of the gate's stack, replaced at synth time. */
export const PSEUDO = { partition: '${AWS::Partition}', region: '${AWS::Region}', account: '${AWS::AccountId}' } as const;

/** How an operation's parameters name its resource. */
export interface ResourceBindingSpec {
  /** ARN template: `{Name}` is the request parameter `Name`; `${AWS::...}` the gate stack's pseudo parameters (until synth). */
  readonly resourceArn: string;
  /** With one placeholder: a value that is itself an ARN is the target (APIs taking a name or an ARN). */
  readonly acceptsArn: boolean;
}

/** What the approval handler and notifier know of each gated operation (the `OPERATIONS` environment). */
export interface BoundOperation extends ResourceBindingSpec {
  /** `service:Action` as IAM names it. */
  readonly operation: string;
  /** The ARNs or ARN patterns (`*` inside a name) the gate allows. */
  readonly resources: string[];
}

const P = PSEUDO;
const regional = (service: string, resource: string) => `arn:${P.partition}:${service}:${P.region}:${P.account}:${resource}`;
const bind = (resourceArn: string, acceptsArn = false): ResourceBindingSpec => ({ resourceArn, acceptsArn });

/**
 * The identifier member of each API, from the AWS API reference (the request shape's member that
 * names the resource), and the ARN it forms. `acceptsArn` only where the API documents that the
 * member takes a name or an ARN. An action missing here must be given a binding explicitly.
 * Placeholders are the member names as Step Functions' AWS SDK integrations take them: PascalCase,
 * also where the service's own API is camelCase (ECR, EKS, ECS: `repositoryName` is `RepositoryName`).
 * test/approval-gate/bindings.test.ts checks every entry against the SDK model or the API reference.
 */
export const KNOWN_BINDINGS: Readonly<Record<string, ResourceBindingSpec>> = {
  'rds:deletedbinstance': bind(regional('rds', 'db:{DBInstanceIdentifier}')),
  'rds:modifydbinstance': bind(regional('rds', 'db:{DBInstanceIdentifier}')),
  'rds:rebootdbinstance': bind(regional('rds', 'db:{DBInstanceIdentifier}')),
  'rds:stopdbinstance': bind(regional('rds', 'db:{DBInstanceIdentifier}')),
  'rds:deletedbcluster': bind(regional('rds', 'cluster:{DBClusterIdentifier}')),
  'rds:modifydbcluster': bind(regional('rds', 'cluster:{DBClusterIdentifier}')),
  'rds:stopdbcluster': bind(regional('rds', 'cluster:{DBClusterIdentifier}')),
  'rds:deletedbsnapshot': bind(regional('rds', 'snapshot:{DBSnapshotIdentifier}')),
  'rds:deletedbclustersnapshot': bind(regional('rds', 'cluster-snapshot:{DBClusterSnapshotIdentifier}')),
  // StackName: "the name or the unique stack ID"; a stack's ARN ends in a generated id.
  'cloudformation:updatestack': bind(regional('cloudformation', 'stack/{StackName}/*'), true),
  'cloudformation:deletestack': bind(regional('cloudformation', 'stack/{StackName}/*'), true),
  // TableName: "the name of the table ... You can also provide the ARN of the table".
  'dynamodb:deletetable': bind(regional('dynamodb', 'table/{TableName}'), true),
  'dynamodb:updatetable': bind(regional('dynamodb', 'table/{TableName}'), true),
  's3:deletebucket': bind(`arn:${P.partition}:s3:::{Bucket}`),
  's3:deletebucketpolicy': bind(`arn:${P.partition}:s3:::{Bucket}`),
  's3:putbucketpolicy': bind(`arn:${P.partition}:s3:::{Bucket}`),
  's3:deleteobject': bind(`arn:${P.partition}:s3:::{Bucket}/{Key}`),
  'lambda:deletefunction': bind(regional('lambda', 'function:{FunctionName}'), true),
  'sns:deletetopic': bind('{TopicArn}'),
  'iam:deleterole': bind(`arn:${P.partition}:iam::${P.account}:role/{RoleName}`),
  'kms:schedulekeydeletion': bind(regional('kms', 'key/{KeyId}'), true),
  'ecr:deleterepository': bind(regional('ecr', 'repository/{RepositoryName}')),
  'eks:deletecluster': bind(regional('eks', 'cluster/{Name}')),
  // What an ops agent needs a human for once production is read-only to it: stop, reboot, fail over,
  // scale, open or close the network, rotate secrets, move traffic.
  'rds:startdbinstance': bind(regional('rds', 'db:{DBInstanceIdentifier}')),
  'rds:rebootdbcluster': bind(regional('rds', 'cluster:{DBClusterIdentifier}')),
  'rds:startdbcluster': bind(regional('rds', 'cluster:{DBClusterIdentifier}')),
  'rds:failoverdbcluster': bind(regional('rds', 'cluster:{DBClusterIdentifier}')),
  'elasticache:rebootcachecluster': bind(regional('elasticache', 'cluster:{CacheClusterId}')),
  'autoscaling:setdesiredcapacity': bind(regional('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/{AutoScalingGroupName}')),
  'autoscaling:updateautoscalinggroup': bind(regional('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/{AutoScalingGroupName}')),
  // Cluster: "the short name or full ARN of the cluster"; bound by name, so give the short name.
  'ecs:updateservice': bind(regional('ecs', 'service/{Cluster}/{Service}')),
  'lambda:putfunctionconcurrency': bind(regional('lambda', 'function:{FunctionName}'), true),
  'ec2:authorizesecuritygroupingress': bind(regional('ec2', 'security-group/{GroupId}')),
  'ec2:revokesecuritygroupingress': bind(regional('ec2', 'security-group/{GroupId}')),
  'ec2:authorizesecuritygroupegress': bind(regional('ec2', 'security-group/{GroupId}')),
  'ec2:revokesecuritygroupegress': bind(regional('ec2', 'security-group/{GroupId}')),
  'ec2:createroute': bind(regional('ec2', 'route-table/{RouteTableId}')),
  'ec2:replaceroute': bind(regional('ec2', 'route-table/{RouteTableId}')),
  'ec2:deleteroute': bind(regional('ec2', 'route-table/{RouteTableId}')),
  // SecretId: "the ARN or name of the secret"; a secret's ARN ends in '-' and six random characters:
  // exactly six, so that `prod-db` never also names `prod-db-admin-...` (review2 MEDIUM-B).
  'secretsmanager:rotatesecret': bind(regional('secretsmanager', 'secret:{SecretId}-??????'), true),
  'secretsmanager:putsecretvalue': bind(regional('secretsmanager', 'secret:{SecretId}-??????'), true),
  'elasticloadbalancing:modifylistener': bind('{ListenerArn}'),
  'elasticloadbalancing:modifyrule': bind('{RuleArn}'),
};

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** The parameter names a template reads, in order. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/** The template as literal parts around its placeholders: parts.length === names.length + 1. */
export function splitTemplate(template: string): { parts: string[]; names: string[] } {
  const parts: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, m.index));
    names.push(m[1]);
    last = m.index! + m[0].length;
  }
  parts.push(template.slice(last));
  return { parts, names };
}

export interface DerivedTarget {
  readonly target?: string;
  /** Why no target could be derived (a parameter missing, not a string, or empty). */
  readonly error?: string;
}

/** The ARN the parameters name, exactly as the workflow derives it. */
export function targetOf(binding: ResourceBindingSpec, parameters: unknown): DerivedTarget {
  if (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) {
    return { error: 'parameters is not an object' };
  }
  const { parts, names } = splitTemplate(binding.resourceArn);
  if (names.length === 0) return { error: `the binding ${binding.resourceArn} names no parameter` };
  const values: string[] = [];
  for (const name of names) {
    const value = (parameters as Record<string, unknown>)[name];
    if (typeof value !== 'string' || value.length === 0) {
      return {
        error:
          `parameters.${name} (which names the resource) is ` +
          `${value === undefined ? 'missing' : `not a non-empty string: ${JSON.stringify(value)}`}`,
      };
    }
    values.push(value);
  }
  if (binding.acceptsArn && names.length === 1 && values[0].startsWith('arn:')) return { target: values[0] };
  return { target: parts.map((part, i) => part + (values[i] ?? '')).join('') };
}

/** IAM-style ARN pattern match: `*` matches any run of characters, everything else is literal. */
export function arnMatches(pattern: string, arn: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );
  return regex.test(arn);
}

export interface BindingCheck {
  /** The ARN the parameters act on, when it could be derived. */
  readonly target?: string;
  /** Why the request must not be approved or performed; undefined when it is consistent. */
  readonly refusal?: string;
}

/**
 * Re-checks a recorded request: its operation is gated, its parameters name exactly its resource,
 * and that resource is one the gate allows. Fail closed: anything unknown is a refusal.
 */
export function checkBinding(operations: readonly BoundOperation[], operation: string, resource: string, parameters: unknown): BindingCheck {
  const op = operations.find((o) => o.operation === operation);
  if (!op) return { refusal: `operation ${operation} is not gated here, or the binding of its parameters to its resource is unknown` };
  const { target, error } = targetOf(op, parameters);
  if (!target) return { refusal: `the parameters name no resource: ${error}` };
  // Another spelling of an identifier member (dbInstanceIdentifier, db_instance_identifier) could
  // reach the API as that member if any layer matched names loosely; the workflow reads the
  // exact name only, so such a request is never approved.
  const loose = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');
  for (const name of placeholdersOf(op.resourceArn)) {
    const alias = Object.keys(parameters as object).find((key) => key !== name && loose(key) === loose(name));
    if (alias) return { target, refusal: `the parameters hold ${alias} besides ${name}, another spelling of the member that names the resource` };
  }
  // A wildcard or policy variable in a value that names the resource would widen a session policy
  // (credentials mode) or a match to a whole family of resources (review MEDIUM-3): one resource is
  // named, or none. The binding's own pattern may hold one (a stack's generated id: stack/{StackName}/*).
  const named = placeholdersOf(op.resourceArn).map((name) => String((parameters as Record<string, unknown>)[name]));
  const wildcard = named.map((value) => /[*?]|\$\{/.exec(value)).find((m) => m !== null);
  if (wildcard) {
    return {
      target,
      refusal:
        `the parameters name ${target}, which holds ${JSON.stringify(wildcard[0])}: a wildcard or policy variable, not one resource; ` +
        'name exactly one resource (its identifier without *, ? or ${)',
    };
  }
  if (target !== resource) {
    return { target, refusal: `the parameters act on ${target} but the request names ${resource}` };
  }
  if (!op.resources.some((pattern) => arnMatches(pattern, target))) {
    return { target, refusal: `the parameters act on ${target}, which this gate does not allow for ${operation}` };
  }
  return { target };
}

/** Step Functions' limit on an execution's input and on any state's data (256 KiB, UTF-8). */
export const STEP_FUNCTIONS_PAYLOAD_LIMIT_BYTES = 262_144;

/**
 * The largest request (operation, resource, parameters, reason, source identity as JSON) the gate
 * accepts: the workflow carries the request and its canonical form side by side (twice the
 * parameters) plus the decision, and the ledger item holds both too, so a quarter of Step Functions'
 * payload limit keeps every state and the 400 KB DynamoDB item well inside their limits.
 */
export const MAX_REQUEST_BYTES = STEP_FUNCTIONS_PAYLOAD_LIMIT_BYTES / 4;

/** Why a request is too large to be carried through the workflow, or undefined when it fits. */
export function requestSizeProblem(request: unknown): string | undefined {
  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(request) ?? '', 'utf8');
  } catch {
    return 'the request cannot be serialised as JSON';
  }
  if (bytes <= MAX_REQUEST_BYTES) return undefined;
  return (
    `the request is ${bytes} bytes as JSON, above the gate's limit of ${MAX_REQUEST_BYTES} bytes (a quarter of Step Functions' ` +
    `${STEP_FUNCTIONS_PAYLOAD_LIMIT_BYTES}-byte payload limit, because the workflow carries the parameters twice); ` +
    'split the operation, or pass large content by reference (an S3 object) instead of inline'
  );
}

/** Characters a Step Functions execution name must not hold (StartExecution `name`): whitespace, brackets, wildcards, specials, controls. */
const FORBIDDEN_IN_EXECUTION_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;

/**
 * Why `id` cannot be a request id, or undefined when it can. A request id is the execution's name,
 * chosen by whoever starts the workflow: Step Functions accepts 1 to 80 characters without
 * whitespace, brackets, wildcards, `" # % \ ^ | ~ \` $ & , ; : /` or control characters, and
 * non-ASCII letters too. Every such name is routable (the CLI percent-encodes it in the path).
 */
export function requestIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'a request id is a string';
  const length = Array.from(id).length;
  if (length < 1 || length > 80) return `a request id (an execution name) has 1 to 80 characters, this one has ${length}`;
  // A lone surrogate is no character: it has no UTF-8 form, and two such ids would share one encoding.
  if (/\p{Cs}/u.test(id)) return 'a request id (an execution name) is valid Unicode text; this one holds a lone surrogate';
  if (FORBIDDEN_IN_EXECUTION_NAME.test(id)) {
    return 'a request id (an execution name) holds no whitespace, brackets, wildcards, " # % \\ ^ | ~ ` $ & , ; : / or control characters';
  }
  return undefined;
}

/**
 * The request id as one URL path segment. Ids of [A-Za-z0-9_-] go as they are; any other id goes as
 * `~` and its UTF-8 base64url: `~` never occurs in an execution name, and no URL parser rewrites
 * such a segment (a percent-encoded `.` or `..` is still a dot segment that URLs resolve away).
 */
export function requestIdPath(id: string): string {
  return /^[A-Za-z0-9_-]+$/.test(id) ? id : `~${Buffer.from(id, 'utf8').toString('base64url')}`;
}

/**
 * The ASCII part of an STS session tag value (STS API reference, Tag: 0 to 256 letters, numbers, separators and
 * `_ . : / = + - @`). Only ASCII goes plain: STS's Unicode tables may differ from this runtime's.
 */
const PLAIN_TAG_VALUE = /^[A-Za-z0-9_.:/=+\-@]{1,256}$/;

/**
 * The request id as the value of the session tag `guardrails:approval-request`. STS refuses characters an
 * execution name may hold (`( ) ! '`, marks, symbols); sent raw, such an id would spend its approval on a
 * refused AssumeRole. An ASCII id STS accepts goes as it is; any other as `=` and its UTF-8 base64url (no
 * plain value starts with `=`), or `=sha256.` and the base64url of its SHA-256 when that would pass 256 characters.
 */
export function requestTagValue(id: string): string {
  if (!id.startsWith('=') && PLAIN_TAG_VALUE.test(id)) return id;
  const encoded = `=${Buffer.from(id, 'utf8').toString('base64url')}`;
  return encoded.length <= 256 ? encoded : `=sha256.${createHash('sha256').update(id, 'utf8').digest('base64url')}`;
}

/** The request id a path segment carries (the inverse of requestIdPath); undefined when it carries none. */
export function requestIdFromPath(segment: string): string | undefined {
  if (!segment.startsWith('~')) return /^[A-Za-z0-9_-]+$/.test(segment) ? segment : undefined;
  const encoded = segment.slice(1);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  const id = Buffer.from(encoded, 'base64url').toString('utf8');
  // Only the canonical encoding of valid UTF-8 is accepted: one id, one path.
  return requestIdPath(id) === segment ? id : undefined;
}
