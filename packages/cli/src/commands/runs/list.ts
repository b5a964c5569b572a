import type { Run } from '@keel/core';
import { Command, Option } from 'commander';
import { CliError } from '../../cli-error.js';
import { formatDuration, formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import {
  collect,
  positiveInteger,
  splitList,
  VIEW_CHOICES,
  type ViewChoice,
  viewType,
} from '../../options.js';
import { formatTable } from '../../table.js';
import {
  experimentByName,
  type TrackingFlags,
  trackingClient,
  withTrackingUri,
} from '../../tracking-client.js';
import { runCell, runColumns } from './run-columns.js';

/** Flags of `keel runs list`. */
export interface RunsListFlags extends TrackingFlags {
  experimentId?: string[];
  experiment?: string[];
  filter?: string;
  orderBy?: string[];
  view?: ViewChoice;
  maxResults?: number;
  columns?: string[];
  json?: boolean;
}

/** Page size asked of the server while iterating. */
const PAGE_SIZE = 1000;

/**
 * `keel runs list`: runs of one or more experiments matching a filter, across all pages, as a
 * table — run id, name, status, start time, duration, then every metric, param or tag named in
 * `--order-by` or `--columns` — or as a JSON array of MLflow runs.
 *
 * @example
 * keel runs list --experiment iris --filter "metrics.test_accuracy > 0.9" --order-by "metrics.test_accuracy DESC" --columns params.lr
 * keel runs list --experiment-id 1 --experiment-id 2 --view all --json
 */
export function runsListCommand(io: CliIo): Command {
  return withTrackingUri(new Command('list'))
    .description('List the runs of experiments (all pages), filtered and ordered')
    .option('--experiment-id <id>', 'experiment id; repeat (or separate with commas) for more', collect)
    .option('--experiment <name>', 'experiment name; repeat for more', collect)
    .option('--filter <filter>', `search filter, e.g. "metrics.acc > 0.9 OR params.lr = '0.1'"`)
    .option('--order-by <clause>', 'e.g. "metrics.acc DESC"; repeat for more keys', collect)
    .addOption(
      new Option('--view <view>', 'lifecycle stages to include')
        .choices(Object.keys(VIEW_CHOICES))
        .default('active'),
    )
    .option('--max-results <n>', 'stop after this many runs', positiveInteger('--max-results'))
    .option(
      '--columns <fields>',
      'extra table columns, comma-separated: metrics.acc,params.lr,tags.team,end_time',
      collect,
    )
    .option('--json', 'print a JSON array of runs')
    .action(async (flags: RunsListFlags) => {
      const client = trackingClient(flags);
      const orderBy = flags.orderBy ?? [];
      // Checked before any request, so a typo in --columns fails fast.
      const columns = flags.json ? [] : runColumns(orderBy, splitList(flags.columns));

      const experimentIds = splitList(flags.experimentId);
      for (const name of flags.experiment ?? []) {
        experimentIds.push((await experimentByName(client, name)).experiment_id);
      }
      if (experimentIds.length === 0) {
        throw new CliError("'keel runs list' needs --experiment-id <id> or --experiment <name>");
      }

      const limit = flags.maxResults ?? Number.POSITIVE_INFINITY;
      const runs: Run[] = [];
      const pages = client.iterateRuns({
        experimentIds,
        runViewType: viewType(flags.view),
        maxResults: Math.min(PAGE_SIZE, limit),
        ...(flags.filter === undefined ? {} : { filter: flags.filter }),
        ...(orderBy.length === 0 ? {} : { orderBy }),
      });
      for await (const run of pages) {
        runs.push(run);
        if (runs.length >= limit) break;
      }

      if (flags.json) return writeJson(io, runs);
      io.stdout.write(
        formatTable(
          ['RUN ID', 'NAME', 'STATUS', 'START TIME', 'DURATION', ...columns.map((column) => column.header)],
          runs.map((run) => [
            run.info.run_id,
            run.info.run_name,
            run.info.status,
            formatTime(run.info.start_time),
            formatDuration(run.info.start_time, run.info.end_time),
            ...columns.map((column) => runCell(run, column)),
          ]),
        ),
      );
    });
}
