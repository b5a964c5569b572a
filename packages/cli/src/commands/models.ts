import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { modelsBuildDockerCommand } from './models/build-docker.js';
import { modelsDeleteCommand } from './models/delete.js';
import { modelsGetCommand } from './models/get.js';
import { modelsListCommand } from './models/list.js';
import { modelsServeCommand } from './models/serve.js';
import { modelsSetAliasCommand } from './models/set-alias.js';
import { modelsTransitionCommand } from './models/transition.js';
import { modelsVersionsCommand } from './models/versions.js';

/**
 * `keel models list|get|versions|set-alias|transition|delete`: the model registry through the SDK;
 * `keel models serve|build-docker`: serving a model over HTTP, here or in a Docker image.
 */
export function modelsCommand(io: CliIo): Command {
  return new Command('models')
    .description('Manage registered models (versions, stages, aliases) and serve models over HTTP')
    .addCommand(modelsListCommand(io))
    .addCommand(modelsGetCommand(io))
    .addCommand(modelsVersionsCommand(io))
    .addCommand(modelsSetAliasCommand(io))
    .addCommand(modelsTransitionCommand(io))
    .addCommand(modelsDeleteCommand(io))
    .addCommand(modelsServeCommand(io))
    .addCommand(modelsBuildDockerCommand(io));
}
