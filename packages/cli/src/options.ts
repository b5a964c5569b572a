import type { ViewType } from '@keel/core';
import { CliError } from './cli-error.js';

/** The `--view` choices, as users type them, and the wire view type each one means. */
export const VIEW_CHOICES = { active: 'ACTIVE_ONLY', deleted: 'DELETED_ONLY', all: 'ALL' } as const;

/** One of the `--view` choices. */
export type ViewChoice = keyof typeof VIEW_CHOICES;

/** Commander's accumulator for repeatable options: `--tag a=1 --tag b=2` → `['a=1', 'b=2']`. */
export function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Flattens repeatable, comma-separated option values: `['1,2', '3']` → `['1', '2', '3']`. */
export function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '');
}

/** The wire view type of a `--view` choice (commander has already checked it is one). */
export function viewType(choice: ViewChoice | undefined): ViewType {
  return VIEW_CHOICES[choice ?? 'active'];
}

/**
 * Parses `--tag key=value` entries (the value may contain `=`; the key may not be empty).
 *
 * @example
 * parseTags(['team=vision', 'note=a=b']); // { team: 'vision', note: 'a=b' }
 */
export function parseTags(entries: readonly string[] | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new CliError(`Invalid --tag '${entry}': expected key=value`);
    tags[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return tags;
}

/** Commander parser for a positive whole-number option such as `--max-results`. */
export function positiveInteger(option: string): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) {
      throw new CliError(`Invalid ${option} '${text}': expected a whole number of at least 1`);
    }
    return value;
  };
}

/** Commander parser for a whole-number option that may be 0, such as `--batch-max-delay-ms`. */
export function nonNegativeInteger(option: string): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
      throw new CliError(`Invalid ${option} '${text}': expected a whole number of at least 0`);
    }
    return value;
  };
}

/** Commander parser for `--port`: 0 (any free port) to 65535. */
export function portNumber(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value > 65535) {
    throw new CliError(`Invalid --port '${text}': expected a number from 0 to 65535`);
  }
  return value;
}
