import { cachedIn } from '../../shared/bounded-cache';
import { splitArnPattern } from './arn';
import {
  CompiledAction,
  CompiledCondition,
  CompiledPolicy,
  CompiledResource,
  CompiledStatement,
  compiledFormOf,
  rememberCompiled,
} from './compiled-policy';
import { BASE_OPERATORS, compileComparison, InvalidConditionValue, NEGATION_OF } from './condition-operators';
import { IamString, IamStringToken, tokenizeIamString } from './iam-string';
import { BaseOperator, ParsedCondition, ParsedPatterns, ParsedPolicy, ParsedStatement, SetOperator } from './parsed-policy';
import { PolicyParseError } from './policy-parse-error';
import { Effect } from './types';

const POLICY_KEYS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const OPERATOR_BY_LOWER = new Map(BASE_OPERATORS.map((op) => [op.toLowerCase(), op]));

/**
 * Parses and validates one identity-type policy document (identity policy, permissions boundary or
 * SCP): a JSON object or a JSON string. Throws PolicyParseError saying where the problem is, what was
 * wrong, the value received and the fix. The result is immutable and can be passed to evaluate()
 * in place of the document (it is then not parsed again).
 */
export function parsePolicy(document: unknown): ParsedPolicy {
  return compilePolicy(document).parsed;
}

const documentCache = new WeakMap<object, CompiledPolicy>();
const stringCache = new Map<string, CompiledPolicy>();

/**
 * The compiled form of a document, a JSON string or a ParsedPolicy. Documents are cached by identity:
 * treat a document as immutable once it has been evaluated.
 */
export function compiledPolicyOf(document: unknown): CompiledPolicy {
  const known = compiledFormOf(document);
  if (known) return known;
  if (typeof document === 'string') {
    let cached = stringCache.get(document);
    if (!cached) {
      cached = compilePolicy(document);
      if (stringCache.size > 1000) stringCache.clear();
      stringCache.set(document, cached);
    }
    return cached;
  }
  if (typeof document === 'object' && document !== null) {
    let cached = documentCache.get(document);
    if (!cached) {
      cached = compilePolicy(document);
      documentCache.set(document, cached);
    }
    return cached;
  }
  return compilePolicy(document);
}

function compilePolicy(input: unknown): CompiledPolicy {
  let document = input;
  if (typeof input === 'string') {
    try {
      document = JSON.parse(input);
    } catch (e) {
      throw new PolicyParseError(
        '',
        `the policy is not valid JSON: ${(e as Error).message}`,
        input,
        'Pass a JSON policy document such as {"Version":"2012-10-17","Statement":[...]}.',
      );
    }
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new PolicyParseError(
      '',
      'a policy document must be a JSON object',
      document,
      'Pass an object such as {"Version":"2012-10-17","Statement":[...]}.',
    );
  }
  const doc = document as Record<string, unknown>;
  for (const key of Object.keys(doc)) {
    if (!POLICY_KEYS.has(key)) {
      throw new PolicyParseError(key, `unknown policy element "${key}"`, doc[key], 'A policy has only Version, Id and Statement (case-sensitive).');
    }
  }
  let version: ParsedPolicy['version'] = '2008-10-17';
  if (doc.Version !== undefined) {
    if (doc.Version !== '2012-10-17' && doc.Version !== '2008-10-17') {
      throw new PolicyParseError('Version', 'Version must be "2012-10-17" or "2008-10-17"', doc.Version, 'Write "Version": "2012-10-17".');
    }
    version = doc.Version;
  }
  if (doc.Id !== undefined && typeof doc.Id !== 'string') {
    throw new PolicyParseError('Id', 'Id must be a string', doc.Id, 'Write the Id as a string or leave it out.');
  }
  if (doc.Statement === undefined) {
    throw new PolicyParseError(
      'Statement',
      'the policy has no Statement',
      undefined,
      'Add "Statement": [ { "Effect": ..., "Action": ..., "Resource": ... } ].',
    );
  }
  const rawStatements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  const variables = version === '2012-10-17';
  const statements = rawStatements.map((raw, i) =>
    compileStatement(raw, Array.isArray(doc.Statement) ? `Statement[${i}]` : 'Statement', i, variables),
  );
  const parsed: ParsedPolicy = deepFreeze({
    version,
    ...(typeof doc.Id === 'string' ? { id: doc.Id } : {}),
    statements: statements.map((s) => s.parsed),
  });
  const compiled: CompiledPolicy = { parsed, statements };
  rememberCompiled(compiled);
  return compiled;
}

