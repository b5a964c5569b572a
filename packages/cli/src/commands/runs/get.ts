import { type Experiment, type Run, TAG_DATASET_CONTEXT } from '@keel/core';
import { Command } from 'commander';
import { formatDuration, formatNumber, formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { formatFields, formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel runs get`. */
export interface RunsGetFlags extends TrackingFlags {
  json?: boolean;
}

/**
 * `keel runs get <run-id>`: one run — its info, params, latest metrics, tags and dataset inputs —
 * as sections of aligned text, or as MLflow's JSON (`{info, data, inputs, outputs}`).
 *
 * @example
 * keel runs get 5f1c0e…
 * keel runs get 5f1c0e… --json | jq '.data.metrics'
 */
export function runsGetCommand(io: CliIo): Command {
  return withTrackingUri(new Command('get'))
    .description('Show one run: info, params, latest metrics, tags and inputs')
    .argument('<run-id>', 'run id')
    .option('--json', "print the run as MLflow's JSON")
    .action(async (runId: string, flags: RunsGetFlags) => {
      const client = trackingClient(flags);
      const run = await client.getRun(runId);
      if (flags.json) return writeJson(io, run);
      // The name is a convenience: a failure to fetch it must not hide the run.
      const experiment = await client.getExperiment(run.info.experiment_id).catch(() => undefined);
      io.stdout.write(formatRun(run, experiment));
    });
}

/** Sections: info fields, then params, metrics, tags and inputs (each only when present). */
function formatRun(run: Run, experiment: Experiment | undefined): string {
  const { info, data, inputs } = run;
  const sections = [
    formatFields([
      ['Run', info.run_id],
      ['Name', info.run_name],
      ['Experiment', experiment ? `${info.experiment_id} (${experiment.name})` : info.experiment_id],
      ['Status', info.status],
      ['Stage', info.lifecycle_stage],
      ['Start time', formatTime(info.start_time)],
      ['End time', formatTime(info.end_time)],
      ['Duration', formatDuration(info.start_time, info.end_time)],
      ['Artifact URI', info.artifact_uri],
    ]),
  ];
  const section = (title: string, headers: string[], rows: string[][]): void => {
    if (rows.length > 0) sections.push(`${title}\n${formatTable(headers, rows)}`);
  };
  section(
    'Params',
    ['KEY', 'VALUE'],
    (data.params ?? []).map((param) => [param.key, param.value]),
  );
  section(
    'Metrics (latest)',
    ['KEY', 'VALUE', 'STEP', 'TIME'],
    (data.metrics ?? []).map((metric) => [
      metric.key,
      formatNumber(metric.value),
      String(metric.step),
      formatTime(metric.timestamp),
    ]),
  );
  section(
    'Tags',
    ['KEY', 'VALUE'],
    (data.tags ?? []).map((tag) => [tag.key, tag.value]),
  );
  section(
    'Inputs',
    ['DATASET', 'DIGEST', 'CONTEXT', 'SOURCE TYPE', 'SOURCE'],
    (inputs.dataset_inputs ?? []).map(({ dataset, tags }) => [
      dataset.name,
      dataset.digest,
      tags?.find((tag) => tag.key === TAG_DATASET_CONTEXT)?.value ?? '-',
      dataset.source_type,
      dataset.source,
    ]),
  );
  return sections.join('\n');
}
