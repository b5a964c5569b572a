import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { positiveInteger } from '../../options.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel workflows logs`. */
export interface WorkflowsLogsFlags extends TrackingFlags {
  attempt?: number;
  follow?: boolean;
}

/**
 * `keel workflows logs <execution-id> <node>`: the log of a node's attempt (the latest unless
 * `--attempt`). With `-f`, what was logged so far and then live output until the attempt ends.
 * Either way the task's stderr goes to stderr, its stdout to stdout.
 *
 * @example
 * keel workflows logs 0193a5c2-… fit[3] --attempt 1
 * keel workflows logs 0193a5c2-… train -f
 */
export function workflowsLogsCommand(io: CliIo): Command {
  return withTrackingUri(new Command('logs'))
    .description("Print a node attempt's log; -f follows it live")
    .argument('<execution-id>', 'execution id')
    .argument('<node>', 'node id, e.g. fit or fit[3]')
    .option('--attempt <n>', 'which attempt (default: the latest)', positiveInteger('--attempt'))
    .option('-f, --follow', 'stream the log live until the attempt ends')
    .action(async (executionId: string, node: string, flags: WorkflowsLogsFlags) => {
      const { executions } = trackingClient(flags);
      const options = flags.attempt === undefined ? {} : { attempt: flags.attempt };
      if (!flags.follow) {
        for (const line of await executions.logLines(executionId, node, options)) {
          (line.stream === 'stderr' ? io.stderr : io.stdout).write(line.text);
        }
        return;
      }
      for await (const chunk of executions.followLogs(executionId, node, options)) {
        (chunk.stream === 'stderr' ? io.stderr : io.stdout).write(chunk.text);
      }
    });
}
