import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { Command, Option } from 'commander';
import { CliError, oneLine } from '../../cli-error.js';
import type { CliIo } from '../../io.js';
import { positiveInteger } from '../../options.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { filterOptions, type PredictionFilterFlags, withPredictionFilters } from './filter-flags.js';

/** Flags of `keel predictions export`. */
export interface PredictionsExportFlags extends TrackingFlags, PredictionFilterFlags {
  format?: 'jsonl' | 'csv';
  output?: string;
  maxResults?: number;
}

/**
 * `keel predictions export`: every matching prediction record, newest first, as JSON lines (one
 * record per line, payloads included) or CSV with a header line, streamed from the server to
 * stdout or to `--output <file>` without holding the export in memory.
 *
 * @example
 * keel predictions export --deployment fraud --since 7d --format csv --output fraud-week.csv
 * keel predictions export --model fraud --version 7 | jq -c '{request_id, output}'
 */
export function predictionsExportCommand(io: CliIo): Command {
  return withPredictionFilters(withTrackingUri(new Command('export')))
    .description('Export prediction records as JSON lines or CSV (streamed)')
    .addOption(new Option('--format <format>', 'jsonl or csv (default: jsonl)').choices(['jsonl', 'csv']))
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option(
      '--max-results <n>',
      'stop after this many records (default: all)',
      positiveInteger('--max-results'),
    )
    .action(async (flags: PredictionsExportFlags) => {
      const chunks = trackingClient(flags).predictions.export({
        ...filterOptions(flags, Date.now()),
        format: flags.format ?? 'jsonl',
        ...(flags.maxResults === undefined ? {} : { maxResults: flags.maxResults }),
      });
      if (flags.output === undefined) {
        // A reader that stops early (`| head`) closes the pipe: that ends the export, it is not an error.
        let failure: Error | undefined;
        let open = true;
        const onError = (error: NodeJS.ErrnoException): void => {
          open = false;
          if (error.code !== 'EPIPE') failure = error;
        };
        io.stdout.on('error', onError);
        try {
          for await (const chunk of chunks) {
            if (!open) break;
            await write(io.stdout, chunk);
          }
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
        } finally {
          io.stdout.off('error', onError);
        }
        if (failure !== undefined) throw failure;
        return;
      }
      const file = createWriteStream(flags.output);
      const failed = once(file, 'error').then(([error]) => {
        throw new CliError(`Cannot write ${flags.output}: ${oneLine(error)}`, { cause: error });
      });
      failed.catch(() => undefined);
      try {
        for await (const chunk of chunks) await Promise.race([write(file, chunk), failed]);
        file.end();
        await Promise.race([once(file, 'finish'), failed]);
      } finally {
        file.destroy();
      }
      io.stdout.write(`Exported prediction records to ${flags.output}\n`);
    });
}

/** Writes a chunk, waiting for `drain` when the stream's buffer is full. */
async function write(stream: NodeJS.WritableStream, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}
