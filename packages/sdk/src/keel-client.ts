import type { AuditEvent, AuditEventQuery } from '@keel/core';
import {
  type DatasetInput,
  type DatasetSummary,
  type Experiment,
  type FileInfo,
  LIMITS,
  type Metric,
  type MetricWithRunId,
  type Run,
  type RunInfo,
  type RunStatus,
  TAG_PARENT_RUN_ID,
  toWireDouble,
  type ViewType,
} from '@keel/core';
import { ActiveRun } from './active-run.js';
import { ArtifactLocation } from './artifact-location.js';
import { ArtifactTransfer, type TransferOptions } from './artifact-transfer.js';
import {
  type LogBatchInput,
  type ParamValue,
  planLogBatches,
  type TagsInput,
  toKeyValues,
} from './batch-plan.js';
import { DeploymentsClient } from './deployments-client.js';
import { AlreadyExistsError, InvalidParameterError, NotFoundError } from './errors.js';
import { ExecutionsClient } from './executions-client.js';
import type { FlushOptions } from './metric-buffer.js';
import { type DownloadedModel, downloadModel } from './models/download-model.js';
import type { LoadedModel } from './models/local-model.js';
import { type LoggedModel, type LogModelOptions, logModel as logModelToRun } from './models/log-model.js';
import { type LoadModelOptions, openModel } from './models/open-model.js';
import { collectPages, paginate } from './paginate.js';
import { PredictionsClient } from './predictions-client.js';
import { RegistryClient } from './registry-client.js';
import { KeelRestClient } from './rest-client.js';
import { collectSystemTags } from './system-tags.js';
import type { TrackingCredentials } from './tracking-credentials.js';
import { ContentUploader } from './workflow-data.js';
import { WorkflowsClient } from './workflows-client.js';

/**
 * Options of {@link KeelClient}; resolved once and frozen. `username`, `password` and `token`
 * name the caller on every request (defaults: `KEEL_TRACKING_*`, then `MLFLOW_TRACKING_*`; see
 * `resolveCredentials`).
 * @example new KeelClient({ trackingUri: 'https://keel.example.com', username: 'alice', password: secret });
 */
export interface KeelClientOptions extends TrackingCredentials {
  /**
   * Base URL of the tracking server.
   * @default `KEEL_TRACKING_URI`, then `MLFLOW_TRACKING_URI`, then `http://127.0.0.1:5000`
   */
  trackingUri?: string;
  /**
   * Headers sent with every request; an `authorization` or `x-keel-user` here replaces the one
   * built from the credentials. @default {}
   */
  headers?: Record<string, string>;
  /** Retries after a connection failure or a 429/503 answer (exponential backoff). @default 3 */
  retries?: number;
  /**
   * Time allowed for one attempt of a call; for artifact transfers, the longest time without
   * any byte moving. @default 120000
   */
  timeoutMs?: number;
}

/** Options of {@link KeelClient.createExperiment}. */
export interface CreateExperimentOptions {
  /** Where the experiment's run artifacts go. @default the server's artifact root */
  artifactLocation?: string;
  tags?: Readonly<Record<string, string>>;
}

/** Options of {@link KeelClient.searchExperiments}. */
export interface SearchExperimentsOptions {
  /** MLflow filter, e.g. `name LIKE 'churn%'` or `tags.team = 'growth'`. */
  filter?: string;
  /** e.g. `['last_update_time DESC']`. */
  orderBy?: readonly string[];
  /** @default 'ACTIVE_ONLY' */
  viewType?: ViewType;
  /** Page size. @default 1000 */
  maxResults?: number;
  pageToken?: string;
}

/** Options of {@link KeelClient.createRun}. */
export interface CreateRunOptions {
  /** @default the Default experiment ('0') */
  experimentId?: string;
  /** @default a generated name such as `bold-owl-123` */
  runName?: string;
  /** Milliseconds since the epoch. @default now */
  startTime?: number;
  tags?: TagsInput;
}

/** Fields {@link KeelClient.updateRun} can change; absent fields are left as they are. */
export interface RunPatch {
  status?: RunStatus;
  endTime?: number;
  runName?: string;
}

/** Options of {@link KeelClient.searchRuns}. */
export interface SearchRunsOptions {
  experimentIds: readonly string[];
  /** MLflow filter, e.g. `metrics.rmse < 1 and params.model = 'tree'`. */
  filter?: string;
  /** e.g. `['metrics.rmse ASC']`. @default start_time DESC */
  orderBy?: readonly string[];
  /** @default 'ACTIVE_ONLY' */
  runViewType?: ViewType;
  /** Page size, up to 50000. @default 1000 */
  maxResults?: number;
  pageToken?: string;
}

