import { resolveServerConfig } from '@keel/server/config';
import { Command } from 'commander';
import { CliError, oneLine } from '../../cli-error.js';
import type { CliIo } from '../../io.js';
import { redactUri } from '../../redact.js';

/**
 * `keel audit verify`: reads the backend store directly (no server needed), recomputes the
 * audit log's hash chain in seq order and prints `OK: N events verified` and the head hash
 * (keep it elsewhere: only a saved head reveals events removed from the end), or
 * `BROKEN at event seq N (<event_id>): <reason>` for the first event that was altered, removed
 * or reordered, and then exits 1.
 *
 * @example
 * keel audit verify --backend-store-uri postgresql://keel@db/keel
 */
export function auditVerifyCommand(io: CliIo): Command {
  return new Command('verify')
    .description("Recompute the audit log's hash chain and report the first broken event")
    .option(
      '--backend-store-uri <uri>',
      'sqlite:///path/keel.db or postgresql://… (default: ./keel-data/keel.db)',
    )
    .action(async (flags: { backendStoreUri?: string }) => {
      const { backendStoreUri } = resolveServerConfig({ backendStoreUri: flags.backendStoreUri });
      // The server's code is loaded only once the command really runs.
      const [{ AuditLog }, { connectionFailure, openBackendStore }] = await Promise.all([
        import('@keel/server'),
        import('../../serve/listen.js'),
      ]);
      const store = openBackendStore({ backendStoreUri });
      try {
        const result = await new AuditLog({ db: store.db, dialect: store.dialect })
          .verify()
          .catch((error: unknown) => {
            const root = connectionFailure(error);
            const what = root ? 'Cannot connect to backend store' : 'Cannot read the audit log of';
            const hint = root ? '' : " (is the store upgraded? run 'keel db upgrade')";
            throw new CliError(`${what} ${redactUri(backendStoreUri)}: ${oneLine(root ?? error)}${hint}`, {
              cause: error,
            });
          });
        if (result.ok) {
          io.stdout.write(`OK: ${result.events} events verified\n`);
          if (result.head) io.stdout.write(`Head: seq ${result.head.seq} hash ${result.head.hash}\n`);
          return;
        }
        io.stdout.write(
          `BROKEN at event seq ${result.firstBrokenSeq} (${result.eventId}): ${result.reason}\n`,
        );
        throw new CliError(
          `the audit log of ${redactUri(backendStoreUri)} failed verification (${result.events} events before seq ${result.firstBrokenSeq} are intact)`,
        );
      } finally {
        await store.close();
      }
    });
}
