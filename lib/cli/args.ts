/**
 * The one argument parser of the CLI, on Node's `util.parseArgs` (strict). Every command declares
 * its options and how many positionals it takes; `--help` / `-h` prints the command's usage to
 * stdout; anything else wrong is a USAGE GuardrailsError (exit 2) that says what was wrong, the
 * value received and the fix, followed by the usage.
 */
import { parseArgs } from 'util';
import { GuardrailsError, GuardrailsErrorKind } from '../shared/errors';
import { CliIo } from './command';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** Repeatable: every value is kept, in order. Otherwise the last one given wins. */
  readonly multiple?: boolean;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec<O extends OptionSpecs = OptionSpecs> {
  /** The command's name, as typed after `cdk-agent-guardrails`. */
  readonly command: string;
  /** The usage text, printed for `--help` and after a usage error. */
  readonly usage: string;
  readonly options: O;
  /** How many positional arguments the command takes at most. @default 0 */
  readonly maxPositionals?: number;
}

/** The values of the options given, typed by their specs. */
export type OptionValues<O extends OptionSpecs> = {
  -readonly [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : O[K]['multiple'] extends true ? string[] : string;
};

export interface ParsedArgs<O extends OptionSpecs> {
  readonly values: OptionValues<O>;
  readonly positionals: string[];
}

export interface UsageErrorDetails {
  /** The value received, as typed. */
  readonly received?: string;
  /** What to do instead. @default run the command with --help */
  readonly fix?: string;
  /** Print the command's usage after the fix. @default true */
  readonly withUsage?: boolean;
}

const HELP = new Set(['--help', '-h']);

/** A usage error of a command (exit 2): the message, the value received and the fix, then the usage. */
export function usageError(spec: Pick<CommandSpec, 'command' | 'usage'>, message: string, details: UsageErrorDetails = {}): GuardrailsError {
  const fix = details.fix ?? `run \`cdk-agent-guardrails ${spec.command} --help\` for its options`;
  return new GuardrailsError(GuardrailsErrorKind.USAGE, message, {
    code: `Cli.${spec.command}.Usage`,
    received: details.received,
    fix: details.withUsage === false ? fix : `${fix}\n${spec.usage}`,
  });
}

/**
 * Parses a command's arguments. Returns undefined when `--help` or `-h` was given: the usage is
 * then printed to stdout, and the command exits 0. Throws a USAGE GuardrailsError otherwise.
 */
export function parseCommandArgs<const O extends OptionSpecs>(spec: CommandSpec<O>, argv: readonly string[], io: CliIo): ParsedArgs<O> | undefined {
  const end = argv.indexOf('--');
  if ((end === -1 ? argv : argv.slice(0, end)).some((a) => HELP.has(a))) {
    io.out(spec.usage);
    return undefined;
  }
  const options = Object.fromEntries(Object.entries(spec.options).map(([name, o]) => [name, { type: o.type, multiple: o.multiple ?? false }]));
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (e) {
    throw diagnose(spec, argv) ?? usageError(spec, String((e as Error).message));
  }
  const max = spec.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    const extra = parsed.positionals[max];
    throw usageError(spec, `unexpected argument ${JSON.stringify(extra)}`, {
      received: extra,
      fix:
        max === 0
          ? `${spec.command} takes no positional argument; pass options only`
          : `${spec.command} takes at most ${max} positional argument${max === 1 ? '' : 's'}`,
    });
  }
  return { values: parsed.values as OptionValues<O>, positionals: parsed.positionals };
}

/**
 * Why strict parsing failed, in words: the first unknown option, option without its value, or
 * boolean option given a value. Found again from the non-strict tokens, so that the message does
 * not depend on the wording of Node's errors.
 */
function diagnose(spec: CommandSpec, argv: readonly string[]): GuardrailsError | undefined {
  const { tokens } = parseArgs({ args: [...argv], options: {}, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = Object.prototype.hasOwnProperty.call(spec.options, token.name) ? spec.options[token.name] : undefined;
    const given = token.rawName;
    if (!option) {
      const near = closest(token.name, Object.keys(spec.options));
      const known = Object.keys(spec.options)
        .map((n) => `--${n}`)
        .join(', ');
      return usageError(spec, `unknown option ${JSON.stringify(given)}`, {
        received: given,
        fix: `${near ? `did you mean --${near}? The` : 'the'} options of ${spec.command} are ${known}`,
      });
    }
    if (option.type === 'boolean' && token.value !== undefined) {
      const received = `${given}=${token.value}`;
      return usageError(spec, `${given} takes no value, got ${JSON.stringify(received)}`, { received, fix: `pass ${given} alone` });
    }
    if (option.type === 'string' && !token.inlineValue) {
      // Without the option's declared type, parseArgs leaves the next argument alone: it is the value.
      const next = argv[token.index + 1];
      if (next === undefined || next === '--') {
        return usageError(spec, `${given} needs a value, and nothing follows it`, { received: given, fix: `pass ${given} VALUE` });
      }
      if (next.startsWith('-')) {
        return usageError(spec, `${given} needs a value, got ${JSON.stringify(next)}, which reads as an option`, {
          received: `${given} ${next}`,
          fix: `pass ${given} VALUE; a value that starts with "-" goes as ${given}=${next}`,
        });
      }
    }
  }
  return undefined;
}

/** The option name within two edits of `name`, for "did you mean". */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** A comma-separated option value as a list: trimmed, empty entries dropped. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}
