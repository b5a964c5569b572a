import { createInterface } from 'node:readline/promises';
import { CliError } from './cli-error.js';
import type { CliIo } from './io.js';

/** What {@link confirm} asks and on behalf of which command. */
export interface ConfirmOptions {
  /** The command as the user typed it, for the refusal message, e.g. `keel runs delete`. */
  command: string;
  /**
   * The question, without the `[y/N]` suffix. A function is called only once a terminal is known
   * to be there, so a command can look up what it is about to delete without doing so for nothing.
   */
  question: string | (() => string | Promise<string>);
}

/**
 * Asks for confirmation of a destructive command on the terminal; any answer but `y`/`yes`
 * aborts. When stdin is not a terminal nobody can answer, so it refuses at once: scripts must
 * pass `--yes` (the caller skips `confirm` then). The prompt goes to stderr, keeping stdout for
 * the command's output.
 *
 * @throws {CliError} `Refusing to run '<command>' without --yes…` off a terminal;
 *   `Aborted: nothing was deleted` when the answer is not yes.
 *
 * @example
 * if (!flags.yes) await confirm(io, { command: 'keel runs delete', question: `Delete run ${runId}?` });
 */
export async function confirm(io: CliIo, options: ConfirmOptions): Promise<void> {
  if (!io.stdin.isTTY) {
    throw new CliError(
      `Refusing to run '${options.command}' without --yes: stdin is not a terminal, so it cannot confirm`,
    );
  }
  const question = typeof options.question === 'string' ? options.question : await options.question();
  const prompt = createInterface({ input: io.stdin, output: io.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('Aborted: nothing was deleted');
  } finally {
    prompt.close();
  }
}
