import type { CacheMode } from '@keel/core';
import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { collect } from '../../options.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { reportStarted, type StartFlags } from './execution-watch.js';
import { cacheOption, type InputFlags, inputsFromFlags } from './input-flags.js';

/** Flags of `keel workflows launch`. */
export interface WorkflowsLaunchFlags extends TrackingFlags, InputFlags, StartFlags {
  version?: string;
  cache?: CacheMode;
}

/**
 * `keel workflows launch <name>`: starts an execution of the default version (or `--version`).
 * `--input name=value` values are read by the workflow's declared types; a local path given for
 * a file, dataset or directory input is uploaded (content-addressed) first. Prints the execution
 * id; with `--wait`, follows it live and exits 1 if it fails or is cancelled.
 *
 * @example
 * keel workflows launch train --input data=./train.csv --input 'alphas=[0.1,1]' --wait
 * keel workflows launch train --version v2 --inputs-file inputs.json --cache skip
 */
export function workflowsLaunchCommand(io: CliIo): Command {
  return withTrackingUri(new Command('launch'))
    .description('Launch an execution of a workflow')
    .argument('<name>', 'workflow name')
    .option('--version <version>', 'the version to run (default: the default version)')
    .option('--input <name=value>', 'an input, read by its declared type; repeat for more', collect)
    .option('--inputs-file <file.json>', 'a JSON object of inputs (--input values win)')
    .addOption(cacheOption())
    .option('--wait', 'follow the execution until it ends; exit 1 if it fails or is cancelled')
    .option('--json', 'print the execution as JSON (with --wait: the final one)')
    .action(async (name: string, flags: WorkflowsLaunchFlags) => {
      const client = trackingClient(flags);
      const workflow = await client.workflows.get(name, flags.version);
      const inputs = await inputsFromFlags(workflow.spec.workflow.interface, flags, name);
      const execution = await client.executions.launch(workflow, inputs, {
        ...(flags.cache === undefined ? {} : { cache: flags.cache }),
      });
      const line = `Launched execution ${execution.execution_id} of workflow '${workflow.name}' version ${workflow.version}`;
      await reportStarted(client, io, execution, flags, line);
    });
}