function compileStatement(raw: unknown, path: string, index: number, variables: boolean): CompiledStatement {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PolicyParseError(
      path,
      'a statement must be a JSON object',
      raw,
      'Write each statement as { "Effect": ..., "Action": ..., "Resource": ... }.',
    );
  }
  const st = raw as Record<string, unknown>;
  for (const key of Object.keys(st)) {
    if (key === 'Principal' || key === 'NotPrincipal') {
      throw new PolicyParseError(
        `${path}.${key}`,
        `${key} is not allowed in identity policies, permissions boundaries or SCPs (this evaluator does not evaluate resource policies)`,
        st[key],
        `Remove ${key}: an identity policy applies to the identity it is attached to.`,
      );
    }
    if (!STATEMENT_KEYS.has(key)) {
      throw new PolicyParseError(
        `${path}.${key}`,
        `unknown statement element "${key}"`,
        st[key],
        'A statement has Sid, Effect, Action or NotAction, Resource or NotResource, and Condition (case-sensitive).',
      );
    }
  }
  if (st.Sid !== undefined && typeof st.Sid !== 'string') {
    throw new PolicyParseError(`${path}.Sid`, 'Sid must be a string', st.Sid, 'Write the Sid as a string or leave it out.');
  }
  if (st.Effect !== 'Allow' && st.Effect !== 'Deny') {
    throw new PolicyParseError(
      `${path}.Effect`,
      'Effect must be exactly "Allow" or "Deny"',
      st.Effect,
      'Write "Effect": "Allow" or "Effect": "Deny" (case-sensitive).',
    );
  }
  const effect: Effect = st.Effect;
  const actions = exactlyOne(st, path, 'Action', 'NotAction');
  const resources = exactlyOne(st, path, 'Resource', 'NotResource');
  const compiledActions = actions.patterns.map((p, i) =>
    compileAction(p, `${path}.${actions.negated ? 'NotAction' : 'Action'}${actions.listed ? `[${i}]` : ''}`),
  );
  const compiledResources = resources.patterns.map((p, i) =>
    compileResource(p, `${path}.${resources.negated ? 'NotResource' : 'Resource'}${resources.listed ? `[${i}]` : ''}`, variables, resources.negated),
  );
  const conditions = compileConditions(st.Condition, `${path}.Condition`, variables);
  const parsed: ParsedStatement = {
    index,
    ...(typeof st.Sid === 'string' ? { sid: st.Sid } : {}),
    effect,
    actions: { negated: actions.negated, patterns: actions.patterns },
    resources: { negated: resources.negated, patterns: resources.patterns },
    conditions: conditions.map((c) => c.parsed),
  };
  return {
    parsed,
    deny: effect === 'Deny',
    actionsNegated: actions.negated,
    actions: compiledActions,
    anyAction: compiledActions.some((a) => a.all),
    exactActions: new Set(compiledActions.filter((a) => a.exact !== undefined).map((a) => `${a.service}:${a.exact}`)),
    wildcardActions: compiledActions.filter((a) => !a.all && a.exact === undefined),
    resourcesNegated: resources.negated,
    resources: compiledResources,
    conditions,
  };
}

function exactlyOne(st: Record<string, unknown>, path: string, positive: string, negative: string): ParsedPatterns & { listed: boolean } {
  const hasPositive = st[positive] !== undefined;
  const hasNegative = st[negative] !== undefined;
  if (hasPositive && hasNegative) {
    throw new PolicyParseError(
      path,
      `a statement has ${positive} or ${negative}, not both`,
      { [positive]: st[positive], [negative]: st[negative] },
      `Keep one of ${positive} and ${negative}.`,
    );
  }
  if (!hasPositive && !hasNegative) {
    throw new PolicyParseError(path, `the statement has neither ${positive} nor ${negative}`, st, `Add "${positive}": [...] (use "*" for all).`);
  }
  const name = hasPositive ? positive : negative;
  const value = st[name];
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) {
    throw new PolicyParseError(`${path}.${name}`, `${name} lists nothing`, value, `List at least one value in ${name}.`);
  }
  list.forEach((item, i) => {
    if (typeof item !== 'string') {
      throw new PolicyParseError(
        `${path}.${name}${Array.isArray(value) ? `[${i}]` : ''}`,
        `${name} values must be strings`,
        item,
        'Write each value as a string.',
      );
    }
  });
  return { negated: !hasPositive, patterns: list as string[], listed: Array.isArray(value) };
}

const SERVICE = /^[a-z0-9-]+$/i;
const ACTION_NAME = /^[a-z0-9*?-]+$/i;

/**
 * Compiled patterns are pure, and real policies repeat them (the same action lists in every agent's
 * guard): share them across policies. Bounded, as policies can be open-ended.
 */
const actionCache = new Map<string, CompiledAction>();
const resourceCache = new Map<string, CompiledResource>();

function compileAction(pattern: string, path: string): CompiledAction {
  return cachedIn(actionCache, pattern, () => compileActionUncached(pattern, path));
}

