import {
  type Dataset,
  type ModelVersion,
  type RunInfo,
  type RunStatus,
  TAG_DATASET_CONTEXT,
  validateKey,
} from '@keel/core';
import type { TransferOptions } from './artifact-transfer.js';
import type { ParamValue, TagsInput } from './batch-plan.js';
import { InvalidParameterError } from './errors.js';
import { type ExitParticipant, type ExitSignal, exitHooks } from './exit-hooks.js';
import type { KeelClient, StartRunOptions } from './keel-client.js';
import { type FlushOptions, MetricBuffer } from './metric-buffer.js';
import { type LoggedModel, type LogModelOptions, registerRunModel } from './models/log-model.js';

/** The statuses a run can be ended with. */
export type EndStatus = Extract<RunStatus, 'FINISHED' | 'FAILED' | 'KILLED'>;

/** Options of {@link ActiveRun.logMetric}. */
export interface LogMetricOptions {
  /** The training step. @default 0 */
  step?: number;
  /** Milliseconds since the epoch. @default the time of the call */
  timestamp?: number;
}

/** Options of {@link ActiveRun.logInput}. */
export interface LogInputOptions {
  /** The dataset's role, stored as the input tag `mlflow.data.context`, e.g. `training`. */
  context?: string;
}

/** Options of {@link ActiveRun.registerModel}. */
export interface RegisterModelOptions {
  /** Tags of the new version. @default none */
  tags?: TagsInput;
  /** Description of the new version. @default none */
  description?: string;
}

/**
 * A run being logged to, as `KeelClient.startRun` returns it: the fluent API for training code.
 *
 * Metrics are buffered and sent in `runs/log-batch` calls in the background (see
 * `StartRunOptions.flush`), so `logMetric` returns at once; params and tags are sent immediately.
 * `end()` flushes and marks the run FINISHED (or the given status). A run that is never ended
 * is flushed and ended when the process exits: FINISHED (FAILED if `process.exitCode` is non-zero)
 * on `beforeExit`, KILLED on SIGINT/SIGTERM.
 *
 * @example
 * const run = await keel.startRun({ experiment: 'churn', name: 'baseline' });
 * await run.logParams({ lr: 0.01, epochs: 10 });
 * for (let epoch = 0; epoch < 10; epoch++) run.logMetric('loss', 1 / (epoch + 1), { step: epoch });
 * await run.end();
 */
export class ActiveRun {
  /** The run's id. */
  readonly runId: string;
  /** The experiment the run belongs to. */
  readonly experimentId: string;
  /** The client the run logs through. */
  readonly client: KeelClient;
  /** The run as the server created it (name, start time, artifact URI…); not refreshed. */
  readonly info: RunInfo;
  private readonly buffer: MetricBuffer;
  private readonly unregister: () => void;
  private ending: Promise<void> | undefined;

  /** Use `KeelClient.startRun`, which creates the run and records its system tags. */
  constructor(client: KeelClient, info: RunInfo, flush: FlushOptions = {}) {
    this.client = client;
    this.info = info;
    this.runId = info.run_id;
    this.experimentId = info.experiment_id;
    this.buffer = new MetricBuffer(this.runId, (metrics) => client.logBatch(this.runId, { metrics }), flush);
    const participant: ExitParticipant = { onExit: (reason) => this.finishAtExit(reason) };
    this.unregister = exitHooks.register(participant);
  }

  /** Whether `end()` was called. */
  get ended(): boolean {
    return this.ending !== undefined;
  }

  /**
   * Logs a param now (params are write-once: the same value again is fine, another value fails).
   * @example await run.logParam('lr', 0.01);
   */
  async logParam(key: string, value: ParamValue): Promise<void> {
    this.checkOpen();
    return this.client.logParam(this.runId, key, value);
  }

  /**
   * Logs many params now, in as few `log-batch` calls as the limits allow.
   * @example await run.logParams({ lr: 0.01, optimizer: 'adam', shuffle: true });
   */
  async logParams(params: Readonly<Record<string, ParamValue>>): Promise<void> {
    this.checkOpen();
    return this.client.logBatch(this.runId, { params });
  }

  /**
   * Sets a tag now (overwrites).
   * @example await run.setTag('team', 'growth');
   */
  async setTag(key: string, value: string): Promise<void> {
    this.checkOpen();
    return this.client.setTag(this.runId, key, value);
  }

  /**
   * Sets many tags now.
   * @example await run.setTags({ team: 'growth', stage: 'dev' });
   */
  async setTags(tags: Readonly<Record<string, string>>): Promise<void> {
    this.checkOpen();
    return this.client.logBatch(this.runId, { tags });
  }

  /**
   * Buffers a metric point and returns at once; it is sent in the background (see the class
   * notes). The key is checked now: an invalid name throws {@link InvalidParameterError} here
   * rather than failing a later batch.
   *
   * @example
   * run.logMetric('loss', 0.42, { step: 3 });
   */
  logMetric(key: string, value: number, options: LogMetricOptions = {}): void {
    this.checkOpen();
    checkMetricKey(key);
    if (typeof value !== 'number')
      throw new TypeError(`Metric '${key}' must be a number, got ${typeof value}`);
    this.buffer.add({
      key,
      value,
      timestamp: options.timestamp ?? Date.now(),
      step: options.step ?? 0,
    });
  }

