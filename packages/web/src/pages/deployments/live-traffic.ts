/**
 * Live request rate and latency of one deployment, from two scrapes of `/metrics`: the rate is the
 * growth of `keel_serving_requests_total` (and `…_errors_total`) over the time between the scrapes,
 * p50 and p99 come from the growth of the `keel_serving_request_duration_seconds` buckets — the
 * requests of that interval only, as PromQL's `histogram_quantile(q, rate(…))` would. Pure, tested.
 */
import {
  type HistogramBucket,
  histogramBuckets,
  histogramQuantile,
  type PromSample,
  subtractBuckets,
} from '../../lib/prometheus';

const REQUESTS = 'keel_serving_requests_total';
const ERRORS = 'keel_serving_request_errors_total';
const DURATION = 'keel_serving_request_duration_seconds';

/** What one scrape says about one deployment. */
export interface TrafficScrape {
  /** When it was taken, epoch ms. */
  at: number;
  requests: number;
  errors: number;
  /** Requests per arm (route name, or `shadow`). */
  perArm: Record<string, number>;
  latency: HistogramBucket[];
  /** The registered versions answering, as `{model, version}` pairs (from the series' labels). */
  versions: { model: string; version: string }[];
}

/** Rates between two scrapes. */
export interface TrafficPoint {
  at: number;
  /** Requests per second. */
  rate: number;
  errorRate: number;
  perArmRate: Record<string, number>;
  /** Seconds; undefined when no request finished in the interval. */
  p50: number | undefined;
  p99: number | undefined;
}

/** Reads the series of `deployment` from a scrape's samples. */
export function scrapeOf(samples: readonly PromSample[], deployment: string, at: number): TrafficScrape {
  let requests = 0;
  let errors = 0;
  const perArm: Record<string, number> = {};
  const versions = new Map<string, { model: string; version: string }>();
  for (const sample of samples) {
    if (sample.labels.deployment !== deployment) continue;
    if (sample.name === REQUESTS) {
      requests += sample.value;
      const arm = sample.labels.arm ?? '';
      if (arm !== '') perArm[arm] = (perArm[arm] ?? 0) + sample.value;
      const { model, version } = sample.labels;
      if (model && version) versions.set(`${model}/${version}`, { model, version });
    } else if (sample.name === ERRORS) {
      errors += sample.value;
    }
  }
  return {
    at,
    requests,
    errors,
    perArm,
    latency: histogramBuckets(samples, DURATION, { deployment }),
    versions: [...versions.values()],
  };
}

/** The rates between `previous` and `current` (a counter that went down — a restart — counts from 0). */
export function trafficBetween(previous: TrafficScrape, current: TrafficScrape): TrafficPoint {
  const seconds = Math.max((current.at - previous.at) / 1000, 1e-3);
  const delta = (now: number, before: number) => (now >= before ? now - before : now);
  const perArmRate: Record<string, number> = {};
  for (const [arm, count] of Object.entries(current.perArm)) {
    perArmRate[arm] = delta(count, previous.perArm[arm] ?? 0) / seconds;
  }
  const latency = subtractBuckets(current.latency, previous.latency);
  return {
    at: current.at,
    rate: delta(current.requests, previous.requests) / seconds,
    errorRate: delta(current.errors, previous.errors) / seconds,
    perArmRate,
    p50: histogramQuantile(0.5, latency),
    p99: histogramQuantile(0.99, latency),
  };
}

/**
 * A latency in seconds for display: `1.2 ms`, `35 ms`, `1.40 s`; `—` when unknown.
 *
 * @example
 * formatLatency(0.0123); // '12.3 ms'
 */
export function formatLatency(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—';
  const ms = seconds * 1000;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${seconds.toFixed(2)} s`;
}

/**
 * A rate per second for display, e.g. `0`, `0.50`, `12.3`, `1,204`.
 */
export function formatRate(perSecond: number | undefined): string {
  if (perSecond === undefined || !Number.isFinite(perSecond)) return '—';
  if (perSecond === 0) return '0';
  if (perSecond < 10) return perSecond.toFixed(2);
  if (perSecond < 100) return perSecond.toFixed(1);
  return Math.round(perSecond).toLocaleString('en-US');
}
