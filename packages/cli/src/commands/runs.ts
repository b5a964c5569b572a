import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { runsDeleteCommand } from './runs/delete.js';
import { runsGetCommand } from './runs/get.js';
import { runsListCommand } from './runs/list.js';
import { runsReproduceCommand } from './runs/reproduce.js';
import { runsRestoreCommand } from './runs/restore.js';

/**
 * `keel runs list|get|delete|restore`: search and manage runs through the SDK;
 * `keel runs reproduce`: re-run a project run at the same commit (docs/projects.md).
 */
export function runsCommand(io: CliIo): Command {
  return new Command('runs')
    .description('List, inspect, delete, restore and reproduce runs')
    .addCommand(runsListCommand(io))
    .addCommand(runsGetCommand(io))
    .addCommand(runsDeleteCommand(io))
    .addCommand(runsRestoreCommand(io))
    .addCommand(runsReproduceCommand(io));
}
