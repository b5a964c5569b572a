import { canonicalStage, MODEL_VERSION_STAGES } from '@keel/core';
import { Command } from 'commander';
import { writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel models transition`. */
export interface ModelsTransitionFlags extends TrackingFlags {
  archiveExisting?: boolean;
  json?: boolean;
}

/**
 * `keel models transition <name> <version> <stage>`: moves a version to `None`, `Staging`,
 * `Production` or `Archived` (case-insensitive); `--archive-existing` archives the versions
 * already in that stage. Prints a confirmation line, or the updated version as JSON.
 *
 * @example
 * keel models transition churn 3 production --archive-existing
 */
export function modelsTransitionCommand(io: CliIo): Command {
  return withTrackingUri(new Command('transition'))
    .description('Move a model version to another stage')
    .argument('<name>', 'registered model name')
    .argument('<version>', 'version number')
    .argument('<stage>', `one of ${MODEL_VERSION_STAGES.join(', ')} (case-insensitive)`)
    .option('--archive-existing', 'archive the versions currently in that stage (Staging/Production)')
    .option('--json', 'print the updated model version as JSON')
    .action(async (name: string, version: string, stage: string, flags: ModelsTransitionFlags) => {
      // Checked before any request, so a typo fails fast with the list of stages.
      const target = canonicalStage(stage);
      const updated = await trackingClient(flags).registry.transitionStage(name, version, target, {
        archiveExistingVersions: flags.archiveExisting ?? false,
      });
      if (flags.json) return writeJson(io, updated);
      io.stdout.write(
        `Model '${name}' version ${updated.version} is now in stage ${updated.current_stage}` +
          `${flags.archiveExisting ? ` (earlier ${updated.current_stage} versions archived)` : ''}\n`,
      );
    });
}
