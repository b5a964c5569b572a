import { Command } from 'commander';
import { confirm } from '../../confirm.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel runs delete`. */
export interface RunsDeleteFlags extends TrackingFlags {
  yes?: boolean;
}

/**
 * `keel runs delete <run-id>`: moves a run to the `deleted` lifecycle stage (`keel runs restore`
 * undoes it until `keel gc` purges it). Asks on a terminal; needs `--yes` otherwise.
 *
 * @example
 * keel runs delete 5f1c0e… --yes
 */
export function runsDeleteCommand(io: CliIo): Command {
  return withTrackingUri(new Command('delete'))
    .description("Delete a run (restorable until 'keel gc')")
    .argument('<run-id>', 'run id')
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .action(async (runId: string, flags: RunsDeleteFlags) => {
      const client = trackingClient(flags);
      if (!flags.yes) {
        await confirm(io, {
          command: 'keel runs delete',
          question: async () => {
            const { info } = await client.getRun(runId);
            return `Delete run ${runId} ('${info.run_name}', experiment ${info.experiment_id})?`;
          },
        });
      }
      await client.deleteRun(runId);
      io.stdout.write(`Deleted run ${runId} (restore with 'keel runs restore ${runId}')\n`);
    });
}
