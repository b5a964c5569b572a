import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { predictionsExportCommand } from './predictions/export.js';
import { predictionsFeedbackCommand } from './predictions/feedback.js';
import { predictionsListCommand } from './predictions/list.js';

/**
 * `keel predictions list|export|feedback`: the prediction records of deployments (who called
 * which model version, when, with what, and what came back) through a Keel server.
 */
export function predictionsCommand(io: CliIo): Command {
  return new Command('predictions')
    .description('List and export prediction records of deployments, and send ground-truth labels')
    .addCommand(predictionsListCommand(io))
    .addCommand(predictionsExportCommand(io))
    .addCommand(predictionsFeedbackCommand(io));
}
