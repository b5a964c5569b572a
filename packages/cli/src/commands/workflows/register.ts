import { resolve } from 'node:path';
import type { RegisteredWorkflow } from '@keel/sdk';
import { Command } from 'commander';
import { writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { progressBar } from '../../progress.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel workflows register`. */
export interface WorkflowsRegisterFlags extends TrackingFlags {
  version?: string;
  description?: string;
  json?: boolean;
}

/**
 * `keel workflows register <file>`: bundles a TypeScript/JavaScript module into a code package,
 * uploads it, and registers every workflow it exports (version = content hash unless
 * `--version`). Prints one line per workflow — registered, or already there unchanged — or the
 * registered versions as JSON.
 *
 * @example
 * keel workflows register flows/train.ts
 * keel workflows register flows/train.ts --version v3 --description 'weekly retrain'
 */
export function workflowsRegisterCommand(io: CliIo): Command {
  return withTrackingUri(new Command('register'))
    .description('Bundle a workflow module and register the workflows it exports')
    .argument('<file>', 'the module (.ts, .mts, .js, .mjs) exporting workflows')
    .option('--version <version>', 'version of every workflow registered (default: its content hash)')
    .option('--description <text>', "description of the versions (default: each workflow's own)")
    .option('--json', 'print the registered workflow versions as JSON')
    .action(async (file: string, flags: WorkflowsRegisterFlags) => {
      const bar = progressBar(io.stderr, 'Uploading');
      let registered: RegisteredWorkflow[];
      try {
        registered = await trackingClient(flags).workflows.register(resolve(file), {
          ...(flags.version === undefined ? {} : { version: flags.version }),
          ...(flags.description === undefined ? {} : { description: flags.description }),
          transfer: { onProgress: bar.onProgress },
        });
      } finally {
        // The lines below say what happened; the bar only showed the upload going.
        bar.abort();
      }
      if (flags.json)
        return writeJson(
          io,
          registered.map((r) => ({ ...r.workflowVersion, created: r.created })),
        );
      for (const { workflowVersion: v, created } of registered) {
        const isDefault = v.is_default ? ' (default)' : '';
        io.stdout.write(
          created
            ? `Registered workflow '${v.name}' version ${v.version}${isDefault}\n`
            : `Workflow '${v.name}' version ${v.version} is already registered, unchanged${isDefault}\n`,
        );
      }
    });
}
