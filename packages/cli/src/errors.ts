// The CLI's error kinds; each maps to one exit code (documented in docs/cli.md).

export const ExitCode = {
  ok: 0,
  /** The server rejected the request, or something failed at run time. */
  failure: 1,
  /** The command line is wrong (unknown flag, bad flag value, missing argument). */
  usage: 2,
  /** The server could not be reached at all. */
  connect: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one message on stderr and turns into an exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.failure, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A bad flag value or flag combination, found before anything was sent. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = "UsageError";
  }
}
