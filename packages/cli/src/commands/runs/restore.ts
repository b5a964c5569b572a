import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/**
 * `keel runs restore <run-id>`: brings a deleted run back to the `active` stage.
 *
 * @example
 * keel runs restore 5f1c0e…
 */
export function runsRestoreCommand(io: CliIo): Command {
  return withTrackingUri(new Command('restore'))
    .description('Restore a deleted run')
    .argument('<run-id>', 'run id')
    .action(async (runId: string, flags: TrackingFlags) => {
      await trackingClient(flags).restoreRun(runId);
      io.stdout.write(`Restored run ${runId}\n`);
    });
}
