import { Command } from 'commander';
import { CliError } from '../../cli-error.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel models set-alias`. */
export interface ModelsSetAliasFlags extends TrackingFlags {
  delete?: boolean;
}

/**
 * `keel models set-alias <name> <alias> <version>`: points an alias (e.g. `champion`) at a
 * version, moving it if it pointed elsewhere; `--delete` (without a version) removes the alias.
 * Aliases are reversible pointers, so neither asks for confirmation.
 *
 * @example
 * keel models set-alias churn champion 3
 * keel models set-alias churn challenger --delete
 */
export function modelsSetAliasCommand(io: CliIo): Command {
  return withTrackingUri(new Command('set-alias'))
    .description('Point an alias of a registered model at a version (or remove it with --delete)')
    .argument('<name>', 'registered model name')
    .argument('<alias>', "alias, e.g. 'champion' ('latest' and 'v<number>' are reserved)")
    .argument('[version]', 'version number (omit with --delete)')
    .option('--delete', 'remove the alias instead of setting it')
    .action(async (name: string, alias: string, version: string | undefined, flags: ModelsSetAliasFlags) => {
      const { registry } = trackingClient(flags);
      if (flags.delete) {
        if (version !== undefined) {
          throw new CliError("'keel models set-alias --delete' takes no version: it removes the alias");
        }
        await registry.deleteAlias(name, alias);
        io.stdout.write(`Removed alias '${alias}' of model '${name}'\n`);
        return;
      }
      if (version === undefined) {
        throw new CliError(
          "'keel models set-alias' needs a version: keel models set-alias <name> <alias> <version>",
        );
      }
      await registry.setAlias(name, alias, version);
      io.stdout.write(`Alias '${alias}' of model '${name}' now points to version ${version}\n`);
    });
}
