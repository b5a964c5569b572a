import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { collect, parseTags } from '../../options.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel experiments create`. */
export interface ExperimentsCreateFlags extends TrackingFlags {
  artifactLocation?: string;
  tag?: string[];
}

/**
 * `keel experiments create <name>`: creates an experiment and prints its id alone on stdout, so
 * scripts can capture it.
 *
 * @example
 * EXP=$(keel experiments create churn --tag team=growth)
 */
export function experimentsCreateCommand(io: CliIo): Command {
  return withTrackingUri(new Command('create'))
    .description('Create an experiment and print its id')
    .argument('<name>', 'experiment name (unique)')
    .option('--artifact-location <uri>', "where its runs' artifacts go (default: chosen by the server)")
    .option('--tag <key=value>', 'experiment tag; repeat for more', collect)
    .action(async (name: string, flags: ExperimentsCreateFlags) => {
      const tags = parseTags(flags.tag);
      const id = await trackingClient(flags).createExperiment(name, {
        ...(flags.artifactLocation === undefined ? {} : { artifactLocation: flags.artifactLocation }),
        ...(Object.keys(tags).length === 0 ? {} : { tags }),
      });
      io.stdout.write(`${id}\n`);
    });
}
