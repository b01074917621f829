/**
 * Renders text that came from the agent (or from anything it could influence) inert before it is
 * echoed back into a model's context: always one JSON-quoted line, control and invisible format
 * characters escaped, markup delimiters escaped, and cut to a bounded length. A quoted, escaped
 * value cannot start a line of its own, close a tag, or open a code fence or link.
 */

const MAX_ECHO = 200;

// C0 is escaped by JSON.stringify; C1, bidirectional overrides, zero-width and other invisible format characters are not.
const INVISIBLE = new RegExp('[\\u007f-\\u009f\\u00ad\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b-\\u200f\\u2028-\\u202e'
  + '\\u2060-\\u206f\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0\\ufff0-\\ufffb]', 'g');
const MARKUP = /[<>&`[\]]/g;

function escape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** A value as an inert, quoted, single-line string of at most `max` characters (plus the marker of a cut). */
export function inert(value: unknown, max = MAX_ECHO): string {
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  const cut = text.length > max ? `${Array.from(text).slice(0, max).join('')}... (${text.length} characters)` : text;
  return JSON.stringify(cut).replace(INVISIBLE, escape).replace(MARKUP, escape);
}

/** Whether a string holds characters that never belong in an action, an ARN or an id (controls, invisible format characters). */
export function hasUnsafeCharacters(text: string): boolean {
  // A fresh, non-global copy: test() on the global one would carry lastIndex between calls.
  return /[\u0000-\u001f]/.test(text) || new RegExp(INVISIBLE.source).test(text);
}

/** A JSON value as inert compact JSON (for parameters the agent gave): controls, invisible characters and markup escaped. */
export function inertJson(value: unknown, max = 1000): string {
  let text = JSON.stringify(value ?? null) ?? 'null';
  if (text.length > max) return inert(text, max);
  text = text.replace(INVISIBLE, escape).replace(MARKUP, escape);
  return text;
}
