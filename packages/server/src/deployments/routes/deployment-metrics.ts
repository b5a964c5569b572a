/**
 * Prometheus metrics of the deployments a server hosts (issue 6, "Operations"): the model server's
 * series (`keel_serving_*`, see `ServingMetrics`) labelled by deployment, arm and model version.
 */
import type { BatchObserver } from '../../serving/batcher.js';
import { ServingMetrics, type ServingProtocol } from '../../serving/serving-metrics.js';

/** Label names added to every `keel_serving_*` series of a deployment server. */
export const DEPLOYMENT_METRIC_LABELS = ['deployment', 'arm', 'model', 'version'] as const;

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
 * A call refused before an arm was chosen (unknown deployment, not ready) has empty `arm`, `model` and
 * `version` (and an empty `deployment` when the deployment does not exist, so that clients cannot
 * create series by inventing names). Batch sizes and queue depth come from each arm's micro-batcher
 * through {@link batchObserver}, which the deployment runtime calls when it builds an arm.
 *
 * @example
 * const metrics = new DeploymentMetrics();
 * const runtime = new DeploymentRuntime({ ..., batchObserver: (labels) => metrics.batchObserver(labels) });
 * registerDeploymentServingRoutes(app, { runtime, recorder, metrics });
 */
export class DeploymentMetrics {
  readonly #metrics: ServingMetrics;

  /** @param options.processMetrics also export Node's process metrics (once per process). @default false */
  constructor(options: { processMetrics?: boolean } = {}) {
    this.#metrics = new ServingMetrics({
      labelNames: DEPLOYMENT_METRIC_LABELS,
      processMetrics: options.processMetrics ?? false,
    });
  }

  /** Counts one answered call and its latency. */
  observeRequest(
    labels: DeploymentMetricLabels,
    protocol: ServingProtocol,
    route: string,
    status: number,
    seconds: number,
  ): void {
    this.#metrics.observeRequest(protocol, route, status, seconds, labelValues(labels));
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
