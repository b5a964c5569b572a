import { PROJECT_BACKENDS, type ProjectBackend } from '@keel/core';
import { Command, Option } from 'commander';
import type { CliIo } from '../io.js';
import { collect } from '../options.js';
import { runProject } from '../projects/project-run.js';
import { projectSettings } from '../projects/project-settings.js';
import {
  envManagerOption,
  parseParamList,
  reportRunEnd,
  type SharedRunFlags,
} from '../projects/run-flags.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../tracking-client.js';

/** Flags of `keel run`. */
export interface RunFlags extends TrackingFlags, SharedRunFlags {
  entryPoint: string;
  version?: string;
  paramList?: string[];
  backend: ProjectBackend;
}

/**
 * `keel run <dir | git URL>[#subdirectory]`: runs a project's entry point as a tracked run — params
 * logged, MLflow's project tags set, output streamed and stored as `keel-run/output.log`, the run
 * ended FINISHED, FAILED or KILLED. Exits with the program's exit code. See docs/projects.md.
 *
 * @example
 * keel run examples/project-breast-cancer -P C=0.5
 * keel run https://github.com/org/repo.git#projects/churn --version v1.2 -e train -P epochs=5
 */
export function runCommand(io: CliIo): Command {
  return withTrackingUri(new Command('run'))
    .description(
      'Run a project (directory or git repository with an MLproject or keel-project.yaml) as a tracked run',
    )
    .argument(
      '<uri>',
      'project directory or git URL (https://, ssh://, file://, git@host:path), optionally #subdirectory',
    )
    .option(
      '-e, --entry-point <name>',
      'entry point, or a script of the project (.py, .sh, .js, .mjs, .cjs)',
      'main',
    )
    .option('-v, --version <version>', 'branch, tag or commit to check out (git URIs only)')
    .option('-P, --param-list <key=value>', 'a parameter value; repeat for more', collect)
    .option('--experiment-name <name>', 'experiment by name (created if missing)')
    .option('--experiment-id <id>', 'experiment by id')
    .option('--run-name <name>', 'name of the new run (default: generated)')
    .addOption(envManagerOption())
    .addOption(
      new Option(
        '-b, --backend <backend>',
        'where the command runs: here, or as a one-task workflow execution on the server',
      )
        .choices(PROJECT_BACKENDS as unknown as string[])
        .default('local'),
    )
    .action(async (uri: string, flags: RunFlags) => {
      const result = await runProject(
        trackingClient(flags),
        {
          uri,
          entryPoint: flags.entryPoint,
          params: parseParamList(flags.paramList),
          backend: flags.backend,
          cwd: process.cwd(),
          ...(flags.version === undefined ? {} : { version: flags.version }),
          ...(flags.experimentName === undefined ? {} : { experimentName: flags.experimentName }),
          ...(flags.experimentId === undefined ? {} : { experimentId: flags.experimentId }),
          ...(flags.runName === undefined ? {} : { runName: flags.runName }),
          ...(flags.envManager === undefined ? {} : { envManager: flags.envManager }),
        },
        io,
        projectSettings(),
      );
      reportRunEnd(io, result);
    });
}
