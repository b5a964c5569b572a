import { CliError } from './cli-error.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Parses a duration such as `30d`, `12h`, `90m` or `45s` into milliseconds.
 *
 * @example
 * parseDuration('12h'); // 43_200_000
 * @throws {CliError} naming the option when the text is not a whole number followed by d, h, m or s.
 */
export function parseDuration(text: string, option = '--older-than'): number {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  const amount = match?.[1];
  const unit = match?.[2] as keyof typeof UNIT_MS | undefined;
  if (amount === undefined || unit === undefined) {
    throw new CliError(
      `Invalid ${option} '${text}': expected a whole number followed by d, h, m or s (e.g. 30d, 12h, 90m, 45s)`,
    );
  }
  const ms = Number(amount) * UNIT_MS[unit];
  if (!Number.isSafeInteger(ms)) throw new CliError(`Invalid ${option} '${text}': too large`);
  return ms;
}
