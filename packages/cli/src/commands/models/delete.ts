import { Command } from 'commander';
import { confirm } from '../../confirm.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { nameClause } from './model-cells.js';

/** Flags of `keel models delete`. */
export interface ModelsDeleteFlags extends TrackingFlags {
  yes?: boolean;
}

/**
 * `keel models delete <name> [version]`: deletes a registered model with all its versions, or
 * only the given version. Neither can be undone, so it asks on a terminal and needs `--yes`
 * otherwise. (The version is positional: `--version` is the program's own flag.)
 *
 * @example
 * keel models delete churn 2 --yes
 * keel models delete churn-old --yes
 */
export function modelsDeleteCommand(io: CliIo): Command {
  return withTrackingUri(new Command('delete'))
    .description('Delete a registered model with all its versions, or one version (cannot be undone)')
    .argument('<name>', 'registered model name')
    .argument('[version]', 'delete only this version')
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .action(async (name: string, version: string | undefined, flags: ModelsDeleteFlags) => {
      const { registry } = trackingClient(flags);
      if (!flags.yes) {
        await confirm(io, {
          command: 'keel models delete',
          question: async () => {
            if (version !== undefined) {
              const v = await registry.getModelVersion(name, version);
              return `Delete version ${v.version} of model '${name}' (stage ${v.current_stage}, source ${v.source})? This cannot be undone.`;
            }
            await registry.getRegisteredModel(name);
            let count = 0;
            for await (const _ of registry.iterateModelVersions({ filter: nameClause(name) })) count += 1;
            return `Delete registered model '${name}' and its ${count} version(s)? This cannot be undone.`;
          },
        });
      }
      if (version !== undefined) {
        await registry.deleteModelVersion(name, version);
        io.stdout.write(`Deleted version ${version} of model '${name}'\n`);
      } else {
        await registry.deleteRegisteredModel(name);
        io.stdout.write(`Deleted registered model '${name}'\n`);
      }
    });
}
