import { EXIT } from '../../cli/main';

/**
 * Exit codes of `verify` and `export-scp`, extending the shared EXIT codes. Each kind of bad input
 * has its own code so a pipeline can tell "the app is unsafe" (1) from "verify could not read it".
 */
export const VERIFY_EXIT = {
  ...EXIT,
  /** cdk.out is missing, is not a cloud assembly, or a file in it is not valid JSON. */
  badAssembly: EXIT.input,
  /** The assembly holds no agent role (nothing to verify is not a pass). */
  noAgents: 5,
  /** A policy of an agent cannot be parsed, so it cannot be evaluated. */
  badPolicy: 6,
  /** The guard cannot be rendered as service control policies within the quota. */
  scpQuota: 7,
} as const;

/** An error of the input that ends the command with a clear message and a distinct exit code. */
export class VerifyInputError extends Error {
  constructor(message: string, public readonly exitCode: number) {
    super(message);
    this.name = 'VerifyInputError';
  }
}
