import { randomUUID } from 'node:crypto';
import {
  type Dataset,
  invalidParameter,
  type KeyValue,
  LIMITS,
  notFound,
  parseFilter,
  parseOrderBy,
  RUN_SEARCH_SCHEMA,
  type Run,
  type RunInfo,
  type RunStatus,
  TAG_LOG_MODEL_HISTORY,
  TAG_RUN_NAME,
  TAG_USER,
  toWireDouble,
  type ViewType,
  validateKey,
  validateLength,
  validateRunId,
} from '@keel/core';
import type { Transaction } from 'kysely';
import type { Actor } from '../../changes/change.js';
import { planBatch } from '../../store/batch-plan.js';
import type { BatchWriter, MetricPoint } from '../../store/batch-writer.js';
import type { StoredExperiment } from '../../store/experiment-store.js';
import type { MetricStore } from '../../store/metric-store.js';
import type { RunDetails, RunStore } from '../../store/run-store.js';
import type { Database, RunRow } from '../../store/schema.js';
import type { TrackingBatch, TrackingBatchWriter } from '../../store/tracking-batch.js';
import type { Clock } from '../clock.js';
import { decodePageToken, pageOf } from '../page-token.js';
import { type ExperimentService, parseExperimentId, stagesOf } from './experiment-service.js';
import { generateRunName } from './run-names.js';

/** Everything the run service needs. */
export interface RunServiceOptions {
  runs: RunStore;
  metrics: MetricStore;
  batches: BatchWriter;
  experiments: ExperimentService;
  clock: Clock;
}

export interface CreateRunInput {
  experimentId?: string;
  userId?: string;
  runName?: string;
  startTime?: number;
  tags?: readonly KeyValue[];
}

/** The experiment a new run goes to (see {@link RunService.newRun}). */
export type RunExperiment = Pick<StoredExperiment, 'experimentId' | 'artifactLocation'>;

export interface LogBatchInput {
  runId: string;
  metrics?: readonly MetricPoint[];
  params?: readonly KeyValue[];
  tags?: readonly KeyValue[];
}

export interface DatasetInputInput {
  dataset: Dataset;
  tags?: readonly KeyValue[];
}

/**
 * MLflow's run rules: creation, lifecycle, write-once params, batch limits, search. Every
 * state-changing method takes the {@link Actor} its change is recorded under.
 */
export class RunService implements TrackingBatchWriter {
  constructor(private readonly options: RunServiceOptions) {}

  async create(input: CreateRunInput, actor: Actor): Promise<Run> {
    const experiment = await this.options.experiments.requireActive(input.experimentId ?? '0');
    const { row, tags } = this.newRun(input, experiment);
    await this.options.runs.insert(row, tags, actor);
    return this.get(row.run_uuid);
  }

  /**
   * The row and tags {@link create} stores for `input` (validated, named, with a fresh id) in
   * `experiment`, which the caller found active; nothing is written. For writers that store runs
   * in a {@link TrackingBatch}.
   */
  newRun(input: CreateRunInput, experiment: RunExperiment): { row: RunRow; tags: KeyValue[] } {
    const tags = [...(input.tags ?? [])];
    for (const tag of tags) validateRunTag(tag.key, tag.value);
    const nameTag = tags.find((t) => t.key === TAG_RUN_NAME)?.value;
    if (input.runName && nameTag !== undefined && nameTag !== input.runName) {
      throw invalidParameter(
        `Both 'run_name' ('${input.runName}') and tag '${TAG_RUN_NAME}' ('${nameTag}') were given and they differ`,
      );
    }
    const name = input.runName || nameTag || generateRunName();
    if (nameTag === undefined) tags.push({ key: TAG_RUN_NAME, value: name });
    const userId = input.userId || tags.find((t) => t.key === TAG_USER)?.value || '';
    const runId = randomUUID().replaceAll('-', '');
    const row: RunRow = {
      run_uuid: runId,
      name,
      experiment_id: experiment.experimentId,
      user_id: userId,
      status: 'RUNNING',
      start_time: input.startTime ?? this.options.clock(),
      end_time: null,
      artifact_uri: `${experiment.artifactLocation.replace(/\/+$/, '')}/${runId}/artifacts`,
      lifecycle_stage: 'active',
      deleted_time: null,
    };
    return { row, tags: dedupeTags(tags) };
  }

