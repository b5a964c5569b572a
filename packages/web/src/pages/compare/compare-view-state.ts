/**
 * The compare page's view state in the URL, beside the charts' shared `x` / `log` / `smooth`
 * (chart-view-state.ts):
 *
 * | query | meaning | example |
 * |---|---|---|
 * | `runs` | the compared runs, comma-separated, in column order | `runs=4f…,9a…` |
 * | `diff` | `1`: the parameter table shows only rows whose values differ | `diff=1` |
 * | `pc` | metric on the parallel-coordinates plot's last axis | `pc=val_loss` |
 * | `sx`, `sy` | the scatter plot's columns: `params.<key>` or `metrics.<key>` | `sx=params.lr&sy=metrics.acc` |
 */

/** Everything the compare page keeps in the URL (chart controls aside). */
export interface CompareViewState {
  runIds: readonly string[];
  onlyDifferences: boolean;
  /** `''`: the page's default (the first metric). */
  parallelMetric: string;
  /** `''`: the page's default. */
  scatterX: string;
  /** `''`: the page's default. */
  scatterY: string;
}

const COMPARE_QUERY_KEYS = ['runs', 'diff', 'pc', 'sx', 'sy'] as const;

/**
 * Reads the view state from a URL query. Run ids are trimmed, empty ones and repeats dropped.
 *
 * @example
 * parseCompareView(new URLSearchParams('runs=a,b,,a&diff=1&sx=params.lr'));
 * // { runIds: ['a', 'b'], onlyDifferences: true, parallelMetric: '', scatterX: 'params.lr', scatterY: '' }
 */
export function parseCompareView(query: URLSearchParams): CompareViewState {
  const ids = (query.get('runs') ?? '').split(',').map((id) => id.trim());
  return {
    runIds: [...new Set(ids.filter((id) => id !== ''))],
    onlyDifferences: query.get('diff') === '1',
    parallelMetric: query.get('pc') ?? '',
    scatterX: query.get('sx') ?? '',
    scatterY: query.get('sy') ?? '',
  };
}

/**
 * A copy of `query` with the compare keys set to `view` (empty values left out) and every other
 * key (the chart controls) kept.
 *
 * @example
 * withCompareView(new URLSearchParams('log=1'), { runIds: ['a', 'b'], onlyDifferences: true,
 *   parallelMetric: '', scatterX: '', scatterY: '' }).toString();
 * // 'log=1&runs=a%2Cb&diff=1'
 */
export function withCompareView(query: URLSearchParams, view: CompareViewState): URLSearchParams {
  const next = new URLSearchParams(query);
  for (const key of COMPARE_QUERY_KEYS) next.delete(key);
  if (view.runIds.length > 0) next.set('runs', view.runIds.join(','));
  if (view.onlyDifferences) next.set('diff', '1');
  if (view.parallelMetric !== '') next.set('pc', view.parallelMetric);
  if (view.scatterX !== '') next.set('sx', view.scatterX);
  if (view.scatterY !== '') next.set('sy', view.scatterY);
  return next;
}