function compileResource(pattern: string, path: string, variables: boolean, negated: boolean): CompiledResource {
  const key = (variables ? 'v' : 's') + (negated ? 'n:' : 'r:') + pattern;
  return cachedIn(resourceCache, key, () => compileResourceUncached(pattern, path, variables, negated));
}

function compileActionUncached(pattern: string, path: string): CompiledAction {
  const text = pattern.trim();
  if (text === '*') return { all: true, service: '' };
  const colon = text.indexOf(':');
  const service = colon === -1 ? '' : text.slice(0, colon);
  const name = colon === -1 ? '' : text.slice(colon + 1);
  if (colon === -1 || name.includes(':') || !SERVICE.test(service) || !ACTION_NAME.test(name)) {
    const wildcardService = colon !== -1 && /[*?]/.test(service);
    throw new PolicyParseError(
      path,
      wildcardService
        ? 'the service prefix of an action cannot contain wildcards'
        : 'an action must be "*" or "service:Action" (letters, digits, hyphens, * and ? after the colon)',
      pattern,
      'Write the action as "s3:GetObject", "s3:Get*" or "*".',
    );
  }
  const lowerName = name.toLowerCase();
  if (!/[*?]/.test(name)) return { all: false, service: service.toLowerCase(), exact: lowerName };
  if (lowerName === '*') return { all: false, service: service.toLowerCase(), regex: /^/ };
  const source =
    '^' +
    lowerName
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\?/g, '.')
      .replace(/\*/g, '.*') +
    '$';
  return { all: false, service: service.toLowerCase(), regex: new RegExp(source, 'i') };
}

function compileResourceUncached(pattern: string, path: string, variables: boolean, negated: boolean): CompiledResource {
  if (pattern === '*') return { all: true, segments: [] };
  const parts = splitArnPattern(pattern, variables);
  if (!parts) {
    throw new PolicyParseError(
      path,
      'a resource must be "*" or an ARN (arn:partition:service:region:account:resource)',
      pattern,
      'Write the full ARN, e.g. "arn:aws:s3:::my-bucket/*", or "*".',
    );
  }
  const segments = parts.map((p) => tokenizeIamString(p, { wildcards: true, variables }));
  const doubts: string[] = [];
  // reference_policies_variables, "Where you can use policy variables": variables can only be used in
  // the resource part of an ARN, not before the fifth colon; the entry names no resource.
  const matchesNothing = segments.slice(0, 4).some((s) => s.hasVariables);
  if (matchesNothing) doubts.push('a policy variable before the fifth colon, where the docs forbid variables');
  const ends = segments.slice(0, 4).map((s) => s.tokens.length > 0 && s.tokens[s.tokens.length - 1].kind === 'anyRun');
  // reference_policies_elements_resource: a `*` ending a segment "can expand to match beyond the colon boundaries".
  const written = splitArnPattern(pattern, variables, false)!.length;
  const whole = ends.slice(0, written).some((e) => e) && !matchesNothing ? wholeArnPattern(segments.slice(0, written), ends) : undefined;
  if (negated && written < 5) doubts.push('a short ARN under NotResource (no page says what it excludes)');
  if (/[A-Z]/.test(parts[0] + parts[2])) doubts.push('upper case in the partition or region (no page says whether they match case-insensitively)');
  const typePart = /^[^/:]*/.exec(parts[4])![0];
  if (parts[1].toLowerCase() !== 's3' && /[*?]/.test(typePart) && typePart.length < parts[4].length) {
    doubts.push('a wildcard inside the resource type (no page says what it matches)');
  }
  return {
    all: false,
    segments,
    ...(matchesNothing ? { matchesNothing } : {}),
    ...(whole ? { whole } : {}),
    ...(doubts.length > 0 ? { doubt: `${negated ? 'NotResource' : 'Resource'} ${pattern}: ${doubts.join('; ')}` } : {}),
  };
}

/** The pattern after `arn:` as one string: a segment's last `*` crosses colons, any other `*` stays in its segment. */
function wholeArnPattern(segments: readonly IamString[], ends: readonly boolean[]): IamString {
  const tokens: IamStringToken[] = [];
  segments.forEach((segment, i) => {
    if (i > 0) tokens.push({ kind: 'text', text: ':' });
    segment.tokens.forEach((t, j) => {
      const last = j === segment.tokens.length - 1;
      tokens.push(t.kind === 'anyRun' && i < 4 && !(last && ends[i]) ? { kind: 'anyRunInSegment' } : t);
    });
  });
  const merged: IamStringToken[] = [];
  for (const t of tokens) {
    const prev = merged[merged.length - 1];
    if (t.kind === 'text' && prev?.kind === 'text') merged[merged.length - 1] = { kind: 'text', text: prev.text + t.text };
    else merged.push(t);
  }
  const hasVariables = segments.some((s) => s.hasVariables);
  return { source: segments.map((s) => s.source).join(':'), tokens: merged, hasVariables, hasWildcards: true, literal: '' };
}

