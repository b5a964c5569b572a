import { Command } from 'commander';
import { writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { positiveInteger } from '../../options.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { routesCell } from './deployment-cells.js';

/** Flags of `keel deployments rollback`. */
export interface DeploymentsRollbackFlags extends TrackingFlags {
  json?: boolean;
}

/**
 * `keel deployments rollback <name> <revision>`: restores the spec of an earlier revision as a
 * new revision (history is never rewritten). Prints one line, or the deployment as JSON.
 *
 * @example
 * keel deployments rollback fraud 2
 */
export function deploymentsRollbackCommand(io: CliIo): Command {
  return withTrackingUri(new Command('rollback'))
    .description("Restore an earlier revision's spec, as a new revision")
    .argument('<name>', 'deployment name')
    .argument('<revision>', 'the revision whose spec to restore', positiveInteger('<revision>'))
    .option('--json', 'print the deployment as JSON')
    .action(async (name: string, revision: number, flags: DeploymentsRollbackFlags) => {
      const rolled = await trackingClient(flags).deployments.rollback(name, revision);
      if (flags.json) return writeJson(io, rolled);
      io.stdout.write(
        `Rolled deployment '${name}' back to the spec of revision ${revision}, now revision ${rolled.revision}: ${routesCell(rolled.spec)}\n`,
      );
    });
}
