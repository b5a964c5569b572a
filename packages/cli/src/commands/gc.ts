import type { GcItemResult, GcOptions } from '@keel/server';
import { resolveServerConfig } from '@keel/server/config';
import { Command } from 'commander';
import { CliError, oneLine } from '../cli-error.js';
import { confirm } from '../confirm.js';
import { parseDuration } from '../duration.js';
import type { CliIo } from '../io.js';
import { redactUri } from '../redact.js';

/** Flags of `keel gc`, as commander hands them over. */
export interface GcFlags {
  backendStoreUri?: string;
  artifactsDestination?: string;
  s3EndpointUrl?: string;
  s3Region?: string;
  s3ForcePathStyle?: boolean;
  olderThan?: string;
  runIds?: string;
  experimentIds?: string;
  yes?: boolean;
  json?: boolean;
}

/**
 * `keel gc`: permanently removes soft-deleted runs and experiments, everything logged to them
 * and their artifacts in the artifact store (MLflow's `mlflow gc`); without ids, also the registry
 * copies no model version uses (`GcService`). Point it at the same
 * `--artifacts-destination` (and S3 settings) as the server. Destructive, so it asks for confirmation on a terminal and refuses
 * without `--yes` when stdin is not one. Prints one line per item (kind, id, status, reason), or
 * a JSON array with `--json`; exits 1 when any item failed.
 *
 * @example
 * keel gc --older-than 30d --yes
 * keel gc --run-ids 5f1c…,9a0b… --json --yes
 */
export function gcCommand(io: CliIo): Command {
  return new Command('gc')
    .description(
      'Permanently delete runs and experiments in the deleted lifecycle stage, and unused registry copies',
    )
    .option(
      '--backend-store-uri <uri>',
      'sqlite:///path/keel.db or postgresql://… (default: ./keel-data/keel.db)',
    )
    .option(
      '--artifacts-destination <uri>',
      'artifact folder, file:// or s3://bucket/prefix URI, as given to the server (default: ./keel-data/artifacts)',
    )
    .option('--s3-endpoint-url <url>', 'S3-compatible endpoint for s3:// destinations')
    .option('--s3-region <region>', 'S3 region (default: us-east-1)')
    .option('--s3-force-path-style', 'path-style S3 addressing, for self-hosted stores')
    .option('--older-than <duration>', 'only items deleted at least this long ago, e.g. 30d, 12h, 90m, 45s')
    .option('--run-ids <ids>', 'comma-separated run ids (each must be deleted)')
    .option(
      '--experiment-ids <ids>',
      'comma-separated experiment ids (each must be deleted); their runs go too',
    )
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .option('--json', 'print the per-item results as a JSON array')
    .action(async (flags: GcFlags) => {
      const options = gcOptionsOf(flags);
      const config = resolveServerConfig({
        backendStoreUri: flags.backendStoreUri,
        artifactsDestination: flags.artifactsDestination,
        s3EndpointUrl: flags.s3EndpointUrl,
        s3Region: flags.s3Region,
        s3ForcePathStyle: flags.s3ForcePathStyle,
      });
      if (!flags.yes) {
        const what = `${describe(options, flags.olderThan)} from ${redactUri(config.backendStoreUri)} and their artifacts in ${redactUri(config.artifactsDestination)}`;
        await confirm(io, {
          command: 'keel gc',
          question: `Permanently delete ${what}? This cannot be undone.`,
        });
      }

      // The server's code is loaded only once the command really runs.
      const [{ createServices, openArtifactStore }, { openBackendStore }] = await Promise.all([
        import('@keel/server'),
        import('../serve/listen.js'),
      ]);
      let artifacts: ReturnType<typeof openArtifactStore>;
      try {
        artifacts = openArtifactStore(config.artifactsDestination, config.s3);
      } catch (error) {
        throw new CliError(oneLine(error), { cause: error });
      }
      const store = openBackendStore(config);
      let results: GcItemResult[];
      try {
        results = await createServices(store, { artifacts }).gc.collect(options);
      } finally {
        await store.close();
        await artifacts.close();
      }
      io.stdout.write(flags.json ? `${JSON.stringify(results)}\n` : formatResults(results));
      const failed = results.filter((item) => item.status === 'failed').length;
      if (failed > 0) throw new CliError(`gc: ${failed} of ${results.length} items failed`);
    });
}

/** Validates the flags' shape into the GcService's options. */
function gcOptionsOf(flags: GcFlags): GcOptions {
  const options: GcOptions = {};
  if (flags.olderThan !== undefined) options.olderThanMs = parseDuration(flags.olderThan);
  if (flags.runIds !== undefined) options.runIds = idList(flags.runIds, '--run-ids');
  if (flags.experimentIds !== undefined) {
    const ids = idList(flags.experimentIds, '--experiment-ids');
    const bad = ids.find((id) => !/^\d+$/.test(id));
    if (bad !== undefined)
      throw new CliError(`Invalid --experiment-ids '${bad}': experiment ids are integers`);
    options.experimentIds = ids;
  }
  return options;
}

function idList(text: string, option: string): string[] {
  const ids = text
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (ids.length === 0)
    throw new CliError(`Invalid ${option} '${text}': expected a comma-separated list of ids`);
  return ids;
}

/** What the confirmation question says will be deleted. */
function describe(options: GcOptions, olderThan: string | undefined): string {
  const targets: string[] = [];
  if (options.runIds)
    targets.push(`run${options.runIds.length === 1 ? '' : 's'} ${options.runIds.join(', ')}`);
  if (options.experimentIds) {
    const s = options.experimentIds.length === 1 ? '' : 's';
    targets.push(`experiment${s} ${options.experimentIds.join(', ')} with their runs`);
  }
  const what =
    targets.length > 0
      ? targets.join(' and ')
      : 'every deleted run and experiment, and every registry copy no model version uses (made over a day ago)';
  const age = olderThan === undefined ? '' : ` (only those deleted more than ${olderThan.trim()} ago)`;
  return `${what}${age}`;
}

/** Asks on the terminal; without one, refuses (a script must say `--yes`). */

function formatResults(results: readonly GcItemResult[]): string {
  if (results.length === 0) return 'Nothing to collect\n';
  const lines = results.map((item) =>
    [item.kind, item.id, item.status, item.reason].filter((field) => field !== undefined).join('\t'),
  );
  const count = (status: GcItemResult['status']): number =>
    results.filter((item) => item.status === status).length;
  lines.push(`${count('removed')} removed, ${count('skipped')} skipped, ${count('failed')} failed`);
  return `${lines.join('\n')}\n`;
}
