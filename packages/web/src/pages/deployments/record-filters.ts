/**
 * The prediction-records filters of the deployment page, kept in the URL so a filtered view can be
 * shared: `?version=<model>/<n>&caller=…&status=…&range=1h`. Pure, unit-tested.
 */
import type { PredictionFilters } from '../../api/predictions';

/** Time ranges the page offers, newest data always included. */
export const TIME_RANGES = [
  { key: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
  { key: '1h', label: 'Last hour', ms: 3_600_000 },
  { key: '24h', label: 'Last 24 hours', ms: 24 * 3_600_000 },
  { key: '7d', label: 'Last 7 days', ms: 7 * 24 * 3_600_000 },
] as const;

/** The filters as the URL holds them; empty strings mean "any". */
export interface RecordFilterView {
  /** `<model>/<version>` of the version that answered, or `''`. */
  version: string;
  caller: string;
  /** An HTTP status, e.g. `200`. */
  status: string;
  /** A {@link TIME_RANGES} key, or `''` for all time. */
  range: string;
}

/** Reads the filters from the page's query string. */
export function parseRecordFilters(query: URLSearchParams): RecordFilterView {
  const range = query.get('range') ?? '';
  return {
    version: query.get('version') ?? '',
    caller: query.get('caller') ?? '',
    status: query.get('status') ?? '',
    range: TIME_RANGES.some((r) => r.key === range) ? range : '',
  };
}

/** The query-string values of `view` (empty ones dropped by `hrefWithQuery`). */
export function recordFilterQuery(view: RecordFilterView): Record<string, string> {
  return { version: view.version, caller: view.caller, status: view.status, range: view.range };
}

/** The API filters of `view` for `deployment`, the time range ending at `now`. */
export function predictionFiltersOf(
  view: RecordFilterView,
  deployment: string,
  now: number,
): PredictionFilters {
  const slash = view.version.lastIndexOf('/');
  const range = TIME_RANGES.find((r) => r.key === view.range);
  return {
    deployment,
    ...(slash > 0
      ? { modelName: view.version.slice(0, slash), modelVersion: view.version.slice(slash + 1) }
      : view.version !== ''
        ? { modelVersion: view.version }
        : {}),
    ...(view.caller.trim() !== '' ? { caller: view.caller.trim() } : {}),
    ...(/^\d{3}$/.test(view.status) ? { status: view.status } : {}),
    ...(range ? { from: now - range.ms } : {}),
  };
}