/** Options of {@link KeelClient.getMetricHistoryBulkInterval}. */
export interface BulkIntervalOptions {
  /** First step of the range; give both bounds or neither. */
  startStep?: number;
  endStep?: number;
  /** Steps sampled per run, 1 to 2500. @default 2500 */
  maxResults?: number;
}

/** Filters of {@link KeelClient.listAuditEvents}; all optional, combined with AND. */
export type ListAuditEventsOptions = AuditEventQuery;

/**
 * Options of {@link KeelClient.startRun} and {@link KeelClient.withRun}.
 * @example await keel.startRun({ experiment: 'churn', name: 'xgb', tags: { team: 'growth' }, flush: { intervalMs: 500 } });
 */
export interface StartRunOptions {
  /** Experiment by name: used if it exists, created if not (like `mlflow.set_experiment`). */
  experiment?: string;
  /** Experiment by id. @default the parent's experiment, else the Default experiment ('0') */
  experimentId?: string;
  /** The run's name. @default generated by the server */
  name?: string;
  /** Extra tags; they override system tags of the same key. */
  tags?: Readonly<Record<string, string>>;
  /** Makes this a nested run: tag `mlflow.parentRunId` = the parent's id. */
  parent?: ActiveRun | string;
  /**
   * Resumes this existing run instead of creating one (set back to RUNNING; `name` and `tags`
   * are applied to it), like `mlflow.start_run(run_id=…)`. Without `parent`, it defaults to the
   * `KEEL_RUN_ID` environment variable, then `MLFLOW_RUN_ID`, which `keel run` (and `mlflow run`)
   * set for the program they start, so its runs land in the project's run. Pass `null` to always
   * create a run.
   */
  runId?: string | null;
  /** When buffered metrics are sent. @default { maxBatch: 1000, intervalMs: 1000 } */
  flush?: FlushOptions;
}

/** Most run ids whose artifact root the client remembers. */
const LOCATION_CACHE_SIZE = 10_000;

/**
 * The Keel (and MLflow) tracking client: every tracking endpoint as a typed method, pagination
 * helpers, artifact transfer through the server's proxy, and the fluent {@link startRun} /
 * {@link withRun} API for training code. Errors are typed (`NotFoundError`,
 * `InvalidParameterError`, `AlreadyExistsError`…, `KeelConnectionError` when the server cannot
 * be reached); connection failures and 429/503 answers are retried with backoff.
 *
 * @example
 * import { KeelClient } from '@keel/sdk';
 * const keel = new KeelClient({ trackingUri: 'http://127.0.0.1:5000' });
 * const result = await keel.withRun({ experiment: 'iris', name: 'baseline' }, async (run) => {
 *   await run.logParams({ lr: 0.1 });
 *   run.logMetric('accuracy', 0.93);
 *   return 0.93;
 * });
 */
export class KeelClient {
  /** The tracking server's base URL, without a trailing slash. */
  readonly trackingUri: string;
  /** The low-level HTTP client (`get`/`post` of any MLflow RPC path). */
  readonly rest: KeelRestClient;
  /**
   * The model registry: registered models, versions, stages, aliases and `models:/` URIs.
   * @example await keel.registry.setAlias('churn', 'champion', 3);
   */
  readonly registry: RegistryClient;
  /**
   * Deployments: named, versioned serving configurations with revisions and rollback.
   * @example await keel.deployments.rollback('fraud', 2);
   */
  readonly deployments: DeploymentsClient;
  /**
   * Prediction records of deployments: search, export, ground-truth feedback.
   * @example await keel.predictions.feedback(requestId, { fraud: true });
   */
  readonly predictions: PredictionsClient;
  /**
   * Workflows: register (bundle and upload a module), list, versions, default version.
   * @example const [train] = await keel.workflows.register('flows/train.ts');
   */
  readonly workflows: WorkflowsClient;
  /**
   * Workflow executions: launch, follow, cancel, relaunch, recover, logs.
   * @example const done = await keel.executions.wait((await keel.executions.launch('train', { data: './train.csv' })).execution_id);
   */
  readonly executions: ExecutionsClient;
  private readonly transfer: ArtifactTransfer;
  private readonly locations = new Map<string, ArtifactLocation>();
  private systemTags: Promise<Record<string, string>> | undefined;

