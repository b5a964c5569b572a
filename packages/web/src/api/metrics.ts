/**
 * Metric history for the charts: `metrics/get-history-bulk-interval`, which samples at most
 * `max_results` steps per run spread evenly over a step range (always keeping its first and last
 * step), so a 1,000,000-step metric arrives as ~1,000 points and zooming re-samples the visible range.
 */
import type { MetricWithRunId } from '@keel/core';
import { mlflowGet } from './client';

/** What {@link getSampledHistory} asks for. */
export interface SampledHistoryOptions {
  /** 1 to 100 runs. */
  runIds: readonly string[];
  metricKey: string;
  /** Steps per run, 1 to 2500. */
  maxResults: number;
  /** Inclusive step range; the whole history when absent. */
  stepRange?: { start: number; end: number };
}

/**
 * `metrics/get-history-bulk-interval`: a sample of one metric's history for each run.
 *
 * @example
 * const points = await getSampledHistory({ runIds: [a, b], metricKey: 'loss', maxResults: 1000 });
 */
export async function getSampledHistory(
  options: SampledHistoryOptions,
  signal?: AbortSignal,
): Promise<MetricWithRunId[]> {
  const answer = await mlflowGet<{ metrics?: MetricWithRunId[] }>(
    'metrics/get-history-bulk-interval',
    {
      run_ids: options.runIds,
      metric_key: options.metricKey,
      max_results: options.maxResults,
      start_step: options.stepRange?.start,
      end_step: options.stepRange?.end,
    },
    signal,
  );
  return answer.metrics ?? [];
}
