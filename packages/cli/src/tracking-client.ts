import { type Experiment, KeelError } from '@keel/core';
import { KeelClient } from '@keel/sdk';
import type { Command } from 'commander';

/** The flag every command that talks to a tracking server takes. */
export interface TrackingFlags {
  trackingUri?: string;
}

/**
 * Adds `--tracking-uri <uri>` to a command. Without it the SDK's own default applies:
 * `KEEL_TRACKING_URI`, then `MLFLOW_TRACKING_URI`, then `http://127.0.0.1:5000`.
 */
export function withTrackingUri(command: Command): Command {
  return command.option(
    '--tracking-uri <uri>',
    'Keel server URL (default: KEEL_TRACKING_URI, MLFLOW_TRACKING_URI, then http://127.0.0.1:5000)',
  );
}

/**
 * The SDK client the CLI's commands use; the CLI never speaks HTTP itself, and every command that
 * talks to a server builds its client here. The caller's identity comes from the environment
 * through the SDK (`KEEL_TRACKING_USERNAME` / `_PASSWORD` / `_TOKEN`, else the `MLFLOW_TRACKING_*`
 * ones), never from a flag. A command makes one client and lets its typed errors propagate to
 * `runCli`, which prints them as one line.
 *
 * @example
 * const client = trackingClient(flags);
 * const run = await client.getRun(runId);
 */
export function trackingClient(flags: TrackingFlags): KeelClient {
  return new KeelClient(flags.trackingUri === undefined ? {} : { trackingUri: flags.trackingUri });
}

/**
 * The experiment called `name`. The SDK answers `undefined` for a missing name; commands that
 * need one throw RESOURCE_DOES_NOT_EXIST instead, printed like the server's own errors.
 */
export async function experimentByName(client: KeelClient, name: string): Promise<Experiment> {
  const experiment = await client.getExperimentByName(name);
  if (experiment === undefined) {
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${name}'`);
  }
  return experiment;
}
