/**
 * Prometheus metrics of the deployments a server hosts (issue 6, "Operations"): the model server's
 * series (`keel_serving_*`, see `ServingMetrics`) labelled by deployment, arm and model version, and
 * the deployments' admission control and load status (`keel_deployment_*`).
 */
import { Counter, Gauge } from 'prom-client';
import type { PredictionRecorderStats } from '../../predictions/prediction-recorder.js';
import type { BatchObserver } from '../../serving/batcher.js';
import { type GaugeSeries, SeriesGauge } from '../../serving/series-metrics.js';
import { ServingMetrics, type ServingProtocol } from '../../serving/serving-metrics.js';
import type { DeploymentServingState, DeploymentStatusObserver } from '../runtime/deployment-status.js';

/** Label names added to every `keel_serving_*` series of a deployment server. */
export const DEPLOYMENT_METRIC_LABELS = ['deployment', 'arm', 'model', 'version'] as const;

/**
 * Why a call was refused before any arm answered it: the `reason` label of
 * `keel_deployment_rejected_requests_total`. `concurrency`: the deployment had
 * `resources.maxConcurrentRequests` calls in flight (429).
 */
export type RejectionReason = 'concurrency';

/** Who answered a call, as the metrics label it; a field left out is labelled `""`. */
export interface DeploymentMetricLabels {
  deployment?: string;
  /** Route name, or `shadow`. */
  arm?: string;
  modelName?: string;
  modelVersion?: string;
}

/**
 * The metrics of every deployment on one server, in their own registry (never prom-client's global
 * one). Series, each with the labels `deployment`, `arm`, `model`, `version` besides the model
 * server's own:
 *
 * | Name | Type | Other labels |
 * |---|---|---|
 * | `keel_serving_requests_total` | counter | protocol (`mlflow`, `oip`), route, status |
 * | `keel_serving_request_errors_total` | counter | protocol, route, status (≥ 400) |
 * | `keel_serving_request_duration_seconds` | histogram | protocol, route |
 * | `keel_serving_batch_rows` / `keel_serving_batch_requests` | histogram | – |
 * | `keel_serving_queue_rows` | gauge | – |
 *
 * and the admission control's series, labelled by `deployment` only:
 *
 * | Name | Type | Other labels |
 * |---|---|---|
 * | `keel_deployment_rejected_requests_total` | counter | reason ({@link RejectionReason}) |
 * | `keel_deployment_requests_in_flight` | gauge | – |
 *
 * A call refused before an arm was chosen (unknown deployment, not ready) has empty `arm`, `model` and
 * `version` (and an empty `deployment` when the deployment does not exist, so that clients cannot
 * create series by inventing names). Batch sizes and queue depth come from each arm's micro-batcher
 * through {@link batchObserver}, which the deployment runtime calls when it builds an arm.
 *
 * Two more series, labelled by `deployment` only, come from the runtime (pass the metrics as its
 * `statusObserver`):
 *
 * | Name | Type | Meaning |
 * |---|---|---|
 * | `keel_deployment_degraded` | gauge | 1 while an older snapshot serves because the latest failed to resolve or load, else 0 |
 * | `keel_deployment_load_failures_total` | counter | failed attempts to resolve or load the deployment |
 *
 * Both appear (at 0) once the runtime lists the deployment and go when it stops hosting it.
 *
 * And the prediction recorder's, read at each scrape from the recorder given to
 * {@link observeRecorder} (this process's records, all deployments together):
 *
 * | Name | Type | Meaning |
 * |---|---|---|
 * | `keel_prediction_records_total` | counter | records by `outcome`: `recorded` (calls recorded), `stored` (rows inserted), `spilled` (written to a spill file while the store was behind or down), `dropped` (lost, each one logged) |
 * | `keel_prediction_records_buffered` | gauge | records held in memory, not yet in the store |
 *
 * @example
 * const metrics = new DeploymentMetrics();
 * const runtime = new DeploymentRuntime({ ..., batchObserver: (labels) => metrics.batchObserver(labels) });
 * registerDeploymentServingRoutes(app, { runtime, recorder, metrics });
 */
export class DeploymentMetrics implements DeploymentStatusObserver {
  readonly #metrics: ServingMetrics;
  /** Label values per labels object (an arm keeps one object; see `ServingArm.labels`). */
  readonly #labelValues = new WeakMap<DeploymentMetricLabels, Record<string, string>>();
  readonly #degraded: Gauge<'deployment'>;
  readonly #loadFailures: Counter<'deployment'>;
  readonly #rejected: Counter<'deployment' | 'reason'>;
  readonly #inFlight: SeriesGauge;
  /** The in-flight series of each deployment: set twice per call, so looked up once. */
  readonly #inFlightSeries = new Map<string, GaugeSeries>();
  #recorder: { stats(): PredictionRecorderStats } | undefined;
  #recorderWatched = false;

