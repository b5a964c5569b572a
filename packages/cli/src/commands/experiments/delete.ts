import { Command } from 'commander';
import { confirm } from '../../confirm.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel experiments delete`. */
export interface ExperimentsDeleteFlags extends TrackingFlags {
  yes?: boolean;
}

/**
 * `keel experiments delete <id>`: moves an experiment and its runs to the `deleted` lifecycle
 * stage (`keel experiments restore` undoes it until `keel gc` purges them). Asks on a terminal;
 * needs `--yes` otherwise.
 *
 * @example
 * keel experiments delete 3 --yes
 */
export function experimentsDeleteCommand(io: CliIo): Command {
  return withTrackingUri(new Command('delete'))
    .description("Delete an experiment and its runs (restorable until 'keel gc')")
    .argument('<id>', 'experiment id')
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .action(async (id: string, flags: ExperimentsDeleteFlags) => {
      const client = trackingClient(flags);
      if (!flags.yes) {
        await confirm(io, {
          command: 'keel experiments delete',
          question: async () => {
            const experiment = await client.getExperiment(id);
            return `Delete experiment ${id} ('${experiment.name}') and all its runs?`;
          },
        });
      }
      await client.deleteExperiment(id);
      io.stdout.write(`Deleted experiment ${id} (restore with 'keel experiments restore ${id}')\n`);
    });
}
