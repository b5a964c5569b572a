import type { Experiment } from '@keel/core';
import { Command, Option } from 'commander';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { collect, positiveInteger, VIEW_CHOICES, type ViewChoice, viewType } from '../../options.js';
import { formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel experiments list`. */
export interface ExperimentsListFlags extends TrackingFlags {
  view?: ViewChoice;
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  json?: boolean;
}

/** Page size asked of the server while iterating; MLflow servers must serve at least 1000. */
const PAGE_SIZE = 1000;

/**
 * `keel experiments list`: every matching experiment, across all pages, as a table (id, name,
 * lifecycle stage, creation time, artifact location) or a JSON array of MLflow experiments.
 *
 * @example
 * keel experiments list --filter "name LIKE 'churn-%'" --order-by "creation_time DESC"
 * keel experiments list --view all --json
 */
export function experimentsListCommand(io: CliIo): Command {
  return withTrackingUri(new Command('list'))
    .description('List experiments (all pages)')
    .addOption(
      new Option('--view <view>', 'lifecycle stages to include')
        .choices(Object.keys(VIEW_CHOICES))
        .default('active'),
    )
    .option('--filter <filter>', `search filter, e.g. "name LIKE 'churn-%' AND tags.team = 'growth'"`)
    .option('--order-by <clause>', 'e.g. "creation_time DESC"; repeat for more keys', collect)
    .option('--max-results <n>', 'stop after this many experiments', positiveInteger('--max-results'))
    .option('--json', 'print a JSON array of experiments')
    .action(async (flags: ExperimentsListFlags) => {
      const limit = flags.maxResults ?? Number.POSITIVE_INFINITY;
      const experiments: Experiment[] = [];
      if (limit > 0) {
        const pages = trackingClient(flags).iterateExperiments({
          viewType: viewType(flags.view),
          maxResults: Math.min(PAGE_SIZE, limit),
          ...(flags.filter === undefined ? {} : { filter: flags.filter }),
          ...(flags.orderBy === undefined ? {} : { orderBy: flags.orderBy }),
        });
        for await (const experiment of pages) {
          experiments.push(experiment);
          if (experiments.length >= limit) break;
        }
      }
      if (flags.json) return writeJson(io, experiments);
      io.stdout.write(
        formatTable(
          ['ID', 'NAME', 'STAGE', 'CREATED', 'ARTIFACT LOCATION'],
          experiments.map((e) => [
            e.experiment_id,
            e.name,
            e.lifecycle_stage,
            formatTime(e.creation_time),
            e.artifact_location,
          ]),
        ),
      );
    });
}
