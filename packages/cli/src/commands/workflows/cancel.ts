import type { Execution } from '@keel/core';
import { Command } from 'commander';
import { writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel workflows cancel`. */
export interface WorkflowsCancelFlags extends TrackingFlags {
  json?: boolean;
}

/**
 * `keel workflows cancel <execution-id>`: stops an execution (running tasks are stopped, nodes
 * not started are skipped; `recover` can resume it later). Prints one line — `Cancelling
 * execution <id>`, `Cancelled execution <id>`, or that it had already ended — or the execution as
 * JSON.
 *
 * @example
 * keel workflows cancel 0193a5c2-…
 */
export function workflowsCancelCommand(io: CliIo): Command {
  return withTrackingUri(new Command('cancel'))
    .description('Cancel an execution')
    .argument('<execution-id>', 'execution id')
    .option('--json', 'print the execution as JSON')
    .action(async (executionId: string, flags: WorkflowsCancelFlags) => {
      const execution = await trackingClient(flags).executions.cancel(executionId);
      if (flags.json) return writeJson(io, execution);
      io.stdout.write(`${cancelLine(execution)}\n`);
    });
}

/** What cancelling did: `Cancelling execution <id>` (tasks are being stopped), `Cancelled …`, or that it had ended. */
function cancelLine(execution: Execution): string {
  const id = execution.execution_id;
  if (execution.state === 'cancelling') return `Cancelling execution ${id}`;
  if (execution.state === 'cancelled') return `Cancelled execution ${id}`;
  return `Execution ${id} had already ended: ${execution.state}`;
}
