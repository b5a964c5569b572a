import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/**
 * `keel experiments restore <id>`: brings a deleted experiment (and the runs deleted with it)
 * back to the `active` stage.
 *
 * @example
 * keel experiments restore 3
 */
export function experimentsRestoreCommand(io: CliIo): Command {
  return withTrackingUri(new Command('restore'))
    .description('Restore a deleted experiment')
    .argument('<id>', 'experiment id')
    .action(async (id: string, flags: TrackingFlags) => {
      await trackingClient(flags).restoreExperiment(id);
      io.stdout.write(`Restored experiment ${id}\n`);
    });
}
