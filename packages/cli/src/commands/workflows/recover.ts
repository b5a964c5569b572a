import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { reportStarted, type StartFlags } from './execution-watch.js';

/** Flags of `keel workflows recover`. */
export interface WorkflowsRecoverFlags extends TrackingFlags, StartFlags {}

/**
 * `keel workflows recover <execution-id>`: a new execution of a failed or cancelled one that
 * reuses every node that succeeded and reruns from the failure. Prints the new execution's id
 * and how many nodes it reuses; `--wait` follows it like `launch --wait`.
 *
 * @example
 * keel workflows recover 0193a5c2-… --wait
 */
export function workflowsRecoverCommand(io: CliIo): Command {
  return withTrackingUri(new Command('recover'))
    .description('Resume a failed or cancelled execution, reusing the nodes that succeeded')
    .argument('<execution-id>', 'execution id of a failed or cancelled execution')
    .option('--wait', 'follow the new execution until it ends; exit 1 if it fails or is cancelled')
    .option('--json', 'print the new execution as JSON (with --wait: the final one)')
    .action(async (executionId: string, flags: WorkflowsRecoverFlags) => {
      const client = trackingClient(flags);
      const execution = await client.executions.recover(executionId);
      const reused = execution.nodes.filter((node) => node.state === 'cached').length;
      const line = `Recovering execution ${executionId} as ${execution.execution_id} (${reused} of ${execution.nodes.length} nodes reused)`;
      await reportStarted(client, io, execution, flags, line);
    });
}
