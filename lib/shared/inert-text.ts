/**
 * Renders text that an agent wrote (or could influence) inert wherever a person or a model reads it:
 * notifications, chat, the CLI, the approval page, MCP tool answers. One line, always: control
 * characters (C0, C1, ESC sequences), CR, LF, the Unicode line and paragraph separators, bidirectional
 * overrides and isolates, zero-width and other invisible format characters are shown as visible
 * escapes, so agent text can neither start a field line of its own, move a terminal's cursor, nor
 * hide or reorder what is shown. Long text is cut with an explicit marker. The raw value is never
 * changed where it is stored (the ledger keeps it byte for byte); only what is shown is rendered.
 *
 * CDK-free: the Lambda handlers, the CLI and the MCP server import it.
 */

/** The default number of characters (code points) of agent text shown before it is cut. */
export const DEFAULT_INERT_TEXT_LENGTH = 500;

/**
 * Characters never shown as themselves: C0 and C1 controls (ESC, CR, LF, TAB, DEL and NEL included),
 * format characters (bidi overrides and isolates, zero-width characters, soft hyphen, BOM, the tag
 * characters U+E0000..U+E007F that smuggle invisible text), the line and paragraph separators,
 * lone surrogates, and the invisible fillers and variation selectors that render as nothing (the blank braille pattern and
 * the musical null notehead included: they are not spaces, so they would pass the space collapsing below).
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0\ufff0-\ufffb\u{1d159}]/gu;
/**
 * Runs of spaces and tabs, and every other Unicode space (U+3000, U+2000..U+200A, NBSP, ...): one
 * space is shown for each run, so agent text cannot push a forged "Label: value" to the start of a
 * soft-wrapped line of a plain-text e-mail (review LOW-7).
 */
const SPACE_RUN = /[\t\p{Zs}]+/gu;
/** Markup delimiters of HTML, Markdown links and code: escaped where the text lands in a model's context or markup. */
const MARKUP = /[<>&`[\]]/g;
/**
 * What can still act inside a chat code span: the backtick that would close it, Slack's control
 * sequences (`<!here>`, `<@U123>`, `<url|text>`) and entities, and `@` mentions. Replaced by look-alikes
 * (chat renderers honour no backslash escape consistently); the exact value stays in the ledger.
 */
const CODE_SPAN_ACTIVE: Record<string, string> = { '`': '\u02cb', '<': '\u2039', '>': '\u203a', '&': '\uff06', '@': '\uff20', '|': '\u2223' };

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeCodePoint(c: string): string {
  if (SHORT[c]) return SHORT[c];
  const cp = c.codePointAt(0)!;
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** The value as text: strings as they are, anything else as JSON (or its string form if it has none). */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Each run of spaces, tabs and other Unicode spaces as one ASCII space. */
function collapseSpaces(text: string): string {
  return text.replace(SPACE_RUN, ' ');
}

/** Cuts to `maxLength` code points (never inside a surrogate pair) and says how much was left out. */
function cut(text: string, maxLength: number): string {
  const limit = Number.isInteger(maxLength) && maxLength >= 0 ? maxLength : DEFAULT_INERT_TEXT_LENGTH;
  if (text.length <= limit) return text;
  const points = Array.from(text);
  if (points.length <= limit) return text;
  return `${points.slice(0, limit).join('')}… (${points.length - limit} more characters)`;
}

/**
 * One inert line of at most `maxLength` characters of the value (default 500), plus the marker
 * `… (N more characters)` when cut. Unsafe characters become visible escapes (`\n`, `\u001b`,
 * `\u202e`, `\u{e0041}`); each run of spaces, tabs or other Unicode spaces is one space; printable
 * text, quotes and backslashes are kept as they are.
 */
export function inertText(value: unknown, maxLength: number = DEFAULT_INERT_TEXT_LENGTH): string {
  return cut(collapseSpaces(textOf(value)), maxLength).replace(UNSAFE, escapeCodePoint);
}

/**
 * The value as an inert, JSON-quoted single line of at most `maxLength` characters (default 200),
 * with markup delimiters escaped too: for text echoed into a model's context (the MCP server), where
 * a quoted, escaped value cannot start a line, close a tag, or open a code fence or a link.
 */
export function inertQuoted(value: unknown, maxLength = 200): string {
  return JSON.stringify(cut(collapseSpaces(textOf(value)), maxLength)).replace(UNSAFE, escapeCodePoint).replace(MARKUP, escapeCodePoint);
}

/** A JSON value as inert compact JSON (parameters an agent gave): controls, invisible characters and markup escaped. */
export function inertJson(value: unknown, maxLength = 1000): string {
  const text = JSON.stringify(value ?? null) ?? 'null';
  if (text.length > maxLength) return inertQuoted(text, maxLength);
  return text.replace(UNSAFE, escapeCodePoint).replace(MARKUP, escapeCodePoint);
}

/**
 * One inert line for chat Markdown (AWS Chatbot's `client-markdown`, rendered by Slack and Teams): an
 * inline code span, where neither renderer formats, links or autolinks, holding `inertText` with the
 * characters that could close the span, mention someone or open a Slack control sequence replaced by
 * look-alikes (` ˋ < ‹ > › & ＆ @ ＠ | ∣).
 */
export function inertMarkdown(value: unknown, maxLength: number = DEFAULT_INERT_TEXT_LENGTH): string {
  return `\`${inertText(value, maxLength).replace(/[`<>&@|]/g, (c) => CODE_SPAN_ACTIVE[c])}\``;
}

/** Whether a string holds characters that never belong in an action, an ARN or an id (controls, invisible format characters). */
export function hasUnsafeCharacters(text: string): boolean {
  // A fresh, non-global copy: test() on the global one would carry lastIndex between calls.
  return new RegExp(UNSAFE.source, 'u').test(text);
}
