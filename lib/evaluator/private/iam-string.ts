/**
 * IAM strings in Resource elements and condition values: literal text, the wildcards `*` and `?`
 * (where the element honours them), policy variables `${key}` / `${key, 'default'}` and the escapes
 * `${*}`, `${?}`, `${$}` (a literal `*`, `?`, `$`).
 */
import { RequestContext } from './context-lookup';

export type IamStringToken =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'anyRun' }
  | { readonly kind: 'anyChar' }
  /** `*` inside an ARN segment matched as a whole ARN: it does not cross a colon. */
  | { readonly kind: 'anyRunInSegment' }
  | { readonly kind: 'variable'; readonly key: string; readonly defaultValue?: string };

export interface IamString {
  readonly source: string;
  readonly tokens: readonly IamStringToken[];
  readonly hasVariables: boolean;
  readonly hasWildcards: boolean;
  /** The text with wildcards shown as `*`/`?` and escapes resolved; meaningful when there are no variables. */
  readonly literal: string;
}

export interface TokenizeOptions {
  /** `*` and `?` are wildcards (StringLike, ArnLike, Resource) rather than literal characters. */
  readonly wildcards: boolean;
  /** Policy variables are substituted (policy Version 2012-10-17); otherwise `${...}` is literal text. */
  readonly variables: boolean;
}

const ESCAPES: Record<string, string> = { '${*}': '*', '${?}': '?', '${$}': '$' };

export function tokenizeIamString(source: string, options: TokenizeOptions): IamString {
  const tokens: IamStringToken[] = [];
  let text = '';
  const flush = () => {
    if (text) tokens.push({ kind: 'text', text });
    text = '';
  };
  let hasVariables = false;
  let hasWildcards = false;
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (options.variables && c === '$' && source[i + 1] === '{') {
      const end = source.indexOf('}', i + 2);
      if (end !== -1) {
        const whole = source.slice(i, end + 1);
        if (ESCAPES[whole] !== undefined) {
          text += ESCAPES[whole];
        } else {
          flush();
          tokens.push(parseVariable(source.slice(i + 2, end)));
          hasVariables = true;
        }
        i = end + 1;
        continue;
      }
    }
    if (options.wildcards && (c === '*' || c === '?')) {
      flush();
      tokens.push(c === '*' ? { kind: 'anyRun' } : { kind: 'anyChar' });
      hasWildcards = true;
    } else {
      text += c;
    }
    i++;
  }
  flush();
  return { source, tokens, hasVariables, hasWildcards, literal: joinTokens(tokens) };
}

function parseVariable(inner: string): IamStringToken {
  const comma = inner.indexOf(',');
  if (comma !== -1) {
    const rest = inner.slice(comma + 1).trim();
    if (rest.length >= 2 && rest.startsWith("'") && rest.endsWith("'")) {
      return { kind: 'variable', key: inner.slice(0, comma).trim(), defaultValue: rest.slice(1, -1) };
    }
  }
  return { kind: 'variable', key: inner.trim() };
}

/**
 * Substitutes the policy variables. A variable whose key is absent (or multi-valued) takes its
 * default; without a default the string cannot be resolved (undefined) and so never matches, as AWS
 * documents for variables without a value.
 */
export function resolveTokens(str: IamString, context: RequestContext): readonly IamStringToken[] | undefined {
  if (!str.hasVariables) return str.tokens;
  const out: IamStringToken[] = [];
  for (const token of str.tokens) {
    if (token.kind !== 'variable') {
      out.push(token);
      continue;
    }
    const value = context.single(token.key);
    // reference_policies_variables, "Specifying default values": the default applies when the key is absent.
    const replacement = value !== undefined && value !== '' ? value : token.defaultValue;
    if (replacement === undefined || replacement === '') return undefined;
    out.push({ kind: 'text', text: replacement });
  }
  return out;
}

/** The literal string (wildcards, if tokenized as such, are kept as `*`/`?`). */
export function resolveLiteral(str: IamString, context: RequestContext): string | undefined {
  if (!str.hasVariables) return str.literal;
  const tokens = resolveTokens(str, context);
  return tokens === undefined ? undefined : joinTokens(tokens);
}

function joinTokens(tokens: readonly IamStringToken[]): string {
  let s = '';
  for (const t of tokens)
    s += t.kind === 'text' ? t.text : t.kind === 'anyRun' || t.kind === 'anyRunInSegment' ? '*' : t.kind === 'anyChar' ? '?' : '';
  return s;
}

const regexCache = new Map<string, RegExp>();

/** A matcher for a wildcard IAM string; undefined when a variable cannot be resolved. */
export function matchIamPattern(str: IamString, value: string, context: RequestContext, ignoreCase: boolean): boolean | undefined {
  if (!str.hasVariables) return staticMatcher(str, ignoreCase)(value);
  const tokens = resolveTokens(str, context);
  if (tokens === undefined) return undefined;
  if (tokens.length === 1 && tokens[0].kind === 'text') {
    return ignoreCase ? tokens[0].text.toLowerCase() === value.toLowerCase() : tokens[0].text === value;
  }
  if (tokens.length === 1 && tokens[0].kind === 'anyRun') return true;
  if (tokens.length === 0) return value === '';
  return regexFor(tokens, ignoreCase).test(value);
}

function regexFor(tokens: readonly IamStringToken[], ignoreCase: boolean): RegExp {
  let source = '^';
  for (const t of tokens) {
    if (t.kind === 'text') source += t.text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (t.kind === 'anyRun') source += '[\\s\\S]*';
    else if (t.kind === 'anyChar') source += '[\\s\\S]';
    else if (t.kind === 'anyRunInSegment') source += '[^:]*';
  }
  source += '$';
  const cacheKey = (ignoreCase ? 'i' : 's') + source;
  let regex = regexCache.get(cacheKey);
  if (!regex) {
    // A bounded cache: policy variables can make the set of sources open-ended.
    if (regexCache.size > 10_000) regexCache.clear();
    regex = new RegExp(source, ignoreCase ? 'iu' : 'u');
    regexCache.set(cacheKey, regex);
  }
  return regex;
}

type StaticMatcher = (value: string) => boolean;
const staticMatchers = new WeakMap<IamString, [StaticMatcher | undefined, StaticMatcher | undefined]>();

/** A matcher compiled once for a string without variables (the common case). */
function staticMatcher(str: IamString, ignoreCase: boolean): StaticMatcher {
  let pair = staticMatchers.get(str);
  if (!pair) {
    pair = [undefined, undefined];
    staticMatchers.set(str, pair);
  }
  const slot = ignoreCase ? 1 : 0;
  let matcher = pair[slot];
  if (!matcher) {
    const tokens = str.tokens;
    if (!str.hasWildcards) {
      const literal = str.literal;
      const lower = literal.toLowerCase();
      matcher = ignoreCase ? (v) => v.toLowerCase() === lower : (v) => v === literal;
    } else if (tokens.length === 1 && tokens[0].kind === 'anyRun') {
      matcher = () => true;
    } else {
      const regex = regexFor(tokens, ignoreCase);
      matcher = (v) => regex.test(v);
    }
    pair[slot] = matcher;
  }
  return matcher;
}