  /**
   * Params to store with a new run (see {@link newRun}), validated and de-duplicated as log-batch
   * does it: a key given twice with two values is INVALID_PARAMETER_VALUE.
   */
  newParams(params: readonly KeyValue[]): KeyValue[] {
    for (const p of params) validateParam(p.key, p.value);
    const plan = planBatch({ runId: '', metrics: [], params, tags: [] });
    const conflict = plan.conflicts[0];
    if (conflict) {
      throw invalidParameter(
        `Param with key='${conflict.key}' was given twice, with values '${conflict.oldValue}' and '${conflict.newValue}'`,
      );
    }
    return plan.params;
  }

  /** Stores a batch of runs prepared with {@link newRun} and ends inside `trx` (see `RunStore.writeBatch`). */
  writeBatch(trx: Transaction<Database>, batch: TrackingBatch): Promise<void> {
    return this.options.runs.writeBatch(trx, batch);
  }

  async get(runId: string): Promise<Run> {
    const row = await this.requireRun(runId);
    const [run] = await this.assemble([row]);
    return run as Run;
  }

  /** The stored run, or RESOURCE_DOES_NOT_EXIST. */
  async requireRun(runId: string): Promise<RunRow> {
    validateRunId(runId);
    const row = await this.options.runs.get(runId);
    if (!row) throw notFound(`Run with id=${runId} not found`);
    return row;
  }

  /** The run, which must be active: MLflow refuses writes to deleted runs. */
  async requireActiveRun(runId: string): Promise<RunRow> {
    const row = await this.requireRun(runId);
    if (row.lifecycle_stage !== 'active') {
      throw invalidParameter(
        `The run ${runId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`,
      );
    }
    return row;
  }

  async update(
    input: {
      runId: string;
      status?: RunStatus;
      endTime?: number;
      runName?: string;
    },
    actor: Actor,
  ): Promise<RunInfo> {
    await this.requireActiveRun(input.runId);
    if (input.runName !== undefined) validateRunTag(TAG_RUN_NAME, input.runName);
    await this.options.runs.update(
      input.runId,
      {
        ...(input.status !== undefined ? { status: input.status } : {}),
        ...(input.endTime !== undefined ? { endTime: input.endTime } : {}),
        ...(input.runName ? { name: input.runName } : {}),
      },
      TAG_RUN_NAME,
      actor,
    );
    return (await this.get(input.runId)).info;
  }

  async delete(runId: string, actor: Actor): Promise<void> {
    await this.requireRun(runId);
    await this.options.runs.setLifecycleStage(runId, 'deleted', this.options.clock(), actor);
  }

  async restore(runId: string, actor: Actor): Promise<void> {
    const row = await this.requireRun(runId);
    if (row.lifecycle_stage === 'deleted') {
      await this.options.experiments.requireActive(String(row.experiment_id));
    }
    await this.options.runs.setLifecycleStage(runId, 'active', this.options.clock(), actor);
  }

  /**
   * Logs metrics, params and tags atomically with MLflow's limits: at most 1000 metrics, 100
   * params, 100 tags and 1000 entities in all. Nothing is written when any item is invalid or a
   * param would change value. Each tag is recorded as `run_tag.set`; metrics and params are not
   * recorded.
   */
  async logBatch(input: LogBatchInput, actor: Actor): Promise<void> {
    const metrics = input.metrics ?? [];
    const params = input.params ?? [];
    const tags = input.tags ?? [];
    checkBatchLimits(metrics.length, params.length, tags.length);
    for (const m of metrics) validateMetric(m);
    for (const p of params) validateParam(p.key, p.value);
    for (const t of tags) validateRunTag(t.key, t.value);
    await this.requireActiveRun(input.runId);
    const { conflicts } = await this.options.batches.write(
      { runId: input.runId, metrics, params, tags },
      actor,
    );
    const conflict = conflicts[0];
    if (conflict) {
      throw invalidParameter(
        `Changing param values is not allowed. Param with key='${conflict.key}' was already logged with value='${conflict.oldValue}' for run ID='${input.runId}'. Attempted logging new value '${conflict.newValue}'.`,
      );
    }
    const runName = tags.findLast((t) => t.key === TAG_RUN_NAME)?.value;
    if (runName) await this.options.runs.mirrorRunName(input.runId, runName);
  }

