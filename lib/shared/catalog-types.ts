/**
 * How an entry of the destructive catalog is treated on production resources.
 * - `resource`: destroys or empties the resource itself, its backups, snapshots, versions or
 *   protections. Never allowed on production, whatever else is granted.
 * - `data`: deletes data inside a resource (an item, an object, a message). Denied on production
 *   unless the user made an explicit grant scoped to that resource.
 * - `tagging`: changes tags; on a protected resource that could relabel production as disposable.
 */
export type CatalogClass = 'resource' | 'data' | 'tagging';

/** Why the action is destructive. */
export type CatalogReason = 'delete' | 'terminate' | 'destroy' | 'purge' | 'drop' | 'key-deletion' | 'indirect' | 'data-delete' | 'tag-change';

/**
 * Whether the request context of the action carries `aws:ResourceTag/*`, per the IAM data:
 * `yes` for every resource type, `no` for none (or no resource type at all), `partial` for some,
 * `s3-abac` only when attribute-based access control is enabled on the bucket.
 */
export type TagContext = 'yes' | 'no' | 'partial' | 's3-abac';

/** [action, class, reason, tag context] */
export type CatalogEntry = readonly [string, CatalogClass, CatalogReason, TagContext];

/** Escalation and tampering action groups, denied to every agent. */
export interface EscalationCatalog {
  /** IAM writes (identities, policies, credentials), excluding iam:PassRole, which has its own allow-list. */
  readonly iamWrites: readonly string[];
  /** Writes to accounts, organizations, identity center and CloudTrail. */
  readonly controlPlaneWrites: readonly string[];
}
