/**
 * The command-line entry: `cdk-agent-guardrails <command> ...`. Each command lives in its own
 * module, loaded only when used, and returns the process exit code.
 */
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
  io.err('Run `cdk-agent-guardrails <command> --help` for the options of a command.');
}

export async function main(argv: string[], io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  const [command, ...rest] = argv;
  const entry = command && Object.prototype.hasOwnProperty.call(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!entry) {
    if (command && command !== '--help' && command !== 'help' && command !== '-h') {
      io.err(`unknown command ${JSON.stringify(command)}`);
    }
    usage(io);
    return command === '--help' || command === 'help' || command === '-h' ? EXIT.ok : EXIT.usage;
  }
  try {
    return await entry.load()(rest, io);
  } catch (e) {
    // Fail closed and readable: no stack trace for the user, a distinct non-zero exit for the pipeline.
    io.err(`cdk-agent-guardrails ${command}: ${(e as Error).message}`);
    if (GuardrailsError.isGuardrailsError(e) && e.fix && !e.message.includes(e.fix)) io.err(`fix: ${e.fix}`);
    return exitCodeOf(e);
  }
}
