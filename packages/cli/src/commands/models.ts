import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { modelsDeleteCommand } from './models/delete.js';
import { modelsGetCommand } from './models/get.js';
import { modelsListCommand } from './models/list.js';
import { modelsSetAliasCommand } from './models/set-alias.js';
import { modelsTransitionCommand } from './models/transition.js';
import { modelsVersionsCommand } from './models/versions.js';

/** `keel models list|get|versions|set-alias|transition|delete`: the model registry through the SDK. */
export function modelsCommand(io: CliIo): Command {
  return new Command('models')
    .description('List and manage registered models, their versions, stages and aliases')
    .addCommand(modelsListCommand(io))
    .addCommand(modelsGetCommand(io))
    .addCommand(modelsVersionsCommand(io))
    .addCommand(modelsSetAliasCommand(io))
    .addCommand(modelsTransitionCommand(io))
    .addCommand(modelsDeleteCommand(io));
}
