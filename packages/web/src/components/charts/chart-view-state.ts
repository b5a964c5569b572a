/**
 * The metric charts' shared controls, kept in the URL query so that a chart view can be shared and
 * survives a reload. The keys live beside the page's own query keys, which they leave untouched:
 *
 * | query | meaning | default |
 * |---|---|---|
 * | `x` | x axis: `step`, `wall` (wall-clock time) or `relative` (time since the run's first point) | `step` |
 * | `log` | `1` for a logarithmic y axis | linear |
 * | `smooth` | EMA smoothing weight, 0 to 0.99 (TensorBoard's slider) | `0` |
 */

/** What the x axis of a metric chart shows. */
export type XAxisMode = 'step' | 'wall' | 'relative';

/** Every {@link XAxisMode}, in the order the controls offer them. */
export const X_AXIS_MODES: readonly XAxisMode[] = ['step', 'wall', 'relative'];

/** The controls every chart of a page shares. */
export interface ChartViewState {
  xAxis: XAxisMode;
  logY: boolean;
  /** EMA weight in [0, {@link MAX_SMOOTHING}]; 0 draws the raw values only. */
  smoothing: number;
}

/** The heaviest smoothing the slider offers (1 would freeze the curve at its first value). */
export const MAX_SMOOTHING = 0.99;

/** Step axis, linear, no smoothing. */
export const DEFAULT_CHART_VIEW: ChartViewState = { xAxis: 'step', logY: false, smoothing: 0 };

/** The query keys {@link parseChartView} reads. */
export const CHART_QUERY_KEYS = ['x', 'log', 'smooth'] as const;

/**
 * Reads the chart controls from a URL query; unknown or malformed values fall back to the defaults.
 *
 * @example
 * parseChartView(new URLSearchParams('x=relative&log=1&smooth=0.6'));
 * // { xAxis: 'relative', logY: true, smoothing: 0.6 }
 */
export function parseChartView(query: URLSearchParams): ChartViewState {
  const x = query.get('x');
  const smooth = Number(query.get('smooth') ?? '0');
  return {
    xAxis: (X_AXIS_MODES as readonly string[]).includes(x ?? '') ? (x as XAxisMode) : 'step',
    logY: query.get('log') === '1',
    smoothing: Number.isFinite(smooth) ? clampSmoothing(smooth) : 0,
  };
}

/**
 * A copy of `query` with the chart controls set to `view` (defaults left out) and every other key
 * kept as it was.
 *
 * @example
 * withChartView(new URLSearchParams('tab=metrics'), { xAxis: 'wall', logY: false, smoothing: 0 }).toString();
 * // 'tab=metrics&x=wall'
 */
export function withChartView(query: URLSearchParams, view: ChartViewState): URLSearchParams {
  const next = new URLSearchParams(query);
  for (const key of CHART_QUERY_KEYS) next.delete(key);
  if (view.xAxis !== 'step') next.set('x', view.xAxis);
  if (view.logY) next.set('log', '1');
  const smoothing = clampSmoothing(view.smoothing);
  if (smoothing > 0) next.set('smooth', String(smoothing));
  return next;
}

/** Rounds to hundredths and clamps to [0, {@link MAX_SMOOTHING}]. */
export function clampSmoothing(value: number): number {
  return Math.min(MAX_SMOOTHING, Math.max(0, Math.round(value * 100) / 100));
}
