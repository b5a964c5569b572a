/**
 * The model server's Prometheus metrics (issue 5, "`/metrics`"): requests, errors and latency per
 * protocol and route, and the micro-batcher's batch sizes and queue depth. Every server owns its own
 * `prom-client` {@link Registry}, never the global default one, so two servers in one process (tests,
 * the benchmark, a deployment hosting several models) keep separate counts.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { BatchObserver } from './batcher.js';
import {
  type CounterSeries,
  type HistogramSeries,
  SeriesCounter,
  SeriesGauge,
  SeriesHistogram,
  type SeriesLabels,
} from './series-metrics.js';

/** Which protocol a route belongs to, the `protocol` label of the request metrics. */
export type ServingProtocol = 'mlflow' | 'oip' | 'metrics' | 'none';

/** Options of {@link ServingMetrics}. */
export interface ServingMetricsOptions {
  /**
   * Also export Node's process metrics (`process_cpu_seconds_total`, heap, event-loop lag, GC…) from
   * `prom-client`'s `collectDefaultMetrics`. They install process-wide observers that are never removed,
   * so turn them on for the one server of a process (`keel models serve`), not for every test server.
   * @default false
   */
  processMetrics?: boolean;
  /**
   * Label names added to every series, for a server that hosts several models (deployments label by
   * `deployment`, `model`, `version`, `arm`). Their values come with each observation:
   * {@link ServingMetrics.observeRequest}'s `labels` and {@link ServingMetrics.observer}.
   * @default []
   */
  labelNames?: readonly string[];
}

/** Values of {@link ServingMetricsOptions.labelNames}; a name left out is rendered without that label. */
export type ServingLabels = Readonly<Record<string, string>>;

/** The label values of a request with no extra labels. */
const NO_LABELS: ServingLabels = Object.freeze({});

/** The map `map` holds under `key`, made empty on first use. */
function entry<K, V, W>(map: Map<K, Map<V, W>>, key: K): Map<V, W> {
  let found = map.get(key);
  if (found === undefined) {
    found = new Map();
    map.set(key, found);
  }
  return found;
}

/** The series one answered request updates. */
interface RequestSeries {
  requests: CounterSeries;
  errors: CounterSeries | undefined;
  duration: HistogramSeries;
}

/** Request latency buckets, in seconds: 0.5 ms to 10 s. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Rows-per-model-call buckets: powers of two up to 4096. */
const ROW_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
/** Requests-per-model-call buckets. */
const REQUEST_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/**
 * The metrics of one model server; also the micro-batcher's {@link BatchObserver}. Exported series:
 *
 * | Name | Type | Labels | Meaning |
 * |---|---|---|---|
 * | `keel_serving_requests_total` | counter | protocol, route, status | HTTP requests answered |
 * | `keel_serving_request_errors_total` | counter | protocol, route, status | requests answered with status ≥ 400 |
 * | `keel_serving_request_duration_seconds` | histogram | protocol, route | time from request to response |
 * | `keel_serving_batch_rows` | histogram | – | rows per model call |
 * | `keel_serving_batch_requests` | histogram | – | requests merged into one model call |
 * | `keel_serving_queue_rows` | gauge | – | rows waiting for a model call |
 *
 * `route` is the route pattern (`/v2/models/:name/infer`), or `unmatched` for unknown paths, so the
 * label's values stay few whatever clients send. With {@link ServingMetricsOptions.labelNames}, every
 * series also carries those labels.
 *
 * @example
 * const metrics = new ServingMetrics();
 * metrics.observeRequest('mlflow', '/invocations', 200, 0.003);
 * const text = await metrics.render(); // Prometheus text format, metrics.contentType
 */
export class ServingMetrics implements BatchObserver {
  /** This server's registry; nothing else registers in it. */
  readonly registry: Registry;
  readonly #labelNames: readonly string[];
  readonly #requests: SeriesCounter;
  readonly #errors: SeriesCounter;
  readonly #duration: SeriesHistogram;
  readonly #batchRows: SeriesHistogram;
  readonly #batchRequests: SeriesHistogram;
  readonly #queueRows: SeriesGauge;
  /**
   * The series one answered request updates: by labels object (callers pass one object per label
   * set, such as a deployment arm's), then protocol, route and status.
   */
  readonly #requestSeries = new WeakMap<
    ServingLabels,
    Map<ServingProtocol, Map<string, Map<number, RequestSeries>>>
  >();
  /** The unlabelled observer behind {@link batch} and {@link queueDepth}, made on first use. */
  #default: BatchObserver | undefined;

