import { Command } from 'commander';
import { confirm } from '../../confirm.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel deployments delete`. */
export interface DeploymentsDeleteFlags extends TrackingFlags {
  yes?: boolean;
}

/**
 * `keel deployments delete <name>`: deletes a deployment, which stops serving it. Its revisions
 * are kept (see `keel deployments revisions`). Asks on a terminal; needs `--yes` otherwise.
 *
 * @example
 * keel deployments delete fraud --yes
 */
export function deploymentsDeleteCommand(io: CliIo): Command {
  return withTrackingUri(new Command('delete'))
    .description('Delete a deployment (it stops serving; its revision history is kept)')
    .argument('<name>', 'deployment name')
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .action(async (name: string, flags: DeploymentsDeleteFlags) => {
      const { deployments } = trackingClient(flags);
      if (!flags.yes) {
        await confirm(io, {
          command: 'keel deployments delete',
          question: async () => {
            const d = await deployments.get(name);
            return `Delete deployment '${name}' (revision ${d.revision}, ${d.spec.routes.length} route(s))? It stops serving at once.`;
          },
        });
      }
      await deployments.delete(name);
      io.stdout.write(`Deleted deployment '${name}'\n`);
    });
}
