/** An error the CLI reports as one line on stderr with exit code 1, never as a stack trace. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly silent: boolean;
  constructor(message: string, options?: { silent?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.silent = options?.silent ?? false;
  }
}
