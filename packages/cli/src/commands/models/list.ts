import type { RegisteredModel } from '@keel/core';
import { Command } from 'commander';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { collect, positiveInteger } from '../../options.js';
import { formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { aliasesCell, latestVersionsCell } from './model-cells.js';

/** Flags of `keel models list`. */
export interface ModelsListFlags extends TrackingFlags {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  json?: boolean;
}

/** Page size asked of the server while iterating: MLflow's cap for registered-models/search. */
const PAGE_SIZE = 1000;

/**
 * `keel models list`: every matching registered model, across all pages, as a table (name,
 * latest version per stage, aliases, last update) or a JSON array of MLflow registered models.
 *
 * @example
 * keel models list --filter "name LIKE 'churn%'"
 * keel models list --json | jq '.[].name'
 */
export function modelsListCommand(io: CliIo): Command {
  return withTrackingUri(new Command('list'))
    .description('List registered models (all pages)')
    .option('--filter <filter>', `search filter, e.g. "name LIKE 'churn%'"`)
    .option('--order-by <clause>', 'e.g. "last_updated_timestamp DESC"; repeat for more keys', collect)
    .option('--max-results <n>', 'stop after this many models', positiveInteger('--max-results'))
    .option('--json', 'print a JSON array of registered models')
    .action(async (flags: ModelsListFlags) => {
      const limit = flags.maxResults ?? Number.POSITIVE_INFINITY;
      const models: RegisteredModel[] = [];
      const pages = trackingClient(flags).registry.iterateRegisteredModels({
        maxResults: Math.min(PAGE_SIZE, limit),
        ...(flags.filter === undefined ? {} : { filter: flags.filter }),
        ...(flags.orderBy === undefined ? {} : { orderBy: flags.orderBy }),
      });
      for await (const model of pages) {
        models.push(model);
        if (models.length >= limit) break;
      }
      if (flags.json) return writeJson(io, models);
      io.stdout.write(
        formatTable(
          ['NAME', 'LATEST VERSIONS', 'ALIASES', 'UPDATED'],
          models.map((m) => [
            m.name,
            latestVersionsCell(m),
            aliasesCell(m),
            formatTime(m.last_updated_timestamp),
          ]),
        ),
      );
    });
}
