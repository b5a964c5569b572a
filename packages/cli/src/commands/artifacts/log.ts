import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { progressBar } from '../../progress.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { describeFiles, measureLocal, secondsSince } from './local-files.js';

/** Flags of `keel artifacts log`. */
export interface ArtifactsLogFlags extends TrackingFlags {
  artifactPath?: string;
}

/**
 * `keel artifacts log <run-id> <local-path>`: uploads a file, or a directory with everything under
 * it, to the run's artifacts through the server's artifact proxy, with a progress bar on a
 * terminal and a one-line summary on stderr.
 *
 * @example
 * keel artifacts log 5f1c0e… model.onnx --artifact-path model
 * keel artifacts log 5f1c0e… ./plots
 */
export function artifactsLogCommand(io: CliIo): Command {
  return withTrackingUri(new Command('log'))
    .description("Upload a file or directory to a run's artifacts")
    .argument('<run-id>', 'run id')
    .argument('<local-path>', 'file or directory to upload')
    .option('--artifact-path <dir>', "directory inside the run's artifacts (default: the root)")
    .action(async (runId: string, localPath: string, flags: ArtifactsLogFlags) => {
      const local = await measureLocal(localPath);
      const client = trackingClient(flags);
      const bar = progressBar(io.stderr, 'Uploading', { totalBytes: local.bytes });
      const started = performance.now();
      try {
        const options = { onProgress: bar.onProgress };
        if (local.isDirectory) await client.uploadArtifacts(runId, localPath, flags.artifactPath, options);
        else await client.uploadArtifact(runId, localPath, flags.artifactPath, options);
      } catch (error) {
        bar.abort();
        throw error;
      }
      const where = flags.artifactPath === undefined ? '' : ` under ${flags.artifactPath}`;
      bar.finish(`Uploaded ${describeFiles(local)} to run ${runId}${where} in ${secondsSince(started)}`);
    });
}
