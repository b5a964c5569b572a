import { describe, expect, it } from 'vitest';
import { ServingMetrics } from './serving-metrics.js';

describe('ServingMetrics', () => {
  it('renders requests, errors, latency, batch sizes and queue depth in the Prometheus text format', async () => {
    const metrics = new ServingMetrics();
    metrics.observeRequest('mlflow', '/invocations', 200, 0.002);
    metrics.observeRequest('mlflow', '/invocations', 503, 0.0001);
    metrics.batch(48, 3);
    metrics.queueDepth(17);
    const text = await metrics.render();
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const line of [
      'keel_serving_requests_total{protocol="mlflow",route="/invocations",status="200"} 1',
      'keel_serving_requests_total{protocol="mlflow",route="/invocations",status="503"} 1',
      'keel_serving_request_errors_total{protocol="mlflow",route="/invocations",status="503"} 1',
      'keel_serving_request_duration_seconds_count{protocol="mlflow",route="/invocations"} 2',
      'keel_serving_request_duration_seconds_bucket{le="0.0025",protocol="mlflow",route="/invocations"} 2',
      'keel_serving_request_duration_seconds_bucket{le="0.001",protocol="mlflow",route="/invocations"} 1',
      'keel_serving_batch_rows_bucket{le="32"} 0',
      'keel_serving_batch_rows_bucket{le="64"} 1',
      'keel_serving_batch_rows_sum 48',
      'keel_serving_batch_requests_sum 3',
      'keel_serving_queue_rows 17',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
    expect(text).not.toContain(
      'keel_serving_request_errors_total{protocol="mlflow",route="/invocations",status="200"}',
    );
    expect(text).not.toContain('process_cpu');
  });

  it('adds extra labels to every series, per observation and per batch observer', async () => {
    const metrics = new ServingMetrics({ labelNames: ['deployment', 'version'] });
    metrics.observeRequest('oip', '/v2/models/:name/infer', 200, 0.002, {
      deployment: 'fraud',
      version: '7',
    });
    const observer = metrics.observer({ deployment: 'fraud', version: '7' });
    observer.batch(4, 2);
    observer.queueDepth(3);
    const lines = (await metrics.render()).split('\n');
    for (const line of [
      'keel_serving_requests_total{protocol="oip",route="/v2/models/:name/infer",status="200",deployment="fraud",version="7"} 1',
      'keel_serving_batch_rows_sum{deployment="fraud",version="7"} 4',
      'keel_serving_batch_requests_sum{deployment="fraud",version="7"} 2',
      'keel_serving_queue_rows{deployment="fraud",version="7"} 3',
    ]) {
      expect(lines).toContain(line);
    }
    // No unlabelled series next to the labelled ones.
    expect(lines).not.toContain('keel_serving_queue_rows 0');
  });

  it('keeps each instance in its own registry, with process metrics only when asked', async () => {
    const a = new ServingMetrics();
    const b = new ServingMetrics({ processMetrics: true });
    a.queueDepth(5);
    expect(await a.render()).toContain('keel_serving_queue_rows 5');
    const other = await b.render();
    expect(other).toContain('keel_serving_queue_rows 0');
    expect(other).toContain('process_cpu_user_seconds_total');
  });
});
