import type { CacheMode } from '@keel/core';
import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { reportStarted, type StartFlags } from './execution-watch.js';
import { cacheOption } from './input-flags.js';

/** Flags of `keel workflows relaunch`. */
export interface WorkflowsRelaunchFlags extends TrackingFlags, StartFlags {
  cache?: CacheMode;
}

/**
 * `keel workflows relaunch <execution-id>`: a fresh execution of the same version with the same
 * inputs. Prints the new execution's id; `--wait` follows it like `launch --wait`.
 *
 * @example
 * keel workflows relaunch 0193a5c2-… --cache skip --wait
 */
export function workflowsRelaunchCommand(io: CliIo): Command {
  return withTrackingUri(new Command('relaunch'))
    .description('Run an execution again from the start: same version, same inputs')
    .argument('<execution-id>', 'execution id')
    .addOption(cacheOption())
    .option('--wait', 'follow the new execution until it ends; exit 1 if it fails or is cancelled')
    .option('--json', 'print the new execution as JSON (with --wait: the final one)')
    .action(async (executionId: string, flags: WorkflowsRelaunchFlags) => {
      const client = trackingClient(flags);
      const execution = await client.executions.relaunch(
        executionId,
        flags.cache === undefined ? {} : { cache: flags.cache },
      );
      const line = `Relaunched execution ${executionId} as ${execution.execution_id}`;
      await reportStarted(client, io, execution, flags, line);
    });
}
