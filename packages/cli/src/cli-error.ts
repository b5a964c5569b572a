/**
 * An expected CLI failure: `keel` prints its message as one line on stderr (no stack trace) and
 * exits with {@link CliError.exitCode}.
 *
 * @example
 * throw new CliError("Refusing to run 'keel gc' without --yes: stdin is not a terminal");
 */
export class CliError extends Error {
  override readonly name: string = 'CliError';

  /** Process exit code. @default 1 */
  readonly exitCode: number;

  constructor(message: string, options?: ErrorOptions & { exitCode?: number }) {
    super(message, options);
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** Collapses an error to one printable line: its message without newlines, never a stack trace. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
