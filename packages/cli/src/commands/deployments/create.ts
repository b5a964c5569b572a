import { Command } from 'commander';
import { writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { routesCell } from './deployment-cells.js';
import { type DeploymentSpecFlags, specFromFlags, withSpecFlags } from './spec-flags.js';

/** Flags of `keel deployments create`. */
export interface DeploymentsCreateFlags extends TrackingFlags, DeploymentSpecFlags {
  description?: string;
  json?: boolean;
}

/**
 * `keel deployments create <name>`: creates a deployment from `--route` flags (repeatable, a
 * traffic split) and/or `--spec-file`, plus `--shadow`, batching, resources and recording flags.
 * Prints one line with the revision, or the deployment as JSON.
 *
 * @example
 * keel deployments create fraud --route stable=models:/fraud@champion:90 --route canary=models:/fraud/8:10 --shadow models:/fraud/9
 * keel deployments create fraud --spec-file fraud.json --description 'Fraud scoring'
 */
export function deploymentsCreateCommand(io: CliIo): Command {
  return withSpecFlags(withTrackingUri(new Command('create')))
    .description('Create a deployment: weighted routes to registered models, an optional shadow')
    .argument('<name>', 'deployment name (letters, digits, _ . -)')
    .option('--description <text>', 'what the deployment is for')
    .option('--json', 'print the created deployment as JSON')
    .action(async (name: string, flags: DeploymentsCreateFlags) => {
      const spec = specFromFlags(flags);
      const created = await trackingClient(flags).deployments.create(name, spec, {
        ...(flags.description === undefined ? {} : { description: flags.description }),
      });
      if (flags.json) return writeJson(io, created);
      io.stdout.write(
        `Created deployment '${created.name}' at revision ${created.revision}: ${routesCell(created.spec)}\n`,
      );
    });
}