  /**
   * Buffers several metrics at the same step and timestamp.
   * @example run.logMetrics({ loss: 0.42, accuracy: 0.91 }, { step: 3 });
   */
  logMetrics(metrics: Readonly<Record<string, number>>, options: LogMetricOptions = {}): void {
    const timestamp = options.timestamp ?? Date.now();
    for (const [key, value] of Object.entries(metrics)) {
      this.logMetric(key, value, { ...options, timestamp });
    }
  }

  /**
   * Uploads a local file into the run's artifacts, as `<artifactPath>/<file name>`.
   * @example await run.logArtifact('out/confusion.png', 'plots');
   */
  async logArtifact(localFile: string, artifactPath?: string, options?: TransferOptions): Promise<void> {
    this.checkOpen();
    return this.client.uploadArtifact(this.runId, localFile, artifactPath, options);
  }

  /**
   * Uploads the contents of a local folder (recursively) below `artifactPath`.
   * @example await run.logArtifacts('out/model', 'model', { onProgress: (p) => console.log(p.path, p.bytes) });
   */
  async logArtifacts(localDir: string, artifactPath?: string, options?: TransferOptions): Promise<void> {
    this.checkOpen();
    return this.client.uploadArtifacts(this.runId, localDir, artifactPath, options);
  }

  /**
   * Records a dataset the run used, with its role as the `mlflow.data.context` input tag.
   * @example await run.logInput(await describeDataset('train.csv', { name: 'train' }), { context: 'training' });
   */
  async logInput(dataset: Dataset, options: LogInputOptions = {}): Promise<void> {
    this.checkOpen();
    const { name, digest, source_type, source, schema, profile } = dataset;
    return this.client.logInputs(this.runId, [
      {
        dataset: {
          name,
          digest,
          source_type,
          source,
          ...(schema === undefined ? {} : { schema }),
          ...(profile === undefined ? {} : { profile }),
        },
        tags: options.context === undefined ? [] : [{ key: TAG_DATASET_CONTEXT, value: options.context }],
      },
    ]);
  }

  /**
   * Registers the files at `artifactPath` in this run's artifacts as a new version of the
   * registered model `name` (created first if it does not exist), with source
   * `runs:/<runId>/<artifactPath>` and this run's id, and returns the version. The server copies
   * the files, so later changes to the run's artifacts do not affect the version. Allowed after
   * `end()`: registering is not logging.
   *
   * @example
   * await run.logArtifacts('out/model', 'model');
   * const version = await run.registerModel('model', 'churn');
   * await keel.registry.setAlias('churn', 'champion', version.version);
   */
  async registerModel(
    artifactPath: string,
    name: string,
    options: RegisterModelOptions = {},
  ): Promise<ModelVersion> {
    return registerRunModel(this.client, this.runId, artifactPath, name, options);
  }

  /**
   * Logs a model to this run (see `KeelClient.logModel`): writes the model directory, uploads it to
   * `artifactPath` (default `model`), records its `MLmodel` and, with `registeredModelName`,
   * registers a version. Returns the `runs:/` URI to load it with.
   *
   * @example
   * const { modelUri } = await run.logModel({
   *   flavor: 'onnx',
   *   onnx: exportLinearModel({ weights, bias, activation: 'softmax' }),
   *   inputExample: rows.slice(0, 5),
   *   registeredModelName: 'iris-classifier',
   * });
   */
  async logModel(options: LogModelOptions): Promise<LoggedModel> {
    this.checkOpen();
    return this.client.logModel(this.runId, options);
  }

  /**
   * Starts a nested run: tagged `mlflow.parentRunId` = this run, in this run's experiment
   * unless options say otherwise.
   * @example const fold = await run.startChild({ name: 'fold-1' });
   */
  startChild(options: Omit<StartRunOptions, 'parent'> = {}): Promise<ActiveRun> {
    return this.client.startRun({ ...options, parent: this });
  }

  /**
   * Sends every buffered metric and waits for it; throws a `MetricFlushError` if any background
   * send failed since the last flush.
   * @example await run.flush();
   */
  flush(): Promise<void> {
    return this.buffer.flush();
  }

  /**
   * Flushes the metrics, then sets the run's status and end time. Calling it again returns the
   * first call's promise. The run is ended even when the flush failed; the flush error is thrown
   * afterwards.
   *
   * @example
   * await run.end();          // FINISHED
   * await run.end('FAILED');
   */
  end(status: EndStatus = 'FINISHED'): Promise<void> {
    this.ending ??= this.finish(status);
    return this.ending;
  }

  private async finish(status: EndStatus): Promise<void> {
    let flushError: unknown;
    try {
      await this.buffer.flush();
    } catch (error) {
      flushError = error;
    }
    this.buffer.stopTimer();
    try {
      await this.client.updateRun(this.runId, { status, endTime: Date.now() });
    } finally {
      this.unregister();
    }
    if (flushError !== undefined) throw flushError;
  }

  private async finishAtExit(reason: 'beforeExit' | ExitSignal): Promise<void> {
    const status: EndStatus = reason === 'beforeExit' ? (process.exitCode ? 'FAILED' : 'FINISHED') : 'KILLED';
    try {
      await this.end(status);
    } catch (error) {
      process.stderr.write(
        `keel: could not finish run ${this.runId} at exit: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    }
  }

  private checkOpen(): void {
    if (this.ending !== undefined)
      throw new Error(`Run ${this.runId} has ended; start a new run to log more`);
  }
}

function checkMetricKey(key: string): void {
  try {
    validateKey(key, 'metric name');
  } catch (error) {
    throw new InvalidParameterError(
      'INVALID_PARAMETER_VALUE',
      error instanceof Error ? error.message : String(error),
      400,
    );
  }
}
