import { resolveServerConfig } from '@keel/server/config';
import { Command } from 'commander';
import { CliError, oneLine } from '../cli-error.js';
import type { CliIo } from '../io.js';
import { redactUri } from '../redact.js';

/**
 * `keel db upgrade`: applies the backend store's pending migrations and prints one line per
 * migration applied, or `already up to date`. Each migration runs in its own transaction, so a
 * failing one is rolled back and the error names it.
 *
 * @example
 * keel db upgrade --backend-store-uri postgresql://keel@db/keel
 */
export function dbUpgradeCommand(io: CliIo): Command {
  return new Command('upgrade')
    .description('Apply pending schema migrations to the backend store')
    .option(
      '--backend-store-uri <uri>',
      'sqlite:///path/keel.db or postgresql://… (default: ./keel-data/keel.db)',
    )
    .action(async (flags: { backendStoreUri?: string }) => {
      const { backendStoreUri } = resolveServerConfig({ backendStoreUri: flags.backendStoreUri });
      const { connectionFailure, migrateToLatest, openBackendStore } = await loadServer();
      const store = openBackendStore({ backendStoreUri });
      try {
        const { results = [] } = await migrateToLatest(store).catch((error: unknown) => {
          const root = connectionFailure(error);
          const what = root ? 'Cannot connect to backend store' : 'Cannot upgrade';
          throw new CliError(`${what} ${redactUri(backendStoreUri)}: ${oneLine(root ?? error)}`, {
            cause: error,
          });
        });
        const applied = results.filter((result) => result.status === 'Success');
        for (const result of applied) io.stdout.write(`Applied migration ${result.migrationName}\n`);
        if (applied.length === 0) io.stdout.write(`${redactUri(backendStoreUri)} is already up to date\n`);
      } finally {
        await store.close();
      }
    });
}

/** The server's store code, loaded only when the command runs. */
async function loadServer() {
  const [{ migrateToLatest }, { connectionFailure, openBackendStore }] = await Promise.all([
    import('@keel/server'),
    import('../serve/listen.js'),
  ]);
  return { connectionFailure, migrateToLatest, openBackendStore };
}
