import { Command } from 'commander';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel workflows list`. */
export interface WorkflowsListFlags extends TrackingFlags {
  filter?: string;
  json?: boolean;
}

/**
 * `keel workflows list`: every registered workflow (all pages) as a table — name, default and
 * latest version, number of versions, last update — or a JSON array.
 *
 * @example
 * keel workflows list
 * keel workflows list --filter train --json
 */
export function workflowsListCommand(io: CliIo): Command {
  return withTrackingUri(new Command('list'))
    .description('List registered workflows')
    .option('--filter <prefix>', 'only workflows whose name starts with this')
    .option('--json', 'print a JSON array of workflows')
    .action(async (flags: WorkflowsListFlags) => {
      const workflows = [];
      const pages = trackingClient(flags).workflows.list(
        flags.filter === undefined ? {} : { filter: flags.filter },
      );
      for await (const workflow of pages) workflows.push(workflow);
      if (flags.json) return writeJson(io, workflows);
      io.stdout.write(
        formatTable(
          ['NAME', 'DEFAULT VERSION', 'LATEST VERSION', 'VERSIONS', 'UPDATED'],
          workflows.map((w) => [
            w.name,
            w.default_version,
            w.latest_version ?? '-',
            w.versions === undefined ? '-' : String(w.versions),
            formatTime(w.updated_at),
          ]),
        ),
      );
    });
}
