import type { RegisteredModel } from '@keel/core';
import { Command } from 'commander';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { formatFields, formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel models get`. */
export interface ModelsGetFlags extends TrackingFlags {
  json?: boolean;
}

/**
 * `keel models get <name>`: one registered model — description, times, latest version per stage,
 * aliases and tags — as aligned text, or as MLflow's JSON registered model.
 *
 * @example
 * keel models get churn
 * keel models get churn --json | jq '.aliases'
 */
export function modelsGetCommand(io: CliIo): Command {
  return withTrackingUri(new Command('get'))
    .description('Show one registered model: latest versions, aliases and tags')
    .argument('<name>', 'registered model name')
    .option('--json', "print the model as MLflow's JSON")
    .action(async (name: string, flags: ModelsGetFlags) => {
      const model = await trackingClient(flags).registry.getRegisteredModel(name);
      if (flags.json) return writeJson(io, model);
      io.stdout.write(formatModel(model));
    });
}

/** Sections: fields, then latest versions, aliases and tags (each only when present). */
function formatModel(model: RegisteredModel): string {
  const sections = [
    formatFields([
      ['Model', model.name],
      ['Description', model.description || '-'],
      ['Created', formatTime(model.creation_timestamp)],
      ['Updated', formatTime(model.last_updated_timestamp)],
    ]),
  ];
  const section = (title: string, headers: string[], rows: string[][]): void => {
    if (rows.length > 0) sections.push(`${title}\n${formatTable(headers, rows)}`);
  };
  section(
    'Latest versions',
    ['STAGE', 'VERSION', 'STATUS', 'RUN ID', 'SOURCE'],
    (model.latest_versions ?? []).map((v) => [
      v.current_stage,
      v.version,
      v.status,
      v.run_id || '-',
      v.source,
    ]),
  );
  section(
    'Aliases',
    ['ALIAS', 'VERSION'],
    (model.aliases ?? []).map((a) => [a.alias, a.version]),
  );
  section(
    'Tags',
    ['KEY', 'VALUE'],
    (model.tags ?? []).map((t) => [t.key, t.value]),
  );
  return sections.join('\n');
}
