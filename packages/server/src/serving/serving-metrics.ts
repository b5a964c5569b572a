/**
 * The model server's Prometheus metrics (issue 5, "`/metrics`"): requests, errors and latency per
 * protocol and route, and the micro-batcher's batch sizes and queue depth. Every server owns its own
 * `prom-client` {@link Registry}, never the global default one, so two servers in one process (tests,
 * the benchmark, a deployment hosting several models) keep separate counts.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchObserver } from './batcher.js';

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
 * label's values stay few whatever clients send.
 *
 * @example
 * const metrics = new ServingMetrics();
 * metrics.observeRequest('mlflow', '/invocations', 200, 0.003);
 * const text = await metrics.render(); // Prometheus text format, metrics.contentType
 */
export class ServingMetrics implements BatchObserver {
  /** This server's registry; nothing else registers in it. */
  readonly registry: Registry;
  readonly #requests: Counter<'protocol' | 'route' | 'status'>;
  readonly #errors: Counter<'protocol' | 'route' | 'status'>;
  readonly #duration: Histogram<'protocol' | 'route'>;
  readonly #batchRows: Histogram;
  readonly #batchRequests: Histogram;
  readonly #queueRows: Gauge;

  constructor(options: ServingMetricsOptions = {}) {
    const registry = new Registry();
    const registers = [registry];
    this.registry = registry;
    this.#requests = new Counter({
      name: 'keel_serving_requests_total',
      help: 'HTTP requests answered by the model server, by protocol, route pattern and status code.',
      labelNames: ['protocol', 'route', 'status'],
      registers,
    });
    this.#errors = new Counter({
      name: 'keel_serving_request_errors_total',
      help: 'HTTP requests answered with a status of 400 or more, by protocol, route pattern and status code.',
      labelNames: ['protocol', 'route', 'status'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'keel_serving_request_duration_seconds',
      help: 'Time from receiving a request to sending its response, in seconds.',
      labelNames: ['protocol', 'route'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#batchRows = new Histogram({
      name: 'keel_serving_batch_rows',
      help: 'Rows per model call (after micro-batching).',
      buckets: ROW_BUCKETS,
      registers,
    });
    this.#batchRequests = new Histogram({
      name: 'keel_serving_batch_requests',
      help: 'Requests merged into one model call.',
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.#queueRows = new Gauge({
      name: 'keel_serving_queue_rows',
      help: 'Rows waiting in the micro-batcher queue for a model call.',
      registers,
    });
    if (options.processMetrics === true) collectDefaultMetrics({ register: registry });
  }

  /** Content type of {@link render}'s text (Prometheus text exposition format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Counts one answered request and its latency. */
  observeRequest(protocol: ServingProtocol, route: string, status: number, seconds: number): void {
    const labels = { protocol, route, status: String(status) };
    this.#requests.inc(labels);
    if (status >= 400) this.#errors.inc(labels);
    this.#duration.observe({ protocol, route }, seconds);
  }

  /** {@link BatchObserver}: one model call of `rows` rows merged from `requests` requests. */
  batch(rows: number, requests: number): void {
    this.#batchRows.observe(rows);
    this.#batchRequests.observe(requests);
  }

  /** {@link BatchObserver}: rows now waiting in the queue. */
  queueDepth(rows: number): void {
    this.#queueRows.set(rows);
  }

  /** Every metric in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
