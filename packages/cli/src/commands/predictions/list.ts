import type { PredictionRecord } from '@keel/sdk';
import { Command } from 'commander';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { positiveInteger } from '../../options.js';
import { formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { filterOptions, type PredictionFilterFlags, withPredictionFilters } from './filter-flags.js';

/** Flags of `keel predictions list`. */
export interface PredictionsListFlags extends TrackingFlags, PredictionFilterFlags {
  maxResults?: number;
  json?: boolean;
}

/** Records listed when `--max-results` is not given (use `export` for everything). */
export const DEFAULT_LIST_SIZE = 100;
/** Page size asked of the server while iterating. */
const PAGE_SIZE = 1000;

/**
 * `keel predictions list`: the newest prediction records matching the filters, as a table
 * (time, request id, deployment, model version, arm, caller, status, latency, label) or a JSON
 * array of records (payloads included) with `--json`.
 *
 * @example
 * keel predictions list --deployment fraud --since 1h
 * keel predictions list --model fraud --version 7 --status 503 --json
 */
export function predictionsListCommand(io: CliIo): Command {
  return withPredictionFilters(withTrackingUri(new Command('list')))
    .description('List prediction records, newest first')
    .option(
      '--max-results <n>',
      `how many records at most (default: ${DEFAULT_LIST_SIZE})`,
      positiveInteger('--max-results'),
    )
    .option('--json', 'print a JSON array of records')
    .action(async (flags: PredictionsListFlags) => {
      const filters = filterOptions(flags, Date.now());
      const limit = flags.maxResults ?? DEFAULT_LIST_SIZE;
      const records: PredictionRecord[] = [];
      const client = trackingClient(flags);
      for await (const record of client.predictions.iterate({
        ...filters,
        maxResults: Math.min(PAGE_SIZE, limit),
      })) {
        records.push(record);
        if (records.length >= limit) break;
      }
      if (flags.json) return writeJson(io, records);
      io.stdout.write(
        formatTable(
          ['TIME', 'REQUEST ID', 'DEPLOYMENT', 'MODEL', 'ARM', 'CALLER', 'STATUS', 'LATENCY', 'LABEL'],
          records.map((r) => [
            formatTime(r.received_at),
            r.request_id,
            `${r.deployment}@${r.deployment_revision}`,
            `${r.model_name}/${r.model_version}`,
            r.arm,
            r.caller,
            r.error_code === undefined ? String(r.status) : `${r.status} ${r.error_code}`,
            `${formatLatency(r.latency_ms)}`,
            r.label === undefined ? '' : JSON.stringify(r.label),
          ]),
        ),
      );
    });
}

/** Milliseconds with up to two decimals: `3.25ms`, `120ms`. */
function formatLatency(ms: number): string {
  return `${Number(ms.toFixed(2))}ms`;
}
