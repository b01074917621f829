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
  return details.resourceTypes
    .map((t) => t.name)
    .filter((n) => n !== '' && types[n.toLowerCase()] !== undefined && arnFormatRegex(types[n.toLowerCase()].arn).test(arn));
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

/**
 * The `aws:ResourceTag/*` keys of the request context of `action` on `arn`: the resource's tags
 * where the IAM data says the resource type the action acts on carries them (for S3 buckets only
 * with bucket ABAC enabled), none otherwise.
 */
export function resourceTagContext(action: string, arn: string, tags: Record<string, string>, bucketAbac: boolean): Record<string, string> {
  const type = arn === '*' ? undefined : resourceTypesFor(action, arn)[0];
  if (!type || !carriesResourceTags(action, type, bucketAbac)) return {};
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
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
  Object.assign(context, resourceTagContext(action, arn, options.tags, options.bucketAbac));
  if (options.relabel) {
    if (actionAcceptsKey(action, 'aws:TagKeys')) context['aws:TagKeys'] = [options.relabel.key];
    if (actionAcceptsKey(action, `aws:RequestTag/${options.relabel.key}`)) context[`aws:RequestTag/${options.relabel.key}`] = options.relabel.value;
  }
  return context;
}

/** How a sample ARN is filled in: the partition, region and account, and a name for every other variable. */
export interface SampleArnNames {
  readonly account: string;
  readonly region: string;
  /** @default 'aws' */
  readonly partition?: string;
  /** The value of every other variable of the ARN format (`${TableName}`), or a function of the variable's name. */
  readonly name: string | ((variable: string) => string);
}

/** The ARN formats of the action's resource types, required types first; empty for an unknown action. */
function resourceTypeFormats(action: string): string[] {
  const parts = splitAction(action);
  const details = actionDetails(action);
  if (!parts || !details) return [];
  const types = serviceResourceTypes(parts.service);
  const known = details.resourceTypes.filter((t) => t.name !== '' && types[t.name.toLowerCase()] !== undefined);
  return [...known.filter((t) => t.required), ...known.filter((t) => !t.required)].map((t) => types[t.name.toLowerCase()].arn);
}

function fillArnFormat(format: string, names: SampleArnNames): string {
  return format.replace(/\$\{([^}]+)\}/g, (_m, v: string) =>
    v === 'Partition'
      ? (names.partition ?? 'aws')
      : v === 'Region'
        ? names.region
        : v === 'Account'
          ? names.account
          : typeof names.name === 'function'
            ? names.name(v)
            : names.name,
  );
}

/**
 * ARNs of the action's resource types, filled in with the given names: first those no other
 * resource type of the action also matches (some ARN formats overlap), so that IAM can tell which
 * resource type the request acts on and which condition keys its context carries; then the others.
 * Empty for an unknown action or one without a resource type.
 */
export function sampleArns(action: string, names: SampleArnNames): string[] {
  const formats = resourceTypeFormats(action);
  const samples = formats.map((f) => fillArnFormat(f, names));
  const unambiguous = samples.filter((arn) => formats.filter((f) => arnFormatRegex(f).test(arn)).length === 1);
  return [...new Set([...unambiguous, ...samples])];
}

/**
 * An ARN of the action's resource type (a required one first), with the given names (for checks
 * on resources that are not in the app: a policy, a user, another role). `*` for actions without
 * a resource type.
 */
export function sampleArn(action: string, account: string, region: string, name = 'any'): string {
  const format = resourceTypeFormats(action)[0];
  return format === undefined ? '*' : fillArnFormat(format, { account, region, name });
}

/** Like sampleArn, but the first of sampleArns: an ARN only one resource type of the action matches, when there is one. */
export function distinctSampleArn(action: string, account: string, region: string, name: string): string {
  const key = `${action}|${account}|${region}|${name}`;
  let arn = distinctSampleCache.get(key);
  if (arn === undefined) {
    arn = sampleArns(action, { account, region, name })[0] ?? '*';
    distinctSampleCache.set(key, arn);
  }
  return arn;
}

const distinctSampleCache = new Map<string, string>();

/** Whether the ARN matches more than one resource type of the action (identical ARN formats). */
export function ambiguousFor(action: string, arn: string): boolean {
  return arn !== '*' && resourceTypesFor(action, arn).length > 1;
}
