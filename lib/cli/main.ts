/**
 * The command-line entry: `cdk-agent-guardrails <command> ...`. Each command lives in its own
 * module, loaded only when used, and returns the process exit code.
 */
import * as fs from 'fs';
import * as path from 'path';
import { GuardrailsError } from '../shared/errors';
import { CliIo, EXIT, exitCodeOf } from './command';
import { COMMANDS } from './commands';

export { EXIT } from './command';
export type { CliIo, CommandHandler } from './command';

function usage(io: CliIo): void {
  io.err('usage: cdk-agent-guardrails <command> [options]');
  for (const [name, { summary }] of Object.entries(COMMANDS)) {
    io.err(`  ${name.padEnd(12)} ${summary}`);
  }
  io.err('Run `cdk-agent-guardrails <command> --help` for the options of a command, `--version` for the version.');
}

/** The version of the installed package: the nearest package.json named cdk-agent-guardrails above this module. */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (manifest.name === 'cdk-agent-guardrails') return String(manifest.version);
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** The command a mistyped one most likely meant, when one is close. */
function suggestion(command: string): string | undefined {
  const ranked = Object.keys(COMMANDS)
    .map((name) => ({ name, d: name.startsWith(command.toLowerCase()) ? 0 : distance(command.toLowerCase(), name) }))
    .sort((x, y) => x.d - y.d);
  return ranked[0] && ranked[0].d <= Math.max(2, Math.floor(ranked[0].name.length / 3)) ? ranked[0].name : undefined;
}

const HELP = new Set(['--help', 'help', '-h']);
const VERSION = new Set(['--version', 'version', '-V']);

export async function main(argv: string[], io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && VERSION.has(command)) {
    io.out(packageVersion());
    return EXIT.ok;
  }
  const entry = command && Object.prototype.hasOwnProperty.call(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!entry) {
    if (command && !HELP.has(command)) {
      const meant = suggestion(command);
      io.err(`unknown command ${JSON.stringify(command)}${meant ? `; did you mean \`${meant}\`?` : ''}`);
    }
    usage(io);
    return command !== undefined && HELP.has(command) ? EXIT.ok : EXIT.usage;
  }
  try {
    return await entry.load()(rest, io);
  } catch (e) {
    // Fail closed and readable: no stack trace for the user, a distinct non-zero exit for the pipeline.
    const code = exitCodeOf(e);
    const fix = GuardrailsError.isGuardrailsError(e) && e.fix && !(e as Error).message.includes(e.fix) ? e.fix : undefined;
    io.err(`cdk-agent-guardrails ${command}: ${(e as Error).message}`);
    if (fix) io.err(`fix: ${fix}`);
    // With --json, a pipeline reads stdout: the error is there too, as JSON.
    if (rest.includes('--json')) io.out(JSON.stringify({ error: { command, message: (e as Error).message, fix, exitCode: code } }, null, 2));
    return code;
  }
}
