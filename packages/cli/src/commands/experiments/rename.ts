import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/**
 * `keel experiments rename <id> <new-name>`: renames an experiment (names are unique).
 *
 * @example
 * keel experiments rename 3 churn-2025
 */
export function experimentsRenameCommand(io: CliIo): Command {
  return withTrackingUri(new Command('rename'))
    .description('Rename an experiment')
    .argument('<id>', 'experiment id')
    .argument('<new-name>', 'the new, unique name')
    .action(async (id: string, newName: string, flags: TrackingFlags) => {
      await trackingClient(flags).renameExperiment(id, newName);
      io.stdout.write(`Renamed experiment ${id} to '${newName}'\n`);
    });
}
