import { Command } from 'commander';
import { CliError } from '../../cli-error.js';
import { writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { routesCell } from './deployment-cells.js';
import { type DeploymentSpecFlags, hasSpecFlags, specFromFlags, withSpecFlags } from './spec-flags.js';

/** Flags of `keel deployments update`. */
export interface DeploymentsUpdateFlags extends TrackingFlags, DeploymentSpecFlags {
  description?: string;
  json?: boolean;
}

/**
 * `keel deployments update <name>`: changes a deployment as a new revision. The spec flags apply
 * to the current spec (`--route` replaces all routes, `--no-shadow` removes the shadow…), or to
 * `--spec-file`'s spec when given. An update that changes nothing keeps the current revision.
 * (The current spec is read, then the new one written: two people updating the same deployment
 * at once may overwrite each other's flags; each write is still its own revision.)
 *
 * @example
 * keel deployments update fraud --route stable=models:/fraud@champion:50 --route canary=models:/fraud/8:50
 * keel deployments update fraud --no-shadow --description 'canary at 50%'
 */
export function deploymentsUpdateCommand(io: CliIo): Command {
  return withSpecFlags(withTrackingUri(new Command('update')))
    .description(
      'Change a deployment (routes, shadow, batching, resources, recording, description) as a new revision',
    )
    .argument('<name>', 'deployment name')
    .option('--description <text>', "new description ('' clears it)")
    .option('--json', 'print the deployment as JSON')
    .action(async (name: string, flags: DeploymentsUpdateFlags) => {
      const changesSpec = hasSpecFlags(flags);
      if (!changesSpec && flags.description === undefined) {
        throw new CliError(
          'Nothing to update: give --route, --shadow/--no-shadow, --batch-max-size, --batch-max-delay-ms, --workers, --max-queue-rows, --record, --sample-rate, --spec-file or --description',
        );
      }
      const { deployments } = trackingClient(flags);
      const before = await deployments.get(name);
      const updated = await deployments.update(name, {
        ...(changesSpec ? { spec: specFromFlags(flags, before.spec) } : {}),
        ...(flags.description === undefined ? {} : { description: flags.description }),
      });
      if (flags.json) return writeJson(io, updated);
      io.stdout.write(
        updated.revision === before.revision
          ? `Deployment '${name}' unchanged at revision ${updated.revision}\n`
          : `Updated deployment '${name}' to revision ${updated.revision}: ${routesCell(updated.spec)}\n`,
      );
    });
}