function compileConditions(raw: unknown, path: string, variables: boolean): CompiledCondition[] {
  if (raw === undefined) return [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PolicyParseError(
      path,
      'Condition must be an object of operators',
      raw,
      'Write "Condition": { "StringEquals": { "aws:ResourceTag/env": "prod" } }.',
    );
  }
  const out: CompiledCondition[] = [];
  for (const [operatorText, block] of Object.entries(raw as Record<string, unknown>)) {
    const opPath = `${path}.${operatorText}`;
    const { operator, setOperator, ifExists } = parseOperator(operatorText, opPath);
    if (typeof block !== 'object' || block === null || Array.isArray(block)) {
      throw new PolicyParseError(
        opPath,
        `the ${operatorText} block must be an object of condition keys`,
        block,
        `Write "${operatorText}": { "<condition key>": ["value"] }.`,
      );
    }
    const entries = Object.entries(block as Record<string, unknown>);
    if (entries.length === 0) {
      throw new PolicyParseError(
        opPath,
        `the ${operatorText} block has no condition keys`,
        block,
        `Add a key such as "${operatorText}": { "aws:PrincipalTag/team": "ops" } or remove the block.`,
      );
    }
    for (const [key, rawValues] of entries) {
      const keyPath = `${opPath}.${key}`;
      if (key.trim() === '') throw new PolicyParseError(keyPath, 'a condition key is empty', key, 'Name the context key, e.g. "aws:SourceIp".');
      const list = Array.isArray(rawValues) ? rawValues : [rawValues];
      // An empty list is valid policy (IAM Access Analyzer accepts it); what it means is a doubt (statement-match.ts).
      const values = list.map((v, i) => {
        if (typeof v === 'string') return v;
        if (typeof v === 'number' || typeof v === 'boolean') return String(v);
        throw new PolicyParseError(
          `${keyPath}${Array.isArray(rawValues) ? `[${i}]` : ''}`,
          'condition values must be strings, numbers or booleans',
          v,
          'Write the value as a string, e.g. "true" or "10".',
        );
      });
      const parsed: ParsedCondition = { operatorText, operator, ...(setOperator ? { setOperator } : {}), ifExists, key, values };
      if (operator === 'Null') {
        const goals = values.map((v, i) => {
          const l = v.toLowerCase();
          if (l !== 'true' && l !== 'false') {
            throw new PolicyParseError(
              `${keyPath}${Array.isArray(rawValues) ? `[${i}]` : ''}`,
              'Null takes "true" (the key is absent) or "false" (the key is present)',
              v,
              'Write "true" or "false".',
            );
          }
          return l;
        });
        out.push({ parsed, negated: false, nullGoals: goals, comparisons: [] });
        continue;
      }
      const comparisons = values.map((v, i) => {
        try {
          return compileComparison(operator, v, variables);
        } catch (e) {
          if (e instanceof InvalidConditionValue) {
            throw new PolicyParseError(`${keyPath}${Array.isArray(rawValues) ? `[${i}]` : ''}`, e.problem, v, e.fix);
          }
          throw e;
        }
      });
      out.push({ parsed, negated: NEGATION_OF[operator] !== undefined, nullGoals: [], comparisons });
    }
  }
  return out;
}

function parseOperator(text: string, path: string): { operator: BaseOperator; setOperator?: SetOperator; ifExists: boolean } {
  let rest = text;
  let setOperator: SetOperator | undefined;
  const colon = text.indexOf(':');
  if (colon !== -1) {
    const prefix = text.slice(0, colon).toLowerCase();
    if (prefix === 'foranyvalue') setOperator = 'ForAnyValue';
    else if (prefix === 'forallvalues') setOperator = 'ForAllValues';
    else {
      throw new PolicyParseError(
        path,
        `unknown set operator "${text.slice(0, colon)}"`,
        text,
        'Use ForAnyValue: or ForAllValues: before the operator, e.g. "ForAnyValue:StringEquals".',
      );
    }
    rest = text.slice(colon + 1);
  }
  let ifExists = false;
  if (rest.toLowerCase().endsWith('ifexists')) {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
  }
  const operator = OPERATOR_BY_LOWER.get(rest.toLowerCase());
  if (!operator) {
    throw new PolicyParseError(
      path,
      `unknown condition operator "${text}"`,
      text,
      `Use one of ${BASE_OPERATORS.join(', ')}, optionally with IfExists and a ForAnyValue:/ForAllValues: prefix.`,
    );
  }
  if (operator === 'Null' && ifExists) {
    throw new PolicyParseError(path, 'Null cannot take IfExists (Null itself tests whether the key exists)', text, 'Write "Null".');
  }
  return { operator, ...(setOperator ? { setOperator } : {}), ifExists };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
