/**
 * Keel's prediction records API (docs/deployments.md → Querying and exporting records): one record
 * per answered deployment call, searchable page by page (`GET /api/2.0/keel/predictions`) and
 * exportable as JSON lines or CSV (`…/predictions/export`).
 */
import type { PredictionRecord } from '@keel/core';
import { keelGet, keelHref, type QueryValues } from './client';

/** Filters of {@link searchPredictions} and {@link predictionsExportHref}; all optional. */
export interface PredictionFilters {
  deployment?: string;
  modelName?: string;
  modelVersion?: string;
  caller?: string;
  /** An HTTP status, e.g. `200`, `503`. */
  status?: string;
  /** Bounds on `received_at`, epoch ms, inclusive. */
  from?: number;
  to?: number;
}

/** One page of records, newest first. */
export interface PredictionPage {
  predictions: PredictionRecord[];
  /** Absent on the last page. */
  nextPageToken: string | undefined;
}

function filterQuery(filters: PredictionFilters): QueryValues {
  return {
    deployment: filters.deployment || undefined,
    model_name: filters.modelName || undefined,
    model_version: filters.modelVersion || undefined,
    caller: filters.caller || undefined,
    status: filters.status || undefined,
    from: filters.from,
    to: filters.to,
  };
}

/** `GET predictions`: one page of the records matching `filters`, newest first. */
export async function searchPredictions(
  filters: PredictionFilters,
  page: { maxResults?: number; pageToken?: string } = {},
  signal?: AbortSignal,
): Promise<PredictionPage> {
  const answer = await keelGet<{ predictions?: PredictionRecord[]; next_page_token?: string }>(
    'predictions',
    { ...filterQuery(filters), max_results: page.maxResults ?? 50, page_token: page.pageToken },
    signal,
  );
  return { predictions: answer.predictions ?? [], nextPageToken: answer.next_page_token || undefined };
}

/** Link that downloads every record matching `filters` (`predictions/export`), as JSON lines or CSV. */
export function predictionsExportHref(filters: PredictionFilters, format: 'jsonl' | 'csv'): string {
  return keelHref('predictions/export', { ...filterQuery(filters), format });
}
