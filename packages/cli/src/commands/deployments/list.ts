import { Command } from 'commander';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { routesCell } from './deployment-cells.js';

/** Flags of `keel deployments list`. */
export interface DeploymentsListFlags extends TrackingFlags {
  json?: boolean;
}

/**
 * `keel deployments list`: every deployment as a table (name, revision, routes with their
 * shares, shadow, last update) or a JSON array of deployments.
 *
 * @example
 * keel deployments list
 * keel deployments list --json | jq '.[].name'
 */
export function deploymentsListCommand(io: CliIo): Command {
  return withTrackingUri(new Command('list'))
    .description('List deployments')
    .option('--json', 'print a JSON array of deployments')
    .action(async (flags: DeploymentsListFlags) => {
      const deployments = await trackingClient(flags).deployments.list();
      if (flags.json) return writeJson(io, deployments);
      io.stdout.write(
        formatTable(
          ['NAME', 'REVISION', 'ROUTES', 'SHADOW', 'UPDATED'],
          deployments.map((d) => [
            d.name,
            String(d.revision),
            routesCell(d.spec),
            d.spec.shadow?.model ?? '-',
            formatTime(d.last_updated_timestamp),
          ]),
        ),
      );
    });
}