  constructor(options: KeelClientOptions = {}) {
    this.rest = new KeelRestClient({
      ...(options.trackingUri === undefined ? {} : { trackingUri: options.trackingUri }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.retries === undefined ? {} : { maxRetries: options.retries }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    this.trackingUri = this.rest.options.trackingUri.replace(/\/+$/, '');
    this.registry = new RegistryClient(this.rest);
    this.deployments = new DeploymentsClient(this.rest);
    this.predictions = new PredictionsClient(this.rest);
    this.transfer = new ArtifactTransfer({
      rest: this.rest,
      locationOf: (runId) => this.locationOf(runId),
      list: (runId, path) => this.listArtifacts(runId, path),
    });
    this.workflows = new WorkflowsClient(this.rest, this);
    this.executions = new ExecutionsClient(
      this.rest,
      this.workflows,
      new ContentUploader(this.rest, this.transfer),
    );
  }

  // ---------------------------------------------------------------- experiments

  /**
   * Creates an experiment; returns its id. Throws `AlreadyExistsError` if the name is taken.
   * @example const id = await keel.createExperiment('churn', { tags: { team: 'growth' } });
   */
  async createExperiment(name: string, options: CreateExperimentOptions = {}): Promise<string> {
    const { experiment_id } = await this.rest.post<{ experiment_id: string }>('experiments/create', {
      name,
      ...(options.artifactLocation === undefined ? {} : { artifact_location: options.artifactLocation }),
      ...(options.tags === undefined ? {} : { tags: toKeyValues(options.tags) }),
    });
    return experiment_id;
  }

  /**
   * An experiment by id (deleted ones too). Throws `NotFoundError` if there is none.
   * @example const { name } = await keel.getExperiment('1');
   */
  async getExperiment(experimentId: string): Promise<Experiment> {
    const { experiment } = await this.rest.get<{ experiment: Experiment }>('experiments/get', {
      experiment_id: experimentId,
    });
    return experiment;
  }

  /**
   * An experiment by name, or `undefined` if there is none (the active one when an active and a
   * deleted experiment share the name).
   * @example const exp = await keel.getExperimentByName('churn');
   */
  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      const { experiment } = await this.rest.get<{ experiment: Experiment }>('experiments/get-by-name', {
        experiment_name: name,
      });
      return experiment;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * The id of the active experiment with this name, created if there is none (what
   * `mlflow.set_experiment` does). Throws `InvalidParameterError` if it exists but is deleted.
   * @example const id = await keel.getOrCreateExperiment('churn');
   */
  async getOrCreateExperiment(name: string): Promise<string> {
    const existing = await this.getExperimentByName(name);
    if (existing) {
      if (existing.lifecycle_stage === 'deleted') {
        throw new InvalidParameterError(
          'INVALID_PARAMETER_VALUE',
          `Experiment '${name}' (id ${existing.experiment_id}) is deleted: restore it or pick another name`,
          400,
        );
      }
      return existing.experiment_id;
    }
    try {
      return await this.createExperiment(name);
    } catch (error) {
      // Another process created it between the lookup and the create.
      if (!(error instanceof AlreadyExistsError)) throw error;
      const created = await this.getExperimentByName(name);
      if (!created) throw error;
      return created.experiment_id;
    }
  }

  /**
   * One page of experiments.
   * @example const { experiments, nextPageToken } = await keel.searchExperiments({ filter: "name LIKE 'churn%'" });
   */
  async searchExperiments(
    options: SearchExperimentsOptions = {},
  ): Promise<{ experiments: Experiment[]; nextPageToken?: string }> {
    const page = await this.rest.post<{ experiments?: Experiment[]; next_page_token?: string }>(
      'experiments/search',
      {
        max_results: options.maxResults ?? LIMITS.experimentsSearchDefault,
        ...(options.filter === undefined ? {} : { filter: options.filter }),
        ...(options.orderBy === undefined ? {} : { order_by: options.orderBy }),
        ...(options.viewType === undefined ? {} : { view_type: options.viewType }),
        ...(options.pageToken === undefined ? {} : { page_token: options.pageToken }),
      },
    );
    return {
      experiments: page.experiments ?? [],
      ...(page.next_page_token ? { nextPageToken: page.next_page_token } : {}),
    };
  }

  /**
   * Every matching experiment, fetching page after page as the loop goes.
   * @example for await (const exp of keel.iterateExperiments({ viewType: 'ALL' })) console.log(exp.name);
   */
  iterateExperiments(options: Omit<SearchExperimentsOptions, 'pageToken'> = {}): AsyncGenerator<Experiment> {
    return paginate(async (pageToken) => {
      const page = await this.searchExperiments({
        ...options,
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      return { items: page.experiments, nextPageToken: page.nextPageToken };
    });
  }

  /**
   * Renames an experiment (the new name must be free).
   * @example await keel.renameExperiment(id, 'churn-v2');
   */
  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    await this.rest.post('experiments/update', { experiment_id: experimentId, new_name: newName });
  }

  /**
   * Soft-deletes an experiment and its runs (restorable until garbage-collected).
   * @example await keel.deleteExperiment(id);
   */
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.rest.post('experiments/delete', { experiment_id: experimentId });
  }

  /**
   * Restores a deleted experiment.
   * @example await keel.restoreExperiment(id);
   */
  async restoreExperiment(experimentId: string): Promise<void> {
    await this.rest.post('experiments/restore', { experiment_id: experimentId });
  }

  /**
   * Sets (overwrites) an experiment tag.
   * @example await keel.setExperimentTag(id, 'team', 'growth');
   */
  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.rest.post('experiments/set-experiment-tag', { experiment_id: experimentId, key, value });
  }

  /**
   * Deletes an experiment tag.
   * @example await keel.deleteExperimentTag(id, 'team');
   */
  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    await this.rest.post('experiments/delete-experiment-tag', { experiment_id: experimentId, key });
  }

  // ---------------------------------------------------------------- runs

  /**
   * Creates a run (no system tags: {@link startRun} adds those). `start_time` defaults to now.
   * @example const run = await keel.createRun({ experimentId: id, runName: 'baseline' });
   */
  async createRun(options: CreateRunOptions = {}): Promise<Run> {
    const { run } = await this.rest.post<{ run: Run }>('runs/create', {
      start_time: options.startTime ?? Date.now(),
      ...(options.experimentId === undefined ? {} : { experiment_id: options.experimentId }),
      ...(options.runName === undefined ? {} : { run_name: options.runName }),
      ...(options.tags === undefined ? {} : { tags: toKeyValues(options.tags) }),
    });
    this.remember(run.info);
    return run;
  }

  /**
   * A run with its latest metrics, params, tags and inputs. Throws `NotFoundError` if there is none.
   * @example const { data } = await keel.getRun(runId);
   */
  async getRun(runId: string): Promise<Run> {
    const { run } = await this.rest.get<{ run: Run }>('runs/get', { run_id: runId });
    this.remember(run.info);
    return run;
  }

  /**
   * Changes a run's status, end time or name; returns the updated info.
   * @example await keel.updateRun(runId, { status: 'FINISHED', endTime: Date.now() });
   */
  async updateRun(runId: string, patch: RunPatch): Promise<RunInfo> {
    const { run_info } = await this.rest.post<{ run_info: RunInfo }>('runs/update', {
      run_id: runId,
      ...(patch.status === undefined ? {} : { status: patch.status }),
      ...(patch.endTime === undefined ? {} : { end_time: patch.endTime }),
      ...(patch.runName === undefined ? {} : { run_name: patch.runName }),
    });
    return run_info;
  }

  /**
   * Soft-deletes a run.
   * @example await keel.deleteRun(runId);
   */
  async deleteRun(runId: string): Promise<void> {
    await this.rest.post('runs/delete', { run_id: runId });
  }

  /**
   * Restores a deleted run.
   * @example await keel.restoreRun(runId);
   */
  async restoreRun(runId: string): Promise<void> {
    await this.rest.post('runs/restore', { run_id: runId });
  }

  /**
   * One page of runs of some experiments.
   * @example
   * const { runs } = await keel.searchRuns({ experimentIds: [id], filter: 'metrics.rmse < 1', orderBy: ['metrics.rmse'] });
   */
  async searchRuns(options: SearchRunsOptions): Promise<{ runs: Run[]; nextPageToken?: string }> {
    const page = await this.rest.post<{ runs?: Run[]; next_page_token?: string }>('runs/search', {
      experiment_ids: options.experimentIds,
      max_results: options.maxResults ?? LIMITS.runsSearchDefault,
      ...(options.filter === undefined ? {} : { filter: options.filter }),
      ...(options.orderBy === undefined ? {} : { order_by: options.orderBy }),
      ...(options.runViewType === undefined ? {} : { run_view_type: options.runViewType }),
      ...(options.pageToken === undefined ? {} : { page_token: options.pageToken }),
    });
    const runs = page.runs ?? [];
    for (const run of runs) this.remember(run.info);
    return { runs, ...(page.next_page_token ? { nextPageToken: page.next_page_token } : {}) };
  }

  /**
   * Every matching run, fetching page after page as the loop goes.
   * @example for await (const run of keel.iterateRuns({ experimentIds: [id] })) console.log(run.info.run_name);
   */
  iterateRuns(options: Omit<SearchRunsOptions, 'pageToken'>): AsyncGenerator<Run> {
    return paginate(async (pageToken) => {
      const page = await this.searchRuns({ ...options, ...(pageToken === undefined ? {} : { pageToken }) });
      return { items: page.runs, nextPageToken: page.nextPageToken };
    });
  }

  /**
   * Logs one metric point now (for many points, use {@link logBatch} or an `ActiveRun`).
   * NaN and ±Infinity are sent as MLflow does.
   * @example await keel.logMetric(runId, 'rmse', 0.71, { step: 10 });
   */
  async logMetric(
    runId: string,
    key: string,
    value: number,
    options: { step?: number; timestamp?: number } = {},
  ): Promise<void> {
    await this.rest.post('runs/log-metric', {
      run_id: runId,
      key,
      value: toWireDouble(value),
      timestamp: options.timestamp ?? Date.now(),
      step: options.step ?? 0,
    });
  }

  /**
   * Logs a param (write-once; numbers and booleans are sent as strings).
   * @example await keel.logParam(runId, 'lr', 0.01);
   */
  async logParam(runId: string, key: string, value: ParamValue): Promise<void> {
    await this.rest.post('runs/log-parameter', { run_id: runId, key, value: String(value) });
  }

  /**
   * Sets (overwrites) a run tag.
   * @example await keel.setTag(runId, 'team', 'growth');
   */
  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.rest.post('runs/set-tag', { run_id: runId, key, value });
  }

