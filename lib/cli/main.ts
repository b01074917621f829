/**
 * The command-line entry: `cdk-agent-guardrails <command> ...`. Each command lives in its own
 * module, loaded only when used, and returns the process exit code.
 */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export type CommandHandler = (args: string[], io: CliIo) => Promise<number>;

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, findings: 1, usage: 2, input: 3, remote: 4 } as const;

const COMMANDS: Record<string, { summary: string; load: () => CommandHandler }> = {};

/** Registers a command; each command module calls this from lib/cli/commands.ts. */
export function registerCommand(name: string, summary: string, load: () => CommandHandler): void {
  COMMANDS[name] = { summary, load };
}

function usage(io: CliIo): void {
  io.err('usage: cdk-agent-guardrails <command> [options]');
  for (const [name, { summary }] of Object.entries(COMMANDS)) {
    io.err(`  ${name.padEnd(12)} ${summary}`);
  }
}

export async function main(argv: string[], io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("./commands");
  const [command, ...rest] = argv;
  const entry = command ? COMMANDS[command] : undefined;
  if (!entry) {
    if (command && command !== '--help' && command !== 'help') {
      io.err(`unknown command ${JSON.stringify(command)}`);
    }
    usage(io);
    return command === '--help' || command === 'help' ? EXIT.ok : EXIT.usage;
  }
  try {
    return await entry.load()(rest, io);
  } catch (e) {
    // Fail closed and readable: no stack trace for the user, a non-zero exit for the pipeline.
    io.err(`cdk-agent-guardrails ${command}: ${(e as Error).message}`);
    return EXIT.input;
  }
}