  async deleteTag(runId: string, key: string, actor: Actor): Promise<void> {
    await this.requireActiveRun(runId);
    if (!(await this.options.runs.deleteTag(runId, key, actor))) {
      throw notFound(`No tag with name: ${key} in run with id ${runId}`);
    }
  }

  /** Records dataset inputs (with their tags, e.g. `mlflow.data.context`) and logged-model inputs. */
  async logInputs(
    runId: string,
    datasets: readonly DatasetInputInput[],
    modelIds: readonly string[],
    actor: Actor,
  ): Promise<void> {
    if (datasets.length > LIMITS.maxDatasetsPerLogInputs) {
      throw invalidParameter(
        `Invalid value for parameter 'datasets': ${datasets.length} datasets exceed the limit of ${LIMITS.maxDatasetsPerLogInputs}`,
      );
    }
    datasets.forEach(validateDatasetInput);
    for (const [index, id] of modelIds.entries()) validateModelId(id, `models[${index}].model_id`);
    const run = await this.requireActiveRun(runId);
    await this.options.runs.logInputs(
      runId,
      run.experiment_id,
      datasets.map((d) => ({
        dataset: {
          name: d.dataset.name,
          digest: d.dataset.digest,
          source_type: d.dataset.source_type,
          source: d.dataset.source,
          schema: d.dataset.schema ?? null,
          profile: d.dataset.profile ?? null,
        },
        tags: [...(d.tags ?? [])],
      })),
      [...new Set(modelIds)],
      actor,
    );
  }

  /** Records logged models the run produced, each at a step (MLflow 3's `runs/outputs`). */
  async logOutputs(
    runId: string,
    models: readonly { modelId: string; step: number }[],
    actor: Actor,
  ): Promise<void> {
    for (const [index, m] of models.entries()) validateModelId(m.modelId, `models[${index}].model_id`);
    await this.requireActiveRun(runId);
    await this.options.runs.logModelOutputs(runId, models, actor);
  }

  /**
   * Appends an MLmodel (as JSON) to the run's `mlflow.log-model.history` tag, recorded as
   * `run.model_logged` with the model's artifact path and flavors.
   */
  async logModel(runId: string, modelJson: string, actor: Actor): Promise<void> {
    let model: unknown;
    try {
      model = JSON.parse(modelJson);
    } catch {
      throw invalidParameter(`Invalid value for parameter 'model_json': not valid JSON`);
    }
    if (typeof model !== 'object' || model === null || Array.isArray(model)) {
      throw invalidParameter(`Invalid value for parameter 'model_json': expected a JSON object`);
    }
    const missing = ['artifact_path', 'flavors', 'utc_time_created', 'run_id'].filter((k) => !(k in model));
    if (missing.length > 0) {
      throw invalidParameter(
        `Invalid value for parameter 'model_json': missing field(s) ${missing.join(', ')}`,
      );
    }
    await this.requireActiveRun(runId);
    const fields = model as Record<string, unknown>;
    const flavors = fields.flavors;
    await this.options.runs.updateTag(
      runId,
      TAG_LOG_MODEL_HISTORY,
      (previous) => {
        let history: unknown[] = [];
        if (previous) {
          try {
            const parsed = JSON.parse(previous) as unknown;
            if (Array.isArray(parsed)) history = parsed;
          } catch {
            // A hand-written, unparsable tag is replaced rather than blocking model logging.
          }
        }
        history.push(model);
        return JSON.stringify(history);
      },
      actor,
      {
        action: 'run.model_logged',
        entity: 'run',
        entityId: runId,
        after: {
          artifact_path: fields.artifact_path,
          flavors: typeof flavors === 'object' && flavors !== null ? Object.keys(flavors).sort() : [],
          ...(typeof fields.model_uuid === 'string' ? { model_uuid: fields.model_uuid } : {}),
        },
      },
    );
  }

