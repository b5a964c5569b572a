import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { runsDeleteCommand } from './runs/delete.js';
import { runsGetCommand } from './runs/get.js';
import { runsListCommand } from './runs/list.js';
import { runsRestoreCommand } from './runs/restore.js';

/** `keel runs list|get|delete|restore`: search and manage runs through the SDK. */
export function runsCommand(io: CliIo): Command {
  return new Command('runs')
    .description('List, inspect, delete and restore runs')
    .addCommand(runsListCommand(io))
    .addCommand(runsGetCommand(io))
    .addCommand(runsDeleteCommand(io))
    .addCommand(runsRestoreCommand(io));
}
