import { EXECUTION_STATES, type ExecutionState } from '@keel/core';
import type { ExecutionSummary } from '@keel/sdk';
import { Command, Option } from 'commander';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { positiveInteger } from '../../options.js';
import { formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { executionDuration } from './execution-cells.js';

/** Flags of `keel workflows executions`. */
export interface WorkflowsExecutionsFlags extends TrackingFlags {
  workflow?: string;
  version?: string;
  state?: ExecutionState;
  createdBy?: string;
  maxResults?: number;
  json?: boolean;
}

/** Executions listed when `--max-results` is not given. */
const DEFAULT_MAX_RESULTS = 50;

/**
 * `keel workflows executions`: executions, newest first, filtered by workflow, version, state
 * and who launched them — id, workflow, version, state, mode, creation time, duration, author —
 * or a JSON array.
 *
 * @example
 * keel workflows executions --workflow train --state failed
 */
export function workflowsExecutionsCommand(io: CliIo): Command {
  return withTrackingUri(new Command('executions'))
    .description('List executions, newest first')
    .option('--workflow <name>', 'only executions of this workflow')
    .option('--version <version>', 'only executions of this version (with --workflow)')
    .addOption(new Option('--state <state>', 'only executions in this state').choices(EXECUTION_STATES))
    .option('--created-by <user>', 'only executions launched by this user')
    .option(
      '--max-results <n>',
      `stop after this many executions (default ${DEFAULT_MAX_RESULTS})`,
      positiveInteger('--max-results'),
    )
    .option('--json', 'print a JSON array of executions')
    .action(async (flags: WorkflowsExecutionsFlags) => {
      const limit = flags.maxResults ?? DEFAULT_MAX_RESULTS;
      const executions: ExecutionSummary[] = [];
      const pages = trackingClient(flags).executions.list({
        maxResults: limit,
        ...(flags.workflow === undefined ? {} : { workflow: flags.workflow }),
        ...(flags.version === undefined ? {} : { version: flags.version }),
        ...(flags.state === undefined ? {} : { state: flags.state }),
        ...(flags.createdBy === undefined ? {} : { createdBy: flags.createdBy }),
      });
      for await (const execution of pages) {
        executions.push(execution);
        if (executions.length >= limit) break;
      }
      if (flags.json) return writeJson(io, executions);
      const now = Date.now();
      io.stdout.write(
        formatTable(
          ['EXECUTION', 'WORKFLOW', 'VERSION', 'STATE', 'MODE', 'CREATED', 'DURATION', 'BY'],
          executions.map((e) => [
            e.execution_id,
            e.workflow,
            e.version,
            e.state,
            e.mode,
            formatTime(e.created_at),
            executionDuration(e, now),
            e.created_by || '-',
          ]),
        ),
      );
    });
}
