import { GuardrailsError, GuardrailsErrorKind } from '../shared/errors';

/** Where a command writes: results to `out`, diagnostics to `err`. */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** A command: parses its own arguments and returns the process exit code. */
export type CommandHandler = (args: string[], io: CliIo) => Promise<number>;

/**
 * The one table of exit codes. Each kind of bad input has its own code, so a pipeline can tell
 * "the app is unsafe" (1) from "the command could not read its input".
 */
export const EXIT = Object.freeze({
  ok: 0,
  /** verify found an agent that can hurt production; breaker status found a quarantine. */
  findings: 1,
  usage: 2,
  /** cdk.out is missing, is not a cloud assembly, or a file in it is not valid JSON; other bad input. */
  input: 3,
  /** A call to AWS failed. */
  remote: 4,
  /** The assembly holds no agent role (nothing to verify is not a pass). */
  noAgents: 5,
  /** A policy of an agent cannot be parsed, so it cannot be evaluated. */
  badPolicy: 6,
  /** The guard cannot be rendered within the SCP quota. */
  quota: 7,
});

const EXIT_BY_KIND: Readonly<Record<GuardrailsErrorKind, number>> = Object.freeze({
  [GuardrailsErrorKind.USAGE]: EXIT.usage,
  [GuardrailsErrorKind.BAD_ASSEMBLY]: EXIT.input,
  [GuardrailsErrorKind.INVALID_PROPS]: EXIT.input,
  [GuardrailsErrorKind.CANNOT_DECIDE]: EXIT.input,
  [GuardrailsErrorKind.REMOTE]: EXIT.remote,
  [GuardrailsErrorKind.NO_AGENTS]: EXIT.noAgents,
  [GuardrailsErrorKind.BAD_POLICY]: EXIT.badPolicy,
  [GuardrailsErrorKind.QUOTA]: EXIT.quota,
});

/** The exit code for an error: its kind's code, or `input` for anything unexpected (fail closed: never 0). */
export function exitCodeOf(error: unknown): number {
  return GuardrailsError.isGuardrailsError(error) ? (EXIT_BY_KIND[error.kind] ?? EXIT.input) : EXIT.input;
}
