import type { ModelVersion } from '@keel/core';
import { Command } from 'commander';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { nameClause } from './model-cells.js';

/** Flags of `keel models versions`. */
export interface ModelsVersionsFlags extends TrackingFlags {
  filter?: string;
  json?: boolean;
}

/**
 * `keel models versions <name>`: every version of a registered model, newest first, as a table
 * (version, stage, aliases, run id, source, creation time) or a JSON array of MLflow model
 * versions. `--filter` narrows further (it is AND-ed with the model's name). A model without
 * versions prints just the header; a model that does not exist fails with RESOURCE_DOES_NOT_EXIST.
 *
 * @example
 * keel models versions churn
 * keel models versions churn --filter "run_id = '5f1c0e…'" --json
 */
export function modelsVersionsCommand(io: CliIo): Command {
  return withTrackingUri(new Command('versions'))
    .description('List the versions of a registered model, newest first')
    .argument('<name>', 'registered model name')
    .option('--filter <filter>', `extra search filter, e.g. "run_id = '…'" or "tags.validated = 'true'"`)
    .option('--json', 'print a JSON array of model versions')
    .action(async (name: string, flags: ModelsVersionsFlags) => {
      const { registry } = trackingClient(flags);
      // Searching an unknown name finds nothing; say the model is missing instead of printing nothing.
      await registry.getRegisteredModel(name);
      const filter =
        flags.filter === undefined ? nameClause(name) : `${nameClause(name)} AND ${flags.filter}`;
      const versions: ModelVersion[] = [];
      for await (const version of registry.iterateModelVersions({ filter })) versions.push(version);
      versions.sort((a, b) => Number(b.version) - Number(a.version));
      if (flags.json) return writeJson(io, versions);
      io.stdout.write(
        formatTable(
          ['VERSION', 'STAGE', 'ALIASES', 'RUN ID', 'SOURCE', 'CREATED'],
          versions.map((v) => [
            v.version,
            v.current_stage,
            (v.aliases ?? []).join(',') || '-',
            v.run_id || '-',
            v.source,
            formatTime(v.creation_timestamp),
          ]),
        ),
      );
    });
}
