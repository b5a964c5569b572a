import { invalidParameter, LIMITS, type Metric, type MetricWithRunId, toWireDouble } from '@keel/core';
import type { MetricStore, StoredMetric, StoredRunMetric } from '../../store/metric-store.js';
import { decodePageToken, pageOf } from '../page-token.js';

/** Everything the metric service needs. */
export interface MetricServiceOptions {
  store: MetricStore;
  /** Throws RESOURCE_DOES_NOT_EXIST for an unknown run (the run service provides it). */
  runs: { requireRun(runId: string): Promise<unknown> };
}

/** `metrics/get-history`. */
export interface GetHistoryInput {
  runId: string;
  metricKey: string;
  pageToken?: string;
  /** Page size, 1 to 25000. @default the whole (remaining) history in one response */
  maxResults?: number;
}

/** `metrics/get-history-bulk-interval`. */
export interface GetHistoryBulkIntervalInput {
  /** 1 to 100 runs. */
  runIds: readonly string[];
  metricKey: string;
  /** Give both bounds or neither. */
  startStep?: number;
  endStep?: number;
  /** Steps sampled per run, 1 to 2500. @default 2500 */
  maxResults?: number;
}

/** The UI's older `metrics/get-history-bulk`. */
export interface GetHistoryBulkInput {
  /** 1 to 100 runs. */
  runIds: readonly string[];
  metricKey: string;
  /** Points in all, across runs; larger values are lowered to 25000 as MLflow does. @default 25000 */
  maxResults?: number;
}

/** MLflow's metric-history rules: page sizes, run-count limits, step bounds, unknown runs. */
export class MetricService {
  constructor(private readonly options: MetricServiceOptions) {}

  /**
   * One key's full history of a run in step order, paged only when `maxResults` is given.
   *
   * @example
   * const { metrics, nextPageToken } = await service.getHistory({ runId, metricKey: 'loss', maxResults: 1000 });
   */
  async getHistory(input: GetHistoryInput): Promise<{ metrics: Metric[]; nextPageToken?: string }> {
    const { maxResults } = input;
    if (maxResults !== undefined) checkRange(maxResults, 1, LIMITS.metricHistoryMaxPage, 'max_results');
    const offset = decodePageToken(input.pageToken);
    await this.options.runs.requireRun(input.runId);
    if (maxResults === undefined) {
      const rows = await this.options.store.history(input.runId, input.metricKey, { offset });
      return { metrics: rows.map(toWireMetric) };
    }
    const rows = await this.options.store.history(input.runId, input.metricKey, {
      offset,
      limit: maxResults + 1,
    });
    const page = pageOf(rows, offset, maxResults);
    return {
      metrics: page.items.map(toWireMetric),
      ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
    };
  }

  /**
   * A sample of one key's history per run for charts: at most about `maxResults` steps per run,
   * always the first and last step in range (see {@link MetricStore.bulkInterval} for the rule).
   *
   * @example
   * const { metrics } = await service.getHistoryBulkInterval({ runIds: [a, b], metricKey: 'loss', maxResults: 320 });
   */
  async getHistoryBulkInterval(input: GetHistoryBulkIntervalInput): Promise<{ metrics: MetricWithRunId[] }> {
    const runIds = checkRunIds(input.runIds, 'run_ids');
    const { startStep, endStep } = input;
    if ((startStep === undefined) !== (endStep === undefined)) {
      throw invalidParameter("If either of 'start_step' or 'end_step' is specified, both must be specified");
    }
    if (startStep !== undefined && endStep !== undefined && startStep > endStep) {
      throw invalidParameter(
        `'end_step' (${endStep}) must be greater than or equal to 'start_step' (${startStep})`,
      );
    }
    const maxResults = input.maxResults ?? LIMITS.bulkIntervalMaxResults;
    checkRange(maxResults, 1, LIMITS.bulkIntervalMaxResults, 'max_results');
    await this.#requireRuns(runIds);
    const rows = await this.options.store.bulkInterval(runIds, input.metricKey, {
      maxResults,
      ...(startStep === undefined ? {} : { startStep }),
      ...(endStep === undefined ? {} : { endStep }),
    });
    return { metrics: rows.map(toWireRunMetric) };
  }

  /**
   * Whole histories of one key for several runs (ordered by run id, then step), at most
   * `maxResults` points in all.
   */
  async getHistoryBulk(input: GetHistoryBulkInput): Promise<{ metrics: MetricWithRunId[] }> {
    const runIds = checkRunIds(input.runIds, 'run_id');
    const requested = input.maxResults ?? LIMITS.metricHistoryMaxPage;
    checkRange(requested, 1, Number.MAX_SAFE_INTEGER, 'max_results');
    await this.#requireRuns(runIds);
    const rows = await this.options.store.historyBulk(
      runIds,
      input.metricKey,
      Math.min(requested, LIMITS.metricHistoryMaxPage),
    );
    return { metrics: rows.map(toWireRunMetric) };
  }

  async #requireRuns(runIds: readonly string[]): Promise<void> {
    await Promise.all(runIds.map((runId) => this.options.runs.requireRun(runId)));
  }
}

/** Checks the 1–100 run count and drops repeated ids, keeping the first occurrence's place. */
function checkRunIds(runIds: readonly string[], field: string): string[] {
  if (runIds.length === 0) {
    throw invalidParameter(`Missing value for required parameter '${field}': give at least one run id`);
  }
  const unique = [...new Set(runIds)];
  if (unique.length > LIMITS.bulkIntervalMaxRuns) {
    throw invalidParameter(
      `Invalid value for parameter '${field}': at most ${LIMITS.bulkIntervalMaxRuns} run ids are allowed, got ${unique.length}`,
    );
  }
  return unique;
}

function checkRange(value: number, min: number, max: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidParameter(
      `Invalid value ${value} for parameter '${field}': it must be between ${min} and ${max}`,
    );
  }
}

function toWireMetric(m: StoredMetric): Metric {
  return { key: m.key, value: toWireDouble(m.value), timestamp: m.timestamp, step: m.step };
}

function toWireRunMetric(m: StoredRunMetric): MetricWithRunId {
  return { ...toWireMetric(m), run_id: m.runId };
}