  /**
   * Deletes a run tag.
   * @example await keel.deleteTag(runId, 'team');
   */
  async deleteTag(runId: string, key: string): Promise<void> {
    await this.rest.post('runs/delete-tag', { run_id: runId, key });
  }

  /**
   * Logs any number of metrics, params and tags, split into `runs/log-batch` calls within
   * MLflow's limits (1000 metrics, 100 params, 100 tags, 1000 in all per call) and sent one after
   * the other, in order. Not atomic across calls: a failure leaves the earlier calls written.
   *
   * @example
   * await keel.logBatch(runId, {
   *   metrics: [{ key: 'loss', value: 0.5, step: 1 }],
   *   params: { lr: 0.01 },
   *   tags: { stage: 'dev' },
   * });
   */
  async logBatch(runId: string, batch: LogBatchInput): Promise<void> {
    for (const body of planLogBatches(batch)) {
      await this.rest.post('runs/log-batch', { run_id: runId, ...body });
    }
  }

  /**
   * Records dataset inputs of a run (1000 per call; more are split).
   * @example await keel.logInputs(runId, [{ dataset, tags: [{ key: 'mlflow.data.context', value: 'training' }] }]);
   */
  async logInputs(runId: string, datasets: readonly DatasetInput[]): Promise<void> {
    for (let i = 0; i < datasets.length; i += LIMITS.maxDatasetsPerLogInputs) {
      await this.rest.post('runs/log-inputs', {
        run_id: runId,
        datasets: datasets.slice(i, i + LIMITS.maxDatasetsPerLogInputs),
      });
    }
  }