  /** @param options.processMetrics also export Node's process metrics (once per process). @default false */
  constructor(options: { processMetrics?: boolean } = {}) {
    this.#metrics = new ServingMetrics({
      labelNames: DEPLOYMENT_METRIC_LABELS,
      processMetrics: options.processMetrics ?? false,
    });
    const registers = [this.#metrics.registry];
    this.#rejected = new Counter({
      name: 'keel_deployment_rejected_requests_total',
      help: 'Calls to a deployment refused before any arm answered them, by deployment and reason.',
      labelNames: ['deployment', 'reason'],
      registers,
    });
    this.#inFlight = new SeriesGauge({
      name: 'keel_deployment_requests_in_flight',
      help: 'Calls a deployment is answering now (admitted and not yet answered), by deployment.',
      registers,
    });
    this.#degraded = new Gauge({
      name: 'keel_deployment_degraded',
      help: 'Whether an older snapshot serves the deployment because its latest revision (or reference) failed to resolve or load (1) or not (0).',
      labelNames: ['deployment'],
      registers,
    });
    this.#loadFailures = new Counter({
      name: 'keel_deployment_load_failures_total',
      help: 'Failed attempts to resolve or load the models of the deployment.',
      labelNames: ['deployment'],
      registers,
    });
  }

  /**
   * Exports `recorder`'s counters (see the class comment), read at each scrape. Call once; a second
   * call replaces the recorder read.
   */
  observeRecorder(recorder: { stats(): PredictionRecorderStats }): void {
    const registers = [this.#metrics.registry];
    this.#recorder = recorder;
    if (this.#recorderWatched) return;
    this.#recorderWatched = true;
    const metrics = this;
    // A counter only grows: each scrape adds what happened since the last one.
    const exported = { recorded: 0, stored: 0, spilled: 0, dropped: 0 };
    const outcomes = Object.keys(exported) as (keyof typeof exported)[];
    new Counter({
      name: 'keel_prediction_records_total',
      help: 'Prediction records of this process by outcome: recorded calls, rows stored, records spilled to a file, records dropped.',
      labelNames: ['outcome'],
      registers,
      collect() {
        const stats = metrics.#recorder?.stats();
        for (const outcome of outcomes) {
          const delta = Math.max(0, (stats?.[outcome] ?? 0) - exported[outcome]);
          exported[outcome] += delta;
          this.inc({ outcome }, delta);
        }
      },
    });
    new Gauge({
      name: 'keel_prediction_records_buffered',
      help: 'Prediction records held in memory by this process, not yet in the store.',
      registers,
      collect() {
        this.set(metrics.#recorder?.stats().buffered ?? 0);
      },
    });
  }

  /** Counts one failed attempt to resolve or load `deployment`. */
  loadFailed(deployment: string): void {
    this.#loadFailures.inc({ deployment });
  }

  /** Sets `keel_deployment_degraded` of `deployment`; `undefined` drops its load series. */
  stateChanged(deployment: string, state: DeploymentServingState | undefined): void {
    if (state === undefined) {
      this.#degraded.remove({ deployment });
      this.#loadFailures.remove({ deployment });
      return;
    }
    this.#degraded.set({ deployment }, state === 'degraded' ? 1 : 0);
    // Exported at 0 from the start, so that rate() and increase() see the first failure.
    this.#loadFailures.inc({ deployment }, 0);
  }

  /** Counts one call to `deployment` refused for `reason`. */
  observeRejection(deployment: string, reason: RejectionReason): void {
    this.#rejected.inc({ deployment, reason });
  }

  /** Sets how many calls `deployment` is answering now. */
  setInFlight(deployment: string, calls: number): void {
    let series = this.#inFlightSeries.get(deployment);
    if (series === undefined) {
      series = this.#inFlight.series({ deployment });
      this.#inFlightSeries.set(deployment, series);
    }
    series.set(calls);
  }

  /** Counts one answered call and its latency. */
  observeRequest(
    labels: DeploymentMetricLabels,
    protocol: ServingProtocol,
    route: string,
    status: number,
    seconds: number,
  ): void {
    let values = this.#labelValues.get(labels);
    if (values === undefined) {
      values = labelValues(labels);
      this.#labelValues.set(labels, values);
    }
    this.#metrics.observeRequest(protocol, route, status, seconds, values);
  }

  /** The observer of one arm's micro-batcher: its batch sizes and queue depth, labelled by arm. */
  batchObserver(labels: DeploymentMetricLabels): BatchObserver {
    return this.#metrics.observer(labelValues(labels));
  }

  /** Content type of {@link render}'s text. */
  get contentType(): string {
    return this.#metrics.contentType;
  }

  /** Every series in the Prometheus text format. */
  render(): Promise<string> {
    return this.#metrics.render();
  }
}

function labelValues(labels: DeploymentMetricLabels): Record<string, string> {
  return {
    deployment: labels.deployment ?? '',
    arm: labels.arm ?? '',
    model: labels.modelName ?? '',
    version: labels.modelVersion ?? '',
  };
}
