import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { deploymentsCreateCommand } from './deployments/create.js';
import { deploymentsDeleteCommand } from './deployments/delete.js';
import { deploymentsGetCommand } from './deployments/get.js';
import { deploymentsListCommand } from './deployments/list.js';
import { deploymentsRevisionsCommand } from './deployments/revisions.js';
import { deploymentsRollbackCommand } from './deployments/rollback.js';
import { deploymentsUpdateCommand } from './deployments/update.js';

/**
 * `keel deployments create|list|get|update|delete|revisions|rollback`: named, versioned serving
 * configurations (weighted routes to registered models, shadow, batching, recording) through
 * the SDK.
 */
export function deploymentsCommand(io: CliIo): Command {
  return new Command('deployments')
    .description('Manage deployments: traffic splits across registered models, with revisions and rollback')
    .addCommand(deploymentsCreateCommand(io))
    .addCommand(deploymentsListCommand(io))
    .addCommand(deploymentsGetCommand(io))
    .addCommand(deploymentsUpdateCommand(io))
    .addCommand(deploymentsDeleteCommand(io))
    .addCommand(deploymentsRevisionsCommand(io))
    .addCommand(deploymentsRollbackCommand(io));
}
