import { Command } from 'commander';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel workflows versions`. */
export interface WorkflowsVersionsFlags extends TrackingFlags {
  json?: boolean;
}

/**
 * `keel workflows versions <name>`: a workflow's versions (all pages), newest first, with which
 * one is the default, who registered it and when — or a JSON array.
 *
 * @example
 * keel workflows versions train
 */
export function workflowsVersionsCommand(io: CliIo): Command {
  return withTrackingUri(new Command('versions'))
    .description("List a workflow's versions, newest first")
    .argument('<name>', 'workflow name')
    .option('--json', 'print a JSON array of versions')
    .action(async (name: string, flags: WorkflowsVersionsFlags) => {
      const versions = [];
      for await (const version of trackingClient(flags).workflows.versions(name)) versions.push(version);
      if (flags.json) return writeJson(io, versions);
      io.stdout.write(
        formatTable(
          ['VERSION', 'DEFAULT', 'CREATED', 'BY', 'DESCRIPTION'],
          versions.map((v) => [
            v.version,
            v.is_default ? 'yes' : 'no',
            formatTime(v.created_at),
            v.created_by || '-',
            v.description || '-',
          ]),
        ),
      );
    });
}