  /**
   * Records an MLmodel (as MLflow's `runs/log-model` does: appended to the run's
   * `mlflow.log-model.history` tag) without uploading anything; {@link logModel} does both. It
   * needs `artifact_path`, `flavors`, `utc_time_created` and `run_id`.
   * @example
   * await keel.recordLoggedModel(runId, { run_id: runId, artifact_path: 'model', utc_time_created: '2024-05-01 12:00:00.000000', flavors: {} });
   */
  async recordLoggedModel(runId: string, model: object): Promise<void> {
    await this.rest.post('runs/log-model', { run_id: runId, model_json: JSON.stringify(model) });
  }

  /**
   * Logs a model to an active run: writes the model directory (`MLmodel`, the flavor's files, the
   * input example; see `saveModel`), uploads it to `artifactPath` (default `model`) in the run's
   * artifacts, records the `MLmodel` with `runs/log-model`, and registers a version when
   * `registeredModelName` is given. Returns the model's `runs:/` URI (and the version).
   *
   * @example
   * const { modelUri, registeredModelVersion } = await keel.logModel(runId, {
   *   flavor: 'onnx',
   *   onnx: exportMlp({ layers }),
   *   inputExample: [[0.1, 0.2, 0.3]],
   *   registeredModelName: 'fraud',
   * });
   */
  logModel(runId: string, options: LogModelOptions): Promise<LoggedModel>;
  /**
   * @deprecated Records an already written `MLmodel` only: use {@link recordLoggedModel}.
   */
  logModel(runId: string, model: object): Promise<undefined>;
  async logModel(runId: string, options: LogModelOptions | object): Promise<LoggedModel | undefined> {
    if (typeof (options as { flavor?: unknown }).flavor !== 'string') {
      await this.recordLoggedModel(runId, options);
      return undefined;
    }
    return logModelToRun(this, runId, options as LogModelOptions);
  }

