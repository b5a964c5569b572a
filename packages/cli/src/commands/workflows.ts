import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { workflowsCancelCommand } from './workflows/cancel.js';
import { workflowsExecutionsCommand } from './workflows/executions.js';
import { workflowsLaunchCommand } from './workflows/launch.js';
import { workflowsListCommand } from './workflows/list.js';
import { workflowsLogsCommand } from './workflows/logs.js';
import { workflowsRecoverCommand } from './workflows/recover.js';
import { workflowsRegisterCommand } from './workflows/register.js';
import { workflowsRelaunchCommand } from './workflows/relaunch.js';
import { workflowsSetDefaultCommand } from './workflows/set-default.js';
import { workflowsStatusCommand } from './workflows/status.js';
import { workflowsVersionsCommand } from './workflows/versions.js';

/**
 * `keel workflows register|list|versions|set-default`: typed workflows and their versions;
 * `keel workflows launch|status|logs|cancel|relaunch|recover|executions`: their executions —
 * all through the SDK (`keel.workflows`, `keel.executions`).
 */
export function workflowsCommand(io: CliIo): Command {
  return new Command('workflows')
    .description('Register workflows, launch and follow executions, read task logs')
    .addCommand(workflowsRegisterCommand(io))
    .addCommand(workflowsListCommand(io))
    .addCommand(workflowsVersionsCommand(io))
    .addCommand(workflowsSetDefaultCommand(io))
    .addCommand(workflowsLaunchCommand(io))
    .addCommand(workflowsStatusCommand(io))
    .addCommand(workflowsLogsCommand(io))
    .addCommand(workflowsCancelCommand(io))
    .addCommand(workflowsRelaunchCommand(io))
    .addCommand(workflowsRecoverCommand(io))
    .addCommand(workflowsExecutionsCommand(io));
}
