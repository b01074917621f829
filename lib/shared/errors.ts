/**
 * The one error type of the library. It carries a stable kind and code, where it happened, the
 * value received and the fix, so a person reads what to change and a program can branch on the
 * kind. The library knows nothing of exit codes: the CLI maps kinds to them.
 */
export enum GuardrailsErrorKind {
  /** A construct was given props it cannot honour safely (synth fails). */
  INVALID_PROPS = 'InvalidProps',
  /** A command was called with arguments it does not accept. */
  USAGE = 'Usage',
  /** A cloud assembly is missing, corrupt or not a cloud assembly. */
  BAD_ASSEMBLY = 'BadAssembly',
  /** The assembly holds no agent role: nothing to verify is not a pass. */
  NO_AGENTS = 'NoAgents',
  /** A policy cannot be parsed, so it cannot be evaluated. */
  BAD_POLICY = 'BadPolicy',
  /** An IAM or Organizations quota would be exceeded; nothing was dropped to fit. */
  QUOTA = 'Quota',
  /** A call to AWS (or a local stand-in) failed. */
  REMOTE = 'Remote',
  /** A check met a value only known at deploy time and fails closed instead of guessing. */
  CANNOT_DECIDE = 'CannotDecide',
}

/** The details of a GuardrailsError beyond its message. */
export interface GuardrailsErrorDetails {
  /** A stable identifier of this error, for programs and documentation (for example `AgentRole.WildcardAction`). */
  readonly code?: string;
  /** The construct path, when a construct raised it. */
  readonly constructPath?: string;
  /** The value received, rendered as text. */
  readonly received?: string;
  /** What to do about it. */
  readonly fix?: string;
}

export class GuardrailsError extends Error {
  /** True for any GuardrailsError, also across copies of the library loaded twice. */
  public static isGuardrailsError(x: unknown): x is GuardrailsError {
    return x instanceof Error && (x as { [MARK]?: boolean })[MARK] === true;
  }

  public readonly kind: GuardrailsErrorKind;
  public readonly code: string;
  public readonly constructPath?: string;
  public readonly received?: string;
  public readonly fix?: string;

  constructor(kind: GuardrailsErrorKind, message: string, details: GuardrailsErrorDetails = {}) {
    super(message);
    this.name = 'GuardrailsError';
    this.kind = kind;
    this.code = details.code ?? kind;
    this.constructPath = details.constructPath;
    this.received = details.received;
    this.fix = details.fix;
    Object.defineProperty(this, MARK, { value: true });
  }
}

const MARK = Symbol.for('cdk-agent-guardrails.GuardrailsError');

/** A props error of a construct: synth fails with what was wrong, the value received and the fix. */
export function invalidProps(code: string, message: string, details: Omit<GuardrailsErrorDetails, 'code'> = {}): GuardrailsError {
  return new GuardrailsError(GuardrailsErrorKind.INVALID_PROPS, message, { ...details, code });
}

/**
 * Thrown by a check that cannot decide (a value only CloudFormation knows, a policy whose content
 * is outside the app): it fails closed instead of guessing, and the message says what was unknown.
 */
export class CannotDecide extends GuardrailsError {
  constructor(what: string, fix: string) {
    super(GuardrailsErrorKind.CANNOT_DECIDE, `cannot decide: ${what}. ${fix}`, { fix });
  }
}