  /**
   * Downloads the model a `runs:/` or `models:/` URI names (version, `@alias`, stage or `latest`)
   * into `destDir` and returns where it is: `<destDir>/<path>` for a run's folder, `destDir`
   * itself for a registered version (with MLflow's `registered_model_meta` file).
   * @example const { path } = await keel.downloadModel('models:/churn@champion', '/tmp/churn');
   */
  downloadModel(uri: string, destDir: string, options?: TransferOptions): Promise<DownloadedModel> {
    return downloadModel(this, uri, destDir, options);
  }

  /**
   * Loads a model in this process, ready to `predict()`: a local path, `file:` URL, `runs:/…` or
   * `models:/…` URI (downloaded first, to `options.dstPath` or a temporary folder that `close()`
   * removes). Needs `@keel/server` installed: the model runtime is imported from it on first use.
   *
   * @example
   * const model = await keel.loadModel('models:/fraud@champion');
   * const { tensors } = await model.predict([[0.1, 0.2, 0.3]]);
   * await model.close();
   */
  loadModel(uri: string, options?: LoadModelOptions): Promise<LoadedModel> {
    return openModel(this, uri, options);
  }

  /**
   * A metric's whole history in step order (fetched in pages of 25 000).
   * @example const points = await keel.getMetricHistory(runId, 'loss');
   */
  getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    return collectPages(async (pageToken) => {
      const page = await this.rest.get<{ metrics?: Metric[]; next_page_token?: string }>(
        'metrics/get-history',
        {
          run_id: runId,
          metric_key: key,
          max_results: LIMITS.metricHistoryMaxPage,
          page_token: pageToken,
        },
      );
      return { items: page.metrics ?? [], nextPageToken: page.next_page_token };
    });
  }

  /**
   * A sample of a metric's history for many runs (what charts use): at most about `maxResults`
   * steps per run, first and last step always kept. More than 100 runs are asked for 100 at a time.
   * @example const points = await keel.getMetricHistoryBulkInterval([a, b], 'loss', { maxResults: 320 });
   */
  async getMetricHistoryBulkInterval(
    runIds: readonly string[],
    key: string,
    options: BulkIntervalOptions = {},
  ): Promise<MetricWithRunId[]> {
    const all: MetricWithRunId[] = [];
    for (let i = 0; i < Math.max(runIds.length, 1); i += LIMITS.bulkIntervalMaxRuns) {
      const { metrics } = await this.rest.get<{ metrics?: MetricWithRunId[] }>(
        'metrics/get-history-bulk-interval',
        {
          run_ids: runIds.slice(i, i + LIMITS.bulkIntervalMaxRuns),
          metric_key: key,
          start_step: options.startStep,
          end_step: options.endStep,
          max_results: options.maxResults,
        },
      );
      all.push(...(metrics ?? []));
    }
    return all;
  }

  /**
   * The datasets logged to runs of these experiments (name, digest, context); more than 20
   * experiments are asked for 20 at a time.
   * @example const summaries = await keel.searchDatasets([id]);
   */
  async searchDatasets(experimentIds: readonly string[]): Promise<DatasetSummary[]> {
    const all: DatasetSummary[] = [];
    for (let i = 0; i < Math.max(experimentIds.length, 1); i += LIMITS.searchDatasetsMaxExperiments) {
      const { dataset_summaries } = await this.rest.post<{ dataset_summaries?: DatasetSummary[] }>(
        'experiments/search-datasets',
        { experiment_ids: experimentIds.slice(i, i + LIMITS.searchDatasetsMaxExperiments) },
      );
      all.push(...(dataset_summaries ?? []));
    }
    return all;
  }

  // ---------------------------------------------------------------- audit

  /**
   * One page of audit events, oldest first (Keel's `GET /api/2.0/keel/audit/events`).
   * @example const { events } = await keel.listAuditEvents({ entity: 'run', entityId: runId });
   */
  async listAuditEvents(
    options: ListAuditEventsOptions = {},
  ): Promise<{ events: AuditEvent[]; nextPageToken?: string }> {
    const url = new URL(`${this.trackingUri}/api/2.0/keel/audit/events`);
    const query: Record<string, string | number | undefined> = {
      entity: options.entity,
      entity_id: options.entityId,
      actor: options.actor,
      action: options.action,
      from: options.from,
      to: options.to,
      max_results: options.maxResults,
      page_token: options.pageToken,
    };
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    // Keel's own API lives beside MLflow's prefix, so the absolute-URL door is used.
    const { response, done } = await this.rest.request({ method: 'GET', url: url.href });
    let page: { events?: AuditEvent[]; next_page_token?: string };
    try {
      page = (await response.json()) as typeof page;
    } finally {
      done();
    }
    return {
      events: page.events ?? [],
      ...(page.next_page_token ? { nextPageToken: page.next_page_token } : {}),
    };
  }

  /**
   * Every matching audit event, oldest first, fetching page after page as the loop goes.
   * @example for await (const e of keel.iterateAuditEvents({ actor: 'alice' })) console.log(e.action);
   */
  iterateAuditEvents(options: Omit<ListAuditEventsOptions, 'pageToken'> = {}): AsyncGenerator<AuditEvent> {
    return paginate(async (pageToken) => {
      const page = await this.listAuditEvents({
        ...options,
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      return { items: page.events, nextPageToken: page.nextPageToken };
    });
  }

  // ---------------------------------------------------------------- artifacts

  /**
   * The files and folders directly below `path` in a run's artifacts (`artifacts/list`, all
   * pages); paths are relative to the run's artifact root.
   * @example const files = await keel.listArtifacts(runId, 'model');
   */
  listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    return collectPages(async (pageToken) => {
      const page = await this.rest.get<{ files?: FileInfo[]; next_page_token?: string }>('artifacts/list', {
        run_id: runId,
        path: path === undefined || path === '' ? undefined : path,
        page_token: pageToken,
      });
      return { items: page.files ?? [], nextPageToken: page.next_page_token };
    });
  }

  /**
   * Uploads a local file to `<artifactPath>/<file name>` in the run's artifacts, streamed
   * through the server's artifact proxy.
   * @example await keel.uploadArtifact(runId, 'out/report.html', 'reports');
   */
  uploadArtifact(
    runId: string,
    localFile: string,
    artifactPath?: string,
    options?: TransferOptions,
  ): Promise<void> {
    return this.transfer.uploadFile(runId, localFile, artifactPath, options);
  }

  /**
   * Uploads the contents of a local folder (recursively) below `artifactPath`, a few files at a
   * time (`options.concurrency`, default 4), reporting progress.
   * @example await keel.uploadArtifacts(runId, 'out/model', 'model', { onProgress: (p) => console.log(p.path) });
   */
  uploadArtifacts(
    runId: string,
    localDir: string,
    artifactPath?: string,
    options?: TransferOptions,
  ): Promise<void> {
    return this.transfer.uploadDirectory(runId, localDir, artifactPath, options);
  }

  /**
   * Downloads an artifact file or folder (recursively; `''` for everything) to
   * `<destDir>/<artifactPath>` and returns that local path. Files are streamed to disk and
   * appear only when complete.
   * @example const local = await keel.downloadArtifacts(runId, 'model', '/tmp/downloads');
   */
  downloadArtifacts(
    runId: string,
    artifactPath: string,
    destDir: string,
    options?: TransferOptions,
  ): Promise<string> {
    return this.transfer.download(runId, artifactPath, destDir, options);
  }

  // ---------------------------------------------------------------- fluent

  /**
   * Starts a run for training code and returns it as an {@link ActiveRun}: resolves the
   * experiment (by name, created if missing), records the system tags (`mlflow.user`,
   * `mlflow.source.*`, git commit/branch/repo URL, `keel.env.*`) and, for a nested run,
   * `mlflow.parentRunId`.
   *
   * @example
   * const run = await keel.startRun({ experiment: 'churn', name: 'xgb', tags: { team: 'growth' } });
   * const child = await keel.startRun({ parent: run, name: 'fold-1' });
   */
  async startRun(options: StartRunOptions = {}): Promise<ActiveRun> {
    if (options.experiment !== undefined && options.experimentId !== undefined) {
      throw new TypeError('Give startRun either `experiment` (a name) or `experimentId`, not both');
    }
    const resumeId = options.runId === undefined ? runIdFromEnv(options) : options.runId;
    if (resumeId !== null && resumeId !== undefined) return this.resumeRun(resumeId, options);
    const parentId = typeof options.parent === 'string' ? options.parent : options.parent?.runId;
    let experimentId = options.experimentId;
    if (options.experiment !== undefined) experimentId = await this.getOrCreateExperiment(options.experiment);
    if (experimentId === undefined && options.parent !== undefined) {
      experimentId =
        typeof options.parent === 'string'
          ? (await this.getRun(options.parent)).info.experiment_id
          : options.parent.experimentId;
    }
    this.systemTags ??= collectSystemTags();
    const tags: Record<string, string> = {
      ...(await this.systemTags),
      ...(parentId === undefined ? {} : { [TAG_PARENT_RUN_ID]: parentId }),
      ...options.tags,
    };
    const run = await this.createRun({
      tags,
      ...(experimentId === undefined ? {} : { experimentId }),
      ...(options.name === undefined ? {} : { runName: options.name }),
    });
    return new ActiveRun(this, run.info, options.flush);
  }

  /** {@link startRun} on an existing run: checks it, sets it RUNNING, applies `name` and `tags`. */
  private async resumeRun(runId: string, options: StartRunOptions): Promise<ActiveRun> {
    const { info } = await this.getRun(runId);
    if (info.lifecycle_stage === 'deleted') {
      throw new TypeError(`Cannot resume run ${runId}: it is deleted`);
    }
    const experimentId =
      options.experiment !== undefined
        ? await this.getOrCreateExperiment(options.experiment)
        : options.experimentId;
    if (experimentId !== undefined && experimentId !== info.experiment_id) {
      throw new TypeError(
        `Cannot resume run ${runId} in experiment ${experimentId}: it belongs to experiment ${info.experiment_id}`,
      );
    }
    const updated = await this.updateRun(runId, {
      status: 'RUNNING',
      ...(options.name === undefined ? {} : { runName: options.name }),
    });
    const tags = Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value }));
    if (tags.length > 0) await this.logBatch(runId, { tags });
    return new ActiveRun(this, { ...info, ...updated }, options.flush);
  }

  /**
   * Runs `fn` inside a new run: the run ends FINISHED when `fn` resolves, FAILED when it throws
   * (the error is rethrown). Returns what `fn` returns.
   *
   * @example
   * const accuracy = await keel.withRun({ experiment: 'iris' }, async (run) => {
   *   run.logMetric('accuracy', 0.95);
   *   return 0.95;
   * });
   */
  async withRun<T>(options: StartRunOptions, fn: (run: ActiveRun) => Promise<T>): Promise<T> {
    const run = await this.startRun(options);
    let result: T;
    try {
      result = await fn(run);
    } catch (error) {
      await run.end('FAILED').catch((endError: unknown) => {
        process.emitWarning(
          `Run ${run.runId} failed and could not be ended cleanly: ${endError instanceof Error ? endError.message : String(endError)}`,
          'KeelWarning',
        );
      });
      throw error;
    }
    await run.end('FINISHED');
    return result;
  }

  // ---------------------------------------------------------------- internals

  private remember(info: RunInfo): void {
    if (this.locations.has(info.run_id)) return;
    let location: ArtifactLocation;
    try {
      location = ArtifactLocation.parse(info.artifact_uri, this.trackingUri);
    } catch {
      return;
    }
    if (this.locations.size >= LOCATION_CACHE_SIZE) this.locations.clear();
    this.locations.set(info.run_id, location);
  }

  /** The run's artifact root behind the proxy (cached; a run's artifact URI never changes). */
  private async locationOf(runId: string): Promise<ArtifactLocation> {
    const known = this.locations.get(runId);
    if (known) return known;
    const run = await this.getRun(runId);
    return ArtifactLocation.parse(run.info.artifact_uri, this.trackingUri);
  }
}

/** The run a program was started for (`keel run`, `mlflow run`), unless a nested run is asked for. */
function runIdFromEnv(options: StartRunOptions): string | undefined {
  if (options.parent !== undefined) return undefined;
  const fromEnv = process.env.KEEL_RUN_ID || process.env.MLFLOW_RUN_ID;
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}
