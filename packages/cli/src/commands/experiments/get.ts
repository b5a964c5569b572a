import type { Experiment } from '@keel/core';
import { Command } from 'commander';
import { CliError } from '../../cli-error.js';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { formatFields, formatTable } from '../../table.js';
import {
  experimentByName,
  type TrackingFlags,
  trackingClient,
  withTrackingUri,
} from '../../tracking-client.js';

/** Flags of `keel experiments get`. */
export interface ExperimentsGetFlags extends TrackingFlags {
  name?: string;
  json?: boolean;
}

/**
 * `keel experiments get <id>` or `keel experiments get --name <name>`: one experiment (deleted
 * ones too), as fields and a tag table, or as MLflow's JSON.
 *
 * @example
 * keel experiments get 1
 * keel experiments get --name churn --json
 */
export function experimentsGetCommand(io: CliIo): Command {
  return withTrackingUri(new Command('get'))
    .description('Show one experiment, by id or --name')
    .argument('[id]', 'experiment id')
    .option('--name <name>', 'look the experiment up by name instead of id')
    .option('--json', "print the experiment as MLflow's JSON")
    .action(async (id: string | undefined, flags: ExperimentsGetFlags) => {
      const client = trackingClient(flags);
      let experiment: Experiment;
      if (id !== undefined && flags.name === undefined) experiment = await client.getExperiment(id);
      else if (id === undefined && flags.name !== undefined)
        experiment = await experimentByName(client, flags.name);
      else throw new CliError("'keel experiments get' needs an experiment id or --name <name>, not both");
      if (flags.json) return writeJson(io, experiment);
      io.stdout.write(formatExperiment(experiment));
    });
}

/** The human view: fields, then the tags (if any) as a table. */
function formatExperiment(experiment: Experiment): string {
  const fields = formatFields([
    ['Experiment', experiment.experiment_id],
    ['Name', experiment.name],
    ['Stage', experiment.lifecycle_stage],
    ['Artifact location', experiment.artifact_location],
    ['Created', formatTime(experiment.creation_time)],
    ['Last updated', formatTime(experiment.last_update_time)],
  ]);
  const tags = experiment.tags ?? [];
  if (tags.length === 0) return fields;
  return `${fields}\nTags\n${formatTable(
    ['KEY', 'VALUE'],
    tags.map((tag) => [tag.key, tag.value]),
  )}`;
}
