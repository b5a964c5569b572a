import { describe, expect, it } from 'vitest';
import {
  histogramBuckets,
  histogramQuantile,
  parsePrometheusText,
  subtractBuckets,
  sumSamples,
} from './prometheus';

const TEXT = `# HELP keel_serving_requests_total Requests answered.
# TYPE keel_serving_requests_total counter
keel_serving_requests_total{protocol="mlflow",route="/deployments/:name/invocations",status="200",deployment="iris",arm="stable",model="iris-classifier",version="1"} 182
keel_serving_requests_total{protocol="mlflow",route="/deployments/:name/invocations",status="200",deployment="iris",arm="canary",model="iris-classifier",version="2"} 23
keel_serving_requests_total{protocol="mlflow",route="/deployments/:name/invocations",status="400",deployment="iris",arm="stable",model="iris-classifier",version="1"} 1
keel_serving_requests_total{protocol="mlflow",route="/invocations",status="200",deployment="other",arm="a",model="m",version="1"} 7
# TYPE keel_serving_request_duration_seconds histogram
keel_serving_request_duration_seconds_bucket{le="0.001",deployment="iris",arm="stable"} 10
keel_serving_request_duration_seconds_bucket{le="0.01",deployment="iris",arm="stable"} 90
keel_serving_request_duration_seconds_bucket{le="+Inf",deployment="iris",arm="stable"} 100
keel_serving_request_duration_seconds_bucket{deployment="iris",arm="canary",le="0.001"} 0
keel_serving_request_duration_seconds_bucket{deployment="iris",arm="canary",le="0.01"} 10
keel_serving_request_duration_seconds_bucket{deployment="iris",arm="canary",le="+Inf"} 20
keel_serving_request_duration_seconds_sum{deployment="iris",arm="stable"} 0.5
keel_serving_request_duration_seconds_count{deployment="iris",arm="stable"} 100
`;

describe('parsePrometheusText', () => {
  it('reads names, labels and values, skipping comments and blank lines', () => {
    const samples = parsePrometheusText(TEXT);
    expect(samples).toHaveLength(12);
    expect(samples[0]).toEqual({
      name: 'keel_serving_requests_total',
      labels: {
        protocol: 'mlflow',
        route: '/deployments/:name/invocations',
        status: '200',
        deployment: 'iris',
        arm: 'stable',
        model: 'iris-classifier',
        version: '1',
      },
      value: 182,
    });
    expect(samples[6]?.labels.le).toBe('+Inf');
  });

  it('unescapes label values and reads special values, timestamps and label-less samples', () => {
    const samples = parsePrometheusText(
      [
        'a{path="C:\\\\dir",quote="say \\"hi\\"",nl="x\\ny"} NaN',
        'b +Inf 1700000000000',
        'c{} -Inf',
        'd{x="1",} 2.5e-3',
        'not a metric line',
        'e{x="unterminated} 1',
        '',
      ].join('\n'),
    );
    expect(samples.map((s) => s.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(samples[0]?.labels).toEqual({ path: 'C:\\dir', quote: 'say "hi"', nl: 'x\ny' });
    expect(samples[0]?.value).toBeNaN();
    expect(samples[1]).toEqual({ name: 'b', labels: {}, value: Number.POSITIVE_INFINITY });
    expect(samples[2]?.value).toBe(Number.NEGATIVE_INFINITY);
    expect(samples[3]).toEqual({ name: 'd', labels: { x: '1' }, value: 0.0025 });
  });
});

describe('sumSamples and histogramBuckets', () => {
  const samples = parsePrometheusText(TEXT);

  it('sums a counter over the series that carry the labels', () => {
    expect(sumSamples(samples, 'keel_serving_requests_total', { deployment: 'iris' })).toBe(206);
    expect(sumSamples(samples, 'keel_serving_requests_total', { deployment: 'iris', status: '200' })).toBe(
      205,
    );
    expect(sumSamples(samples, 'keel_serving_requests_total')).toBe(213);
    expect(sumSamples(samples, 'keel_serving_requests_total', { deployment: 'none' })).toBe(0);
  });

  it('adds the buckets of every matching series, sorted by bound', () => {
    expect(
      histogramBuckets(samples, 'keel_serving_request_duration_seconds', { deployment: 'iris' }),
    ).toEqual([
      { le: 0.001, count: 10 },
      { le: 0.01, count: 100 },
      { le: Number.POSITIVE_INFINITY, count: 120 },
    ]);
    expect(
      histogramBuckets(samples, 'keel_serving_request_duration_seconds', { arm: 'canary' }).map(
        (b) => b.count,
      ),
    ).toEqual([0, 10, 20]);
  });
});

describe('histogramQuantile', () => {
  const buckets = [
    { le: 0.1, count: 10 },
    { le: 0.2, count: 20 },
    { le: 0.4, count: 40 },
    { le: Number.POSITIVE_INFINITY, count: 40 },
  ];

  it('interpolates linearly inside the bucket holding the rank', () => {
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.2);
    expect(histogramQuantile(0.25, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.125, buckets)).toBeCloseTo(0.05); // From 0 in the first bucket.
    expect(histogramQuantile(0.75, buckets)).toBeCloseTo(0.3);
    expect(histogramQuantile(1, buckets)).toBeCloseTo(0.4);
  });

  it('answers the highest finite bound for a rank in +Inf, and undefined without observations', () => {
    const tail = [
      { le: 0.1, count: 1 },
      { le: Number.POSITIVE_INFINITY, count: 10 },
    ];
    expect(histogramQuantile(0.99, tail)).toBe(0.1);
    expect(histogramQuantile(0.5, [{ le: 0.1, count: 0 }])).toBeUndefined();
    expect(histogramQuantile(0.5, [])).toBeUndefined();
  });

  it('estimates from the observations between two scrapes', () => {
    const before = [
      { le: 0.1, count: 100 },
      { le: 1, count: 100 },
      { le: Number.POSITIVE_INFINITY, count: 100 },
    ];
    const after = [
      { le: 0.1, count: 100 },
      { le: 1, count: 110 },
      { le: Number.POSITIVE_INFINITY, count: 110 },
    ];
    const delta = subtractBuckets(after, before);
    expect(delta.map((b) => b.count)).toEqual([0, 10, 10]);
    expect(histogramQuantile(0.5, delta)).toBeCloseTo(0.55);
    // No series at the first scrape: everything is new.
    expect(subtractBuckets(after, [])).toEqual(after);
    // A counter that went down (a restart) counts from zero.
    expect(subtractBuckets(before, after).map((b) => b.count)).toEqual([100, 100, 100]);
  });
});
