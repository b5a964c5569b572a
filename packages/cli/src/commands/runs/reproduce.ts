import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { runProject } from '../../projects/project-run.js';
import { projectSettings } from '../../projects/project-settings.js';
import { reproductionRequest } from '../../projects/reproduce.js';
import { envManagerOption, reportRunEnd, type SharedRunFlags } from '../../projects/run-flags.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel runs reproduce`. */
export interface RunsReproduceFlags extends TrackingFlags, SharedRunFlags {}

/**
 * `keel runs reproduce <run-id>`: runs the project of a `keel run` run again — same source, same
 * commit, same entry point, environment and params — into a new run tagged `keel.reproducedFrom`
 * (in the same experiment unless told otherwise). Refuses, naming the difference, a run that did not
 * come from a project, ran from a dirty work tree, or ran from code outside git. Exits with the
 * program's exit code, like `keel run`.
 *
 * @example
 * keel runs reproduce 5f1c0e… --run-name rerun
 */
export function runsReproduceCommand(io: CliIo): Command {
  return withTrackingUri(new Command('reproduce'))
    .description('Re-run the project of a run at the same commit with the same params, into a new run')
    .argument('<run-id>', 'the run to reproduce')
    .option('--experiment-name <name>', "experiment of the new run (default: the original's)")
    .option('--experiment-id <id>', "experiment of the new run by id (default: the original's)")
    .option('--run-name <name>', 'name of the new run (default: generated)')
    .addOption(envManagerOption())
    .action(async (runId: string, flags: RunsReproduceFlags) => {
      const client = trackingClient(flags);
      const original = await client.getRun(runId);
      const request = reproductionRequest(original, flags, process.cwd());
      io.stderr.write(`keel: reproducing run ${runId} from ${request.uri} at ${request.version}\n`);
      reportRunEnd(io, await runProject(client, request, io, projectSettings()));
    });
}
