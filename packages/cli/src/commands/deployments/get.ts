import { Command } from 'commander';
import { writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { positiveInteger } from '../../options.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { formatDeployment } from './deployment-cells.js';

/** Flags of `keel deployments get`. */
export interface DeploymentsGetFlags extends TrackingFlags {
  revision?: number;
  json?: boolean;
}

/**
 * `keel deployments get <name>`: one deployment at its current revision (or `--revision n`, also
 * of a deleted deployment) — description, who changed it when, shadow, batching, resources,
 * recording, and its routes with each one's share of the traffic — or its JSON.
 *
 * @example
 * keel deployments get fraud
 * keel deployments get fraud --revision 2 --json | jq '.spec.routes'
 */
export function deploymentsGetCommand(io: CliIo): Command {
  return withTrackingUri(new Command('get'))
    .description('Show one deployment: routes and their shares, shadow, batching, recording')
    .argument('<name>', 'deployment name')
    .option('--revision <n>', 'show this revision instead of the current one', positiveInteger('--revision'))
    .option('--json', 'print the deployment (or revision) as JSON')
    .action(async (name: string, flags: DeploymentsGetFlags) => {
      const { deployments } = trackingClient(flags);
      const deployment =
        flags.revision === undefined
          ? await deployments.get(name)
          : await deployments.getRevision(name, flags.revision);
      if (flags.json) return writeJson(io, deployment);
      io.stdout.write(formatDeployment(deployment));
    });
}
