import { createInterface } from 'node:readline/promises';
import { createServices, type GcItemResult, type GcOptions, resolveServerConfig } from '@keel/server';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { parseDuration } from '../duration.js';
import type { CliIo } from '../io.js';
import { redactUri } from '../redact.js';
import { openBackendStore } from '../serve/listen.js';

/** Flags of `keel gc`, as commander hands them over. */
export interface GcFlags {
  backendStoreUri?: string;
  olderThan?: string;
  runIds?: string;
  experimentIds?: string;
  yes?: boolean;
  json?: boolean;
}

/**
 * `keel gc`: permanently removes soft-deleted runs and experiments and everything logged to them
 * (MLflow's `mlflow gc`). Destructive, so it asks for confirmation on a terminal and refuses
 * without `--yes` when stdin is not one. Prints one line per item (kind, id, status, reason), or
 * a JSON array with `--json`; exits 1 when any item failed.
 *
 * @example
 * keel gc --older-than 30d --yes
 * keel gc --run-ids 5f1c…,9a0b… --json --yes
 */
export function gcCommand(io: CliIo): Command {
  return new Command('gc')
    .description('Permanently delete runs and experiments in the deleted lifecycle stage')
    .option(
      '--backend-store-uri <uri>',
      'sqlite:///path/keel.db or postgresql://… (default: ./keel-data/keel.db)',
    )
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
      const { backendStoreUri } = resolveServerConfig({ backendStoreUri: flags.backendStoreUri });
      if (!flags.yes)
        await confirm(io, `${describe(options, flags.olderThan)} from ${redactUri(backendStoreUri)}`);

      const store = openBackendStore({ backendStoreUri });
      let results: GcItemResult[];
      try {
        results = await createServices(store).gc.collect(options);
      } finally {
        await store.close();
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
  const what = targets.length > 0 ? targets.join(' and ') : 'every deleted run and experiment';
  const age = olderThan === undefined ? '' : ` (only those deleted more than ${olderThan.trim()} ago)`;
  return `${what}${age}`;
}

/** Asks on the terminal; without one, refuses (a script must say `--yes`). */
async function confirm(io: CliIo, what: string): Promise<void> {
  if (!io.stdin.isTTY) {
    throw new CliError(
      "Refusing to run 'keel gc' without --yes: stdin is not a terminal, so it cannot confirm",
    );
  }
  const prompt = createInterface({ input: io.stdin, output: io.stderr });
  try {
    const answer = await prompt.question(`Permanently delete ${what}? This cannot be undone. [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('Aborted: nothing was deleted');
  } finally {
    prompt.close();
  }
}

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