  constructor(options: ServingMetricsOptions = {}) {
    const registry = new Registry();
    const registers = [registry];
    this.#labelNames = [...(options.labelNames ?? [])];
    this.registry = registry;
    this.#requests = new SeriesCounter({
      name: 'keel_serving_requests_total',
      help: 'HTTP requests answered by the model server, by protocol, route pattern and status code.',
      registers,
    });
    this.#errors = new SeriesCounter({
      name: 'keel_serving_request_errors_total',
      help: 'HTTP requests answered with a status of 400 or more, by protocol, route pattern and status code.',
      registers,
    });
    this.#duration = new SeriesHistogram({
      name: 'keel_serving_request_duration_seconds',
      help: 'Time from receiving a request to sending its response, in seconds.',
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#batchRows = new SeriesHistogram({
      name: 'keel_serving_batch_rows',
      help: 'Rows per model call (after micro-batching).',
      buckets: ROW_BUCKETS,
      registers,
    });
    this.#batchRequests = new SeriesHistogram({
      name: 'keel_serving_batch_requests',
      help: 'Requests merged into one model call.',
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.#queueRows = new SeriesGauge({
      name: 'keel_serving_queue_rows',
      help: 'Rows waiting in the micro-batcher queue for a model call.',
      registers,
    });
    // A server of one model exports its batch series from the start, at zero.
    if (this.#labelNames.length === 0) this.#default = this.observer({});
    if (options.processMetrics === true) collectDefaultMetrics({ register: registry });
  }

  /** Content type of {@link render}'s text (Prometheus text exposition format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Counts one answered request and its latency; `labels` gives the values of the extra label names.
   * The series are looked up by the identity of `labels` first: pass the same object for the same
   * label values (a new object per call works, but costs a lookup table per object).
   */
  observeRequest(
    protocol: ServingProtocol,
    route: string,
    status: number,
    seconds: number,
    labels: ServingLabels = NO_LABELS,
  ): void {
    let byProtocol = this.#requestSeries.get(labels);
    if (byProtocol === undefined) {
      byProtocol = new Map();
      this.#requestSeries.set(labels, byProtocol);
    }
    // No key string built per call: protocol and route are few constant strings, status a number.
    const byStatus = entry(entry(byProtocol, protocol), route);
    let series = byStatus.get(status);
    if (series === undefined) {
      const extra = this.#extraLabels(labels);
      const counted = { protocol, route, status: String(status), ...extra };
      series = {
        requests: this.#requests.series(counted),
        errors: status >= 400 ? this.#errors.series(counted) : undefined,
        duration: this.#duration.series({ protocol, route, ...extra }),
      };
      byStatus.set(status, series);
    }
    series.requests.inc();
    series.errors?.inc();
    series.duration.observe(seconds);
  }

  /**
   * A {@link BatchObserver} whose batch sizes and queue depth carry `labels` (values of the extra label
   * names), for one micro-batcher of a server that hosts several.
   *
   * @example
   * new MicroBatcher(model, { ...sizes, observer: metrics.observer({ deployment: 'fraud', model: 'fraud', version: '7', arm: 'canary' }) });
   */
  observer(labels: ServingLabels): BatchObserver {
    const extra = this.#extraLabels(labels);
    const batchRows = this.#batchRows.series(extra);
    const batchRequests = this.#batchRequests.series(extra);
    const queueRows = this.#queueRows.series(extra);
    return {
      batch: (rows, requests) => {
        batchRows.observe(rows);
        batchRequests.observe(requests);
      },
      queueDepth: (rows) => queueRows.set(rows),
    };
  }

  /** {@link BatchObserver}: one model call of `rows` rows merged from `requests` requests. */
  batch(rows: number, requests: number): void {
    this.#default ??= this.observer({});
    this.#default.batch(rows, requests);
  }

  /** {@link BatchObserver}: rows now waiting in the queue. */
  queueDepth(rows: number): void {
    this.#default ??= this.observer({});
    this.#default.queueDepth(rows);
  }

  /** `labels` restricted to the extra label names, in their order (a name left out is not rendered). */
  #extraLabels(labels: ServingLabels): SeriesLabels {
    const extra: Record<string, string> = {};
    for (const name of this.#labelNames) {
      const value = labels[name];
      if (value !== undefined) extra[name] = value;
    }
    return extra;
  }

  /** Every metric in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
