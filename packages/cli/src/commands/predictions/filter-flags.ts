import type { PredictionFilterOptions } from '@keel/sdk';
import type { Command } from 'commander';
import { CliError } from '../../cli-error.js';
import { parseDuration } from '../../duration.js';
import { positiveInteger } from '../../options.js';

/** The filter flags shared by `keel predictions list` and `export`. */
export interface PredictionFilterFlags {
  deployment?: string;
  model?: string;
  version?: string;
  caller?: string;
  status?: number;
  since?: string;
  until?: string;
}

/** Adds the filter flags to a command. */
export function withPredictionFilters(command: Command): Command {
  return command
    .option('--deployment <name>', 'only calls of this deployment')
    .option('--model <name>', 'only calls answered by this registered model')
    .option('--version <version>', 'only calls answered by this model version')
    .option('--caller <user>', 'only calls made by this user or API key id')
    .option(
      '--status <code>',
      'only calls answered with this HTTP status (200, 503…)',
      positiveInteger('--status'),
    )
    .option('--since <when>', 'only calls received this recently (30d, 12h, 90m, 45s) or after an ISO time')
    .option('--until <when>', 'only calls received before this long ago (1h…) or an ISO time');
}

/** The SDK filters the flags ask for; times are resolved against `now`. */
export function filterOptions(flags: PredictionFilterFlags, now: number): PredictionFilterOptions {
  return {
    ...(flags.deployment === undefined ? {} : { deployment: flags.deployment }),
    ...(flags.model === undefined ? {} : { modelName: flags.model }),
    ...(flags.version === undefined ? {} : { modelVersion: flags.version }),
    ...(flags.caller === undefined ? {} : { caller: flags.caller }),
    ...(flags.status === undefined ? {} : { status: flags.status }),
    ...(flags.since === undefined ? {} : { from: timeOf(flags.since, now, '--since') }),
    ...(flags.until === undefined ? {} : { to: timeOf(flags.until, now, '--until') }),
  };
}

/** A duration back from `now` (`12h`) or an ISO 8601 time, as epoch milliseconds. */
export function timeOf(text: string, now: number, option: string): number {
  if (/^\s*\d+[smhd]\s*$/.test(text)) return now - parseDuration(text, option);
  // Only date-like text: Date.parse accepts odd strings such as '1'.
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new CliError(
      `Invalid ${option} '${text}': expected a duration (30d, 12h, 90m, 45s) or an ISO time (2025-01-31T12:00:00Z)`,
    );
  }
  return ms;
}
