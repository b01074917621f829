import { actionDetails, arnFormatRegex, serviceResourceTypes, splitAction } from '../../shared/iam-data';

export { arnFormatRegex };

/**
 * The request context AWS builds for an action, as far as the IAM service authorization data
 * tells: `aws:ResourceTag/*` keys are present only when the resource type the action acts on
 * carries them (and for S3 buckets only with bucket ABAC enabled). A verifier that put tags in
 * every context would credit a tag-conditioned deny with protection it does not give.
 */

const TAG_KEY = 'aws:resourcetag/${tagkey}';
/** The resource types of the action whose ARN format matches the ARN (from the IAM data). */
export function resourceTypesFor(action: string, arn: string): string[] {
  const parts = splitAction(action);
  const details = actionDetails(action);
  if (!parts || !details) return [];
  const types = serviceResourceTypes(parts.service);
  // The action data names resource types in their published case ('Secret'); the type files key them in lower case.
  return details.resourceTypes.map((t) => t.name).filter((n) => n !== '' && types[n.toLowerCase()] !== undefined && arnFormatRegex(types[n.toLowerCase()].arn).test(arn));
}

/** Whether the request context of the action on that resource type carries `aws:ResourceTag/*`. */
export function carriesResourceTags(action: string, resourceType: string, bucketAbac: boolean): boolean {
  const parts = splitAction(action);
  if (!parts) return false;
  const carries = (serviceResourceTypes(parts.service)[resourceType.toLowerCase()]?.conditionKeys ?? []).some((k) => k.toLowerCase() === TAG_KEY);
  // S3 puts bucket tags in aws:ResourceTag only when ABAC is enabled on the bucket.
  return carries && (parts.service !== 's3' || bucketAbac);
}

/** Whether the action itself accepts a condition key (case-insensitive, `${TagKey}` as wildcard). */
export function actionAcceptsKey(action: string, key: string): boolean {
  const details = actionDetails(action);
  const lower = key.toLowerCase();
  return (details?.conditionKeys ?? []).some((k) => {
    const pattern = k.toLowerCase();
    return pattern === lower || (pattern.includes('${tagkey}') && lower.startsWith(pattern.replace('${tagkey}', '')));
  });
}

export interface ContextOptions {
  readonly tags: Record<string, string>;
  readonly bucketAbac: boolean;
  /** The account owning the resource; undefined when it is not known. */
  readonly resourceAccount?: string;
  /** The calling role's ARN and tags (aws:PrincipalArn, aws:PrincipalTag/*). */
  readonly principalArn: string;
  readonly principalTags: Record<string, string>;
  /** For tag writes: the tag an agent would set to relabel production as disposable. */
  readonly relabel?: { readonly key: string; readonly value: string };
}

/** The request context of `action` on `arn`, built as AWS would build it. */
export function requestContext(action: string, arn: string, options: ContextOptions): Record<string, string | string[]> {
  const context: Record<string, string | string[]> = {
    'aws:PrincipalArn': options.principalArn,
    'aws:PrincipalAccount': options.principalArn.split(':')[4] ?? '',
    'aws:PrincipalType': 'AssumedRole',
  };
  for (const [k, v] of Object.entries(options.principalTags)) context[`aws:PrincipalTag/${k}`] = v;
  if (options.resourceAccount) context['aws:ResourceAccount'] = options.resourceAccount;
  const type = arn === '*' ? undefined : resourceTypesFor(action, arn)[0];
  if (type && carriesResourceTags(action, type, options.bucketAbac)) {
    for (const [k, v] of Object.entries(options.tags)) context[`aws:ResourceTag/${k}`] = v;
  }
  if (options.relabel) {
    if (actionAcceptsKey(action, 'aws:TagKeys')) context['aws:TagKeys'] = [options.relabel.key];
    if (actionAcceptsKey(action, `aws:RequestTag/${options.relabel.key}`)) context[`aws:RequestTag/${options.relabel.key}`] = options.relabel.value;
  }
  return context;
}

/**
 * An ARN of the action's resource type, with the given names (for checks on resources that are
 * not in the app: a policy, a user, another role). `*` for actions without a resource type.
 */
export function sampleArn(action: string, account: string, region: string, name = 'any'): string {
  const parts = splitAction(action);
  const details = actionDetails(action);
  if (!parts || !details) return '*';
  const types = serviceResourceTypes(parts.service);
  const typeNames = details.resourceTypes.filter((t) => t.name !== '' && types[t.name.toLowerCase()]);
  const chosen = typeNames.find((t) => t.required) ?? typeNames[0];
  if (!chosen) return '*';
  return types[chosen.name.toLowerCase()].arn.replace(/\$\{([^}]+)\}/g, (_m, v: string) => (v === 'Partition' ? 'aws' : v === 'Region' ? region : v === 'Account' ? account : name));
}

/**
 * Like sampleArn, but prefers a resource type of the action whose sample ARN no other resource type
 * of the service also matches (some ARN formats overlap), so that IAM can tell which resource type
 * the request acts on and which condition keys its context carries.
 */
export function distinctSampleArn(action: string, account: string, region: string, name: string): string {
  const key = `${action}|${account}|${region}|${name}`;
  let arn = distinctSampleCache.get(key);
  if (arn === undefined) {
    arn = computeDistinctSampleArn(action, account, region, name);
    distinctSampleCache.set(key, arn);
  }
  return arn;
}

const distinctSampleCache = new Map<string, string>();

function computeDistinctSampleArn(action: string, account: string, region: string, name: string): string {
  const parts = splitAction(action);
  const details = actionDetails(action);
  if (!parts || !details) return '*';
  const types = serviceResourceTypes(parts.service);
  const fill = (format: string) => format.replace(/\$\{([^}]+)\}/g, (_m, v: string) => (v === 'Partition' ? 'aws' : v === 'Region' ? region : v === 'Account' ? account : name));
  const own = [...details.resourceTypes].filter((t) => t.name !== '' && types[t.name.toLowerCase()])
    .sort((a, b) => Number(b.required) - Number(a.required))
    .map((t) => types[t.name.toLowerCase()].arn);
  const candidates = own.map(fill);
  const distinct = candidates.find((arn) => own.filter((format) => arnFormatRegex(format).test(arn)).length === 1);
  return distinct ?? candidates[0] ?? '*';
}

/** Whether the ARN matches more than one resource type of the action (identical ARN formats). */
export function ambiguousFor(action: string, arn: string): boolean {
  return arn !== '*' && resourceTypesFor(action, arn).length > 1;
}
