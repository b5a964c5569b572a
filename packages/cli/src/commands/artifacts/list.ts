import { Command } from 'commander';
import { formatBytes, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel artifacts list`. */
export interface ArtifactsListFlags extends TrackingFlags {
  json?: boolean;
}

/**
 * `keel artifacts list <run-id> [path]`: one directory level of a run's artifacts, sorted by path,
 * as a table (directories end in `/`) or as MLflow's FileInfo JSON array.
 *
 * @example
 * keel artifacts list 5f1c0e…
 * keel artifacts list 5f1c0e… model --json
 */
export function artifactsListCommand(io: CliIo): Command {
  return withTrackingUri(new Command('list'))
    .description("List a run's artifacts (one directory level)")
    .argument('<run-id>', 'run id')
    .argument('[path]', "directory inside the run's artifacts (default: the root)")
    .option('--json', 'print a JSON array of {path, is_dir, file_size}')
    .action(async (runId: string, path: string | undefined, flags: ArtifactsListFlags) => {
      const files = (await trackingClient(flags).listArtifacts(runId, path)).sort((a, b) =>
        a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
      );
      if (flags.json) return writeJson(io, files);
      io.stdout.write(
        formatTable(
          ['PATH', 'SIZE'],
          files.map((file) =>
            file.is_dir
              ? [`${file.path}/`, '-']
              : [file.path, file.file_size === undefined ? '-' : formatBytes(file.file_size)],
          ),
        ),
      );
    });
}
