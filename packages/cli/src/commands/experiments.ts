import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { experimentsCreateCommand } from './experiments/create.js';
import { experimentsDeleteCommand } from './experiments/delete.js';
import { experimentsGetCommand } from './experiments/get.js';
import { experimentsListCommand } from './experiments/list.js';
import { experimentsRenameCommand } from './experiments/rename.js';
import { experimentsRestoreCommand } from './experiments/restore.js';

/**
 * `keel experiments create|list|get|rename|delete|restore`: manage experiments on a tracking
 * server through the SDK.
 */
export function experimentsCommand(io: CliIo): Command {
  return new Command('experiments')
    .description('Create, list, inspect, rename, delete and restore experiments')
    .addCommand(experimentsCreateCommand(io))
    .addCommand(experimentsListCommand(io))
    .addCommand(experimentsGetCommand(io))
    .addCommand(experimentsRenameCommand(io))
    .addCommand(experimentsDeleteCommand(io))
    .addCommand(experimentsRestoreCommand(io));
}
