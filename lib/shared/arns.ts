/**
 * ARNs every feature reads the same way: a role's, a session of a role (how STS, CloudTrail and a
 * function URL name the caller), and whether an ARN names specific resources. No CDK: verify, the
 * CLI and the Lambda handlers load it.
 */

export interface RoleArnParts {
  readonly partition: string;
  readonly account: string;
  /** The role's path without its slashes; '' when it has none. */
  readonly path: string;
  readonly name: string;
}

export interface SessionArnParts {
  readonly partition: string;
  readonly account: string;
  readonly roleName: string;
  readonly session: string;
}

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:(.*)\/)?([^/]+)$/;
/** `arn:aws:sts::ACCOUNT:assumed-role/ROLE_NAME/SESSION`: a session carries the role's name, never its path. */
const SESSION_ARN = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/;

export function parseRoleArn(arn: string): RoleArnParts | undefined {
  const m = ROLE_ARN.exec(arn);
  return m ? { partition: m[1], account: m[2], path: m[3] ?? '', name: m[4] } : undefined;
}

export function parseSessionArn(arn: string): SessionArnParts | undefined {
  const m = SESSION_ARN.exec(arn);
  return m ? { partition: m[1], account: m[2], roleName: m[3], session: m[4] } : undefined;
}

/** What every session ARN of the role starts with; undefined when `roleArn` is not a role ARN. */
export function sessionArnPrefix(roleArn: string): string | undefined {
  const role = parseRoleArn(roleArn);
  return role ? `arn:${role.partition}:sts::${role.account}:assumed-role/${role.name}/` : undefined;
}

/** The ARN of the role's session named `session`; undefined when `roleArn` is not a role ARN. */
export function sessionArnOf(roleArn: string, session: string): string | undefined {
  const prefix = sessionArnPrefix(roleArn);
  return prefix === undefined ? undefined : `${prefix}${session}`;
}

/**
 * Whether a literal ARN names specific resources rather than every resource of a kind: `*`, or a
 * wildcard in the service, region, account or the resource's own name, does not.
 */
export function isSpecificLiteralArn(arn: string): boolean {
  if (arn === '*') return false;
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return false;
  const [, , service, region, account] = parts;
  if (/[*?]/.test(service) || /[*?]/.test(region) || /[*?]/.test(account)) return false;
  const segments = parts.slice(5).join(':').split(/[/:]/);
  // S3 names the bucket first; most services name a resource type first, then the resource.
  const identifying = service === 's3' || segments.length === 1 ? segments.slice(0, 1) : segments.slice(0, 2);
  return identifying.every((s) => s.length > 0 && !/[*?]/.test(s));
}
