import { Command } from 'commander';
import { writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { formatExecution } from './execution-cells.js';
import { exitOnFailure, watchExecution } from './execution-watch.js';

/** Flags of `keel workflows status`. */
export interface WorkflowsStatusFlags extends TrackingFlags {
  watch?: boolean;
  json?: boolean;
}

/**
 * `keel workflows status <execution-id>`: an execution — state, inputs, outputs, error — and its
 * nodes (state, attempt, cache hit, duration), or its JSON. With `--watch`, follows it live until
 * it ends and exits 1 if it failed or was cancelled.
 *
 * @example
 * keel workflows status 0193a5c2-…
 * keel workflows status 0193a5c2-… --watch
 */
export function workflowsStatusCommand(io: CliIo): Command {
  return withTrackingUri(new Command('status'))
    .description("Show an execution and its nodes' states")
    .argument('<execution-id>', 'execution id')
    .option('--watch', 'follow the execution until it ends; exit 1 if it fails or is cancelled')
    .option('--json', 'print the execution as JSON (with --watch: the final one)')
    .action(async (executionId: string, flags: WorkflowsStatusFlags) => {
      const client = trackingClient(flags);
      if (!flags.watch) {
        const execution = await client.executions.get(executionId);
        if (flags.json) return writeJson(io, execution);
        io.stdout.write(formatExecution(execution));
        return;
      }
      const final = flags.json
        ? await client.executions.wait(executionId)
        : await watchExecution(client, io, executionId);
      if (flags.json) writeJson(io, final);
      exitOnFailure(final);
    });
}
