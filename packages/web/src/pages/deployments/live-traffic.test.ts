import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../lib/prometheus';
import { formatLatency, formatRate, scrapeOf, trafficBetween } from './live-traffic';

/** A /metrics text for deployment `iris` (two arms) and another one. */
function metrics(stable: number, canary: number, errors: number, fast: number, slow: number): string {
  const labels = (arm: string, version: string) =>
    `deployment="iris",arm="${arm}",model="iris-classifier",version="${version}"`;
  const route = 'protocol="mlflow",route="/deployments/:name/invocations"';
  return [
    '# TYPE keel_serving_requests_total counter',
    `keel_serving_requests_total{${route},status="200",${labels('stable', '1')}} ${stable}`,
    `keel_serving_requests_total{${route},status="200",${labels('canary', '2')}} ${canary}`,
    `keel_serving_requests_total{${route},status="400",${labels('stable', '1')}} ${errors}`,
    `keel_serving_requests_total{${route},status="200",deployment="other",arm="a",model="m",version="3"} 999`,
    `keel_serving_requests_total{${route},status="429",deployment="iris",arm="",model="",version=""} 0`,
    `keel_serving_request_errors_total{${route},status="400",${labels('stable', '1')}} ${errors}`,
    `keel_serving_request_duration_seconds_bucket{le="0.001",${route},${labels('stable', '1')}} 0`,
    `keel_serving_request_duration_seconds_bucket{le="0.005",${route},${labels('stable', '1')}} ${fast}`,
    `keel_serving_request_duration_seconds_bucket{le="0.1",${route},${labels('stable', '1')}} ${fast + slow}`,
    `keel_serving_request_duration_seconds_bucket{le="+Inf",${route},${labels('stable', '1')}} ${fast + slow}`,
    `keel_serving_request_duration_seconds_bucket{le="0.001",${route},deployment="other",arm="a"} 500`,
    `keel_serving_request_duration_seconds_bucket{le="+Inf",${route},deployment="other",arm="a"} 500`,
  ].join('\n');
}

describe('scrapeOf', () => {
  it("reads one deployment's requests, arms, versions and latency buckets", () => {
    const scrape = scrapeOf(parsePrometheusText(metrics(10, 2, 1, 8, 2)), 'iris', 1000);
    expect(scrape).toEqual({
      at: 1000,
      requests: 13,
      errors: 1,
      perArm: { stable: 11, canary: 2 },
      latency: [
        { le: 0.001, count: 0 },
        { le: 0.005, count: 8 },
        { le: 0.1, count: 10 },
        { le: Number.POSITIVE_INFINITY, count: 10 },
      ],
      versions: [
        { model: 'iris-classifier', version: '1' },
        { model: 'iris-classifier', version: '2' },
      ],
    });
  });
});

describe('trafficBetween', () => {
  it('computes rates per second and latency quantiles of the interval', () => {
    const before = scrapeOf(parsePrometheusText(metrics(10, 2, 1, 8, 2)), 'iris', 10_000);
    // 2 s later: 20 more on stable (all fast), 4 more on canary, 2 more errors, 2 slow requests.
    const after = scrapeOf(parsePrometheusText(metrics(28, 6, 3, 28, 4)), 'iris', 12_000);
    const point = trafficBetween(before, after);
    expect(point.rate).toBe(12);
    expect(point.errorRate).toBe(1);
    expect(point.perArmRate).toEqual({ stable: 10, canary: 2 });
    // 22 observations in the interval: 20 in (1 ms, 5 ms], 2 in (5 ms, 100 ms].
    expect(point.p50).toBeCloseTo(0.001 + 0.004 * (11 / 20));
    expect(point.p99).toBeCloseTo(0.005 + 0.095 * ((0.99 * 22 - 20) / 2));
  });

  it('has no quantiles without requests, and restarts count from zero', () => {
    const scrape = scrapeOf(parsePrometheusText(metrics(10, 2, 1, 8, 2)), 'iris', 0);
    const idle = trafficBetween(scrape, { ...scrape, at: 2000 });
    expect(idle).toMatchObject({ rate: 0, errorRate: 0, p50: undefined, p99: undefined });
    const restarted = scrapeOf(parsePrometheusText(metrics(1, 1, 0, 2, 0)), 'iris', 1000);
    expect(trafficBetween(scrape, restarted).rate).toBe(2);
  });
});

describe('formatting', () => {
  it('formats latencies and rates compactly', () => {
    expect([0.00123, 0.0456, 1.4, undefined].map(formatLatency)).toEqual([
      '1.23 ms',
      '45.6 ms',
      '1.40 s',
      '—',
    ]);
    expect([0, 0.5, 12.34, 1204.2].map(formatRate)).toEqual(['0', '0.50', '12.3', '1,204']);
  });
});
