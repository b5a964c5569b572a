import { Command } from 'commander';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { actionCell, routesCell } from './deployment-cells.js';

/** Flags of `keel deployments revisions`. */
export interface DeploymentsRevisionsFlags extends TrackingFlags {
  json?: boolean;
}

/**
 * `keel deployments revisions <name>`: the deployment's history, newest first — how each
 * revision came about (`created`, `updated`, `rolled_back from <n>`), by whom, when, and its
 * routes — or a JSON array of revisions. Works for a deleted deployment too.
 *
 * @example
 * keel deployments revisions fraud
 */
export function deploymentsRevisionsCommand(io: CliIo): Command {
  return withTrackingUri(new Command('revisions'))
    .description("List a deployment's revisions, newest first")
    .argument('<name>', 'deployment name')
    .option('--json', 'print a JSON array of revisions')
    .action(async (name: string, flags: DeploymentsRevisionsFlags) => {
      const revisions = await trackingClient(flags).deployments.revisions(name);
      if (flags.json) return writeJson(io, revisions);
      io.stdout.write(
        formatTable(
          ['REVISION', 'ACTION', 'BY', 'CREATED', 'ROUTES'],
          revisions.map((r) => [
            String(r.revision),
            actionCell(r),
            r.created_by ?? '-',
            formatTime(r.creation_timestamp),
            routesCell(r.spec),
          ]),
        ),
      );
    });
}
