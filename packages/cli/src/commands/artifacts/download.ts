import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { progressBar } from '../../progress.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { describeFiles, measureLocal, secondsSince } from './local-files.js';

/** Flags of `keel artifacts download`. */
export interface ArtifactsDownloadFlags extends TrackingFlags {
  dest?: string;
}

/**
 * `keel artifacts download <run-id> <artifact-path>`: downloads an artifact file or directory into
 * `--dest` (default: the current directory) and prints the local path on stdout; a progress bar
 * on a terminal and a one-line summary go to stderr.
 *
 * @example
 * keel artifacts download 5f1c0e… model --dest /tmp/model
 * cat "$(keel artifacts download 5f1c0e… report.md)"
 */
export function artifactsDownloadCommand(io: CliIo): Command {
  return withTrackingUri(new Command('download'))
    .description("Download a file or directory of a run's artifacts")
    .argument('<run-id>', 'run id')
    .argument('<artifact-path>', "file or directory inside the run's artifacts")
    .option('--dest <dir>', 'local directory to download into (default: the current directory)')
    .action(async (runId: string, artifactPath: string, flags: ArtifactsDownloadFlags) => {
      const client = trackingClient(flags);
      const bar = progressBar(io.stderr, 'Downloading');
      const started = performance.now();
      let localPath: string;
      try {
        localPath = await client.downloadArtifacts(runId, artifactPath, flags.dest ?? '.', {
          onProgress: bar.onProgress,
        });
      } catch (error) {
        bar.abort();
        throw error;
      }
      const local = await measureLocal(localPath);
      bar.finish(`Downloaded ${describeFiles(local)} to ${localPath} in ${secondsSince(started)}`);
      io.stdout.write(`${localPath}\n`);
    });
}