  async search(input: {
    experimentIds?: readonly string[];
    filter?: string;
    runViewType?: ViewType;
    maxResults?: number;
    orderBy?: readonly string[];
    pageToken?: string;
  }): Promise<{ runs: Run[]; nextPageToken?: string }> {
    const maxResults = input.maxResults ?? LIMITS.runsSearchDefault;
    if (maxResults < 1 || maxResults > LIMITS.runsSearchMax) {
      throw invalidParameter(
        `Invalid value ${maxResults} for parameter 'max_results' supplied: it must be at most ${LIMITS.runsSearchMax}`,
      );
    }
    const filter = parseFilter(input.filter, RUN_SEARCH_SCHEMA);
    const orderBy = parseOrderBy(input.orderBy, RUN_SEARCH_SCHEMA);
    const offset = decodePageToken(input.pageToken);
    const experimentIds = (input.experimentIds ?? []).flatMap((id) => {
      const numeric = parseExperimentId(id, 'experiment_ids');
      return numeric === undefined ? [] : [numeric];
    });
    const ids = await this.options.runs.search({
      experimentIds,
      stages: stagesOf(input.runViewType),
      orderBy,
      offset,
      limit: maxResults + 1,
      ...(filter ? { filter } : {}),
    });
    const page = pageOf(ids, offset, maxResults);
    const runs = await this.assemble(await this.options.runs.getMany(page.items));
    return { runs, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
  }

  async searchDatasets(experimentIds: readonly string[]) {
    if (experimentIds.length === 0 || experimentIds.length > LIMITS.searchDatasetsMaxExperiments) {
      throw invalidParameter(
        `Invalid value for parameter 'experiment_ids': between 1 and ${LIMITS.searchDatasetsMaxExperiments} ids are required`,
      );
    }
    const ids = experimentIds.flatMap((id) => {
      const numeric = parseExperimentId(id, 'experiment_ids');
      return numeric === undefined ? [] : [numeric];
    });
    if (ids.length === 0) return [];
    const rows = await this.options.runs.datasetSummaries(ids, 1000);
    return rows.map((r) => ({
      experiment_id: String(r.experiment_id),
      name: r.name,
      digest: r.digest,
      ...(r.context !== null ? { context: r.context } : {}),
    }));
  }

  /** Builds wire runs from rows with one query per kind of child row. */
  private async assemble(rows: readonly RunRow[]): Promise<Run[]> {
    const ids = rows.map((r) => r.run_uuid);
    const [details, latest] = await Promise.all([
      this.options.runs.details(ids),
      this.options.metrics.latest(ids),
    ]);
    const latestByRun = new Map<string, typeof latest>();
    for (const m of latest) {
      const list = latestByRun.get(m.run_uuid);
      if (list) list.push(m);
      else latestByRun.set(m.run_uuid, [m]);
    }
    return rows.map((row) => toWireRun(row, details, latestByRun.get(row.run_uuid) ?? []));
  }
}

function toWireRun(
  row: RunRow,
  details: RunDetails,
  latest: readonly { key: string; value: number | null; timestamp: number; step: number; is_nan: number }[],
): Run {
  return {
    info: {
      run_id: row.run_uuid,
      run_uuid: row.run_uuid,
      run_name: row.name,
      experiment_id: String(row.experiment_id),
      user_id: row.user_id,
      status: row.status as RunStatus,
      start_time: row.start_time,
      ...(row.end_time !== null ? { end_time: row.end_time } : {}),
      artifact_uri: row.artifact_uri,
      lifecycle_stage: row.lifecycle_stage as RunInfo['lifecycle_stage'],
    },
    data: {
      metrics: latest.map((m) => ({
        key: m.key,
        value: toWireDouble(m.is_nan ? Number.NaN : Number(m.value)),
        timestamp: Number(m.timestamp),
        step: Number(m.step),
      })),
      params: details.params.get(row.run_uuid) ?? [],
      tags: details.tags.get(row.run_uuid) ?? [],
    },
    outputs: {
      model_outputs: details.modelOutputs.get(row.run_uuid) ?? [],
    },
    inputs: {
      model_inputs: (details.modelInputs.get(row.run_uuid) ?? []).map((model_id) => ({ model_id })),
      dataset_inputs: (details.inputs.get(row.run_uuid) ?? []).map((input) => ({
        tags: input.tags,
        dataset: {
          name: input.dataset.name,
          digest: input.dataset.digest,
          source_type: input.dataset.source_type,
          source: input.dataset.source,
          ...(input.dataset.schema !== null ? { schema: input.dataset.schema } : {}),
          ...(input.dataset.profile !== null ? { profile: input.dataset.profile } : {}),
        },
      })),
    },
  };
}

function checkBatchLimits(metrics: number, params: number, tags: number): void {
  const over = (what: string, count: number, limit: number) =>
    invalidParameter(
      `A batch logging request can contain at most ${limit} ${what}. Got ${count} ${what}. Please split up ${what} across multiple requests and try again.`,
    );
  if (metrics > LIMITS.maxMetricsPerBatch) throw over('metrics', metrics, LIMITS.maxMetricsPerBatch);
  if (params > LIMITS.maxParamsPerBatch) throw over('params', params, LIMITS.maxParamsPerBatch);
  if (tags > LIMITS.maxTagsPerBatch) throw over('tags', tags, LIMITS.maxTagsPerBatch);
  const total = metrics + params + tags;
  if (total > LIMITS.maxEntitiesPerBatch) throw over('entities', total, LIMITS.maxEntitiesPerBatch);
}

function validateMetric(m: MetricPoint): void {
  validateKey(m.key, 'metric name');
  if (m.timestamp < 0)
    throw invalidParameter(`Invalid timestamp ${m.timestamp} for metric '${m.key}': must be ≥ 0`);
}

function validateParam(key: string, value: string): void {
  validateKey(key, 'param name');
  validateLength(value, LIMITS.maxParamValueLength, `param '${key}'`);
}

function validateRunTag(key: string, value: string): void {
  validateKey(key, 'tag name');
  validateLength(value, LIMITS.maxRunTagValueLength, `tag '${key}'`);
}

function validateDatasetInput(input: DatasetInputInput, index: number): void {
  const d = input.dataset;
  const field = `datasets[${index}].dataset`;
  validateLength(d.name, LIMITS.maxDatasetNameLength, `${field}.name`);
  validateLength(d.digest, LIMITS.maxDatasetDigestLength, `${field}.digest`);
  validateLength(d.source, LIMITS.maxDatasetSourceLength, `${field}.source`);
  if (d.schema !== undefined) validateLength(d.schema, LIMITS.maxDatasetSchemaLength, `${field}.schema`);
  if (d.profile !== undefined) validateLength(d.profile, LIMITS.maxDatasetProfileLength, `${field}.profile`);
  for (const tag of input.tags ?? []) {
    if (tag.key === '')
      throw invalidParameter(`Missing value for required parameter 'datasets[${index}].tags.key'`);
    validateLength(tag.key, LIMITS.maxInputTagKeyLength, `datasets[${index}] input tag key`);
    validateLength(tag.value, LIMITS.maxInputTagValueLength, `datasets[${index}] input tag '${tag.key}'`);
  }
}

const MODEL_ID = /^[\w-]{1,255}$/;

function validateModelId(id: string, field: string): void {
  if (!MODEL_ID.test(id))
    throw invalidParameter(`Invalid value '${id.slice(0, 100)}' for parameter '${field}'`);
}

/** Later duplicates of a tag key win, as in a sequence of set-tag calls. */
function dedupeTags(tags: readonly KeyValue[]): KeyValue[] {
  return [...new Map(tags.map((t) => [t.key, t])).values()];
}
