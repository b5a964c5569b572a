import { Command } from 'commander';
import { writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel workflows set-default`. */
export interface WorkflowsSetDefaultFlags extends TrackingFlags {
  json?: boolean;
}

/**
 * `keel workflows set-default <name> <version>`: the version launches use when they name none;
 * setting an older one is a rollback. Prints one line, or the version as JSON.
 *
 * @example
 * keel workflows set-default train v2
 */
export function workflowsSetDefaultCommand(io: CliIo): Command {
  return withTrackingUri(new Command('set-default'))
    .description('Make a version the default one (launches without --version use it)')
    .argument('<name>', 'workflow name')
    .argument('<version>', 'a registered version')
    .option('--json', 'print the workflow version as JSON')
    .action(async (name: string, version: string, flags: WorkflowsSetDefaultFlags) => {
      const updated = await trackingClient(flags).workflows.setDefault(name, version);
      if (flags.json) return writeJson(io, updated);
      io.stdout.write(`Default version of workflow '${updated.name}' is now ${updated.version}\n`);
    });
}
