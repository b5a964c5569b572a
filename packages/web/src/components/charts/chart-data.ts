/**
 * Turns sampled metric history (`get-history-bulk-interval` points) into the column arrays uPlot
 * draws: one x column shared by every series, one y column per series. Pure, so it is unit-tested
 * without a browser.
 */
import type { XAxisMode } from './chart-view-state';
import { emaSmooth } from './smoothing';

/** One sampled point as the API sends it (`value` may be `"NaN"`, `"Infinity"`, `"-Infinity"`). */
export interface SampledPoint {
  run_id: string;
  step: number;
  timestamp: number;
  value: number | string;
}

/** One run's points in x order. */
export interface RunSeries {
  runId: string;
  /** x of each point, ascending: the step, or seconds (wall clock, or since the run's first point). */
  xs: Float64Array;
  /** y of each point; `null` where the value cannot be drawn (NaN, ±Infinity). */
  ys: (number | null)[];
  /** Step of each point, to turn an x range back into the step range to fetch. */
  steps: Float64Array;
}

/** What uPlot draws: `[xs, ys of series 1, ys of series 2, …]`. */
export type ChartColumns = [Float64Array | number[], ...(number | null | undefined)[][]];

/** A y column and the x values it belongs to (several columns may share one `xs`). */
export interface Column {
  xs: Float64Array;
  ys: readonly (number | null | undefined)[];
}

/** A point's value as a number; the wire's strings become NaN or ±Infinity. */
export function pointValue(value: number | string): number {
  return typeof value === 'number' ? value : Number(value);
}

/**
 * Groups sampled points by run, in `runIds` order (runs without points get empty series), keeping
 * one point per step (the last logged) and computing x for `xAxis`.
 *
 * @example
 * toRunSeries([{ run_id: 'a', step: 0, timestamp: 1000, value: 2 }], ['a'], 'relative');
 * // [{ runId: 'a', xs: [0], ys: [2], steps: [0] }]
 */
export function toRunSeries(
  points: readonly SampledPoint[],
  runIds: readonly string[],
  xAxis: XAxisMode,
): RunSeries[] {
  const byRun = new Map<string, SampledPoint[]>(runIds.map((id) => [id, []]));
  for (const point of points) byRun.get(point.run_id)?.push(point);
  return runIds.map((runId) => seriesOf(runId, byRun.get(runId) ?? [], xAxis));
}

function seriesOf(runId: string, points: SampledPoint[], xAxis: XAxisMode): RunSeries {
  const sorted = [...points].sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
  const kept: SampledPoint[] = [];
  for (const point of sorted) {
    if (kept.length > 0 && kept[kept.length - 1]?.step === point.step) kept[kept.length - 1] = point;
    else kept.push(point);
  }
  let firstTimestamp = Number.POSITIVE_INFINITY;
  for (const point of kept) firstTimestamp = Math.min(firstTimestamp, point.timestamp);
  const xOf = (point: SampledPoint): number =>
    xAxis === 'step'
      ? point.step
      : xAxis === 'wall'
        ? point.timestamp / 1000
        : (point.timestamp - firstTimestamp) / 1000;
  // Time may not grow with the step (a resumed run, clock changes): order by x, then by step.
  const ordered = xAxis === 'step' ? kept : [...kept].sort((a, b) => xOf(a) - xOf(b) || a.step - b.step);
  const xs = new Float64Array(ordered.length);
  const steps = new Float64Array(ordered.length);
  const ys: (number | null)[] = new Array(ordered.length);
  ordered.forEach((point, i) => {
    xs[i] = xOf(point);
    steps[i] = point.step;
    const value = pointValue(point.value);
    ys[i] = Number.isFinite(value) ? value : null;
  });
  return { runId, xs, ys, steps };
}

/**
 * Joins columns with different x values into uPlot's aligned form: the sorted union of every x,
 * and each column's values at those x. Where a column has no point at an x it gets `undefined`,
 * which uPlot's lines pass over (a `null` in the input stays `null`: a gap).
 *
 * @example
 * alignColumns([{ xs: [0, 2], ys: [1, 3] }, { xs: [1], ys: [5] }]);
 * // [[0, 1, 2], [1, undefined, 3], [undefined, 5, undefined]]
 */
export function alignColumns(columns: readonly Column[]): ChartColumns {
  const first = columns[0];
  if (first === undefined) return [new Float64Array(0)];
  if (columns.every((column) => column.xs === first.xs)) {
    return [first.xs, ...columns.map((column) => [...column.ys])];
  }
  const xs = unionOf(columns.map((column) => column.xs));
  const aligned = columns.map((column) => {
    const out: (number | null | undefined)[] = new Array(xs.length).fill(undefined);
    let j = 0;
    for (let i = 0; i < column.xs.length; i++) {
      const x = column.xs[i] as number;
      while ((xs[j] as number) < x) j++;
      out[j] = column.ys[i];
    }
    return out;
  });
  return [xs, ...aligned];
}

function unionOf(arrays: readonly Float64Array[]): Float64Array {
  let total = 0;
  for (const array of arrays) total += array.length;
  const all = new Float64Array(total);
  let offset = 0;
  for (const array of arrays) {
    all.set(array, offset);
    offset += array.length;
  }
  all.sort();
  let unique = 0;
  for (let i = 0; i < all.length; i++) {
    if (i === 0 || all[i] !== all[unique - 1]) all[unique++] = all[i] as number;
  }
  return all.slice(0, unique);
}

/**
 * Values a logarithmic axis can draw: zero and negative values become gaps (`null`).
 *
 * @example
 * positiveOnly([1, 0, -2, null, 3]); // [1, null, null, null, 3]
 */
export function positiveOnly(ys: readonly (number | null)[]): (number | null)[] {
  return ys.map((y) => (y !== null && y > 0 ? y : null));
}

/** An inclusive range of steps, as `start_step` / `end_step` of `get-history-bulk-interval`. */
export interface StepRange {
  start: number;
  end: number;
}

/**
 * The steps to fetch so that the x range `[xMin, xMax]` is drawn in full detail. On the step axis
 * that is the range itself; on a time axis, it is the steps of the points in the range plus one
 * point either side of it (so lines still reach the edges). `undefined` when no run has a point
 * near the range.
 *
 * @example
 * stepRangeFor(series, 'step', 1200.4, 5099.7); // { start: 1200, end: 5100 }
 */
export function stepRangeFor(
  series: readonly RunSeries[],
  xAxis: XAxisMode,
  xMin: number,
  xMax: number,
): StepRange | undefined {
  if (xAxis === 'step') {
    const start = Math.max(0, Math.floor(xMin));
    const end = Math.ceil(xMax);
    return end >= start ? { start, end } : undefined;
  }
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const run of series) {
    if (run.xs.length === 0) continue;
    const from = Math.max(0, lowerBound(run.xs, xMin) - 1);
    const to = Math.min(run.xs.length - 1, lowerBound(run.xs, xMax));
    for (let i = from; i <= to; i++) {
      const step = run.steps[i] as number;
      start = Math.min(start, step);
      end = Math.max(end, step);
    }
  }
  return Number.isFinite(start) && Number.isFinite(end) ? { start, end } : undefined;
}

/** Index of the first element ≥ `value` in an ascending array (its length when there is none). */
function lowerBound(values: Float64Array, value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((values[mid] as number) < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * A number with a k / M / G suffix for axis ticks.
 *
 * @example
 * formatCompact(1_000_000); // '1M'
 * formatCompact(250_000); // '250k'
 * formatCompact(1500); // '1.5k'
 * formatCompact(12); // '12'
 */
export function formatCompact(value: number): string {
  const magnitude = Math.abs(value);
  const units: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of units) {
    if (magnitude >= size) return `${trimmed(value / size)}${suffix}`;
  }
  return trimmed(value);
}

function trimmed(value: number): string {
  return String(Number.parseFloat(value.toPrecision(4)));
}

/** How a chart's runs become uPlot columns. */
export interface ColumnOptions {
  /** Zero and negative values become gaps. */
  logY: boolean;
  /** EMA weight; above 0 every run gets two columns: raw values, then the smoothed line. */
  smoothing: number;
}

/**
 * The columns uPlot draws for `series`: per run its values (log-safe when asked), and with
 * smoothing a second, smoothed column right after them; all aligned on one x column.
 *
 * @example
 * chartColumns(series, { logY: false, smoothing: 0.6 }); // [xs, runA raw, runA smoothed, runB raw, …]
 */
export function chartColumns(series: readonly RunSeries[], options: ColumnOptions): ChartColumns {
  const columns: Column[] = [];
  for (const run of series) {
    const ys = options.logY ? positiveOnly(run.ys) : run.ys;
    columns.push({ xs: run.xs, ys });
    if (options.smoothing > 0) columns.push({ xs: run.xs, ys: emaSmooth(ys, options.smoothing) });
  }
  return alignColumns(columns);
}

/** The last drawable value of a column, or `undefined`. */
export function lastValue(column: readonly (number | null | undefined)[] | undefined): number | undefined {
  if (column === undefined) return undefined;
  for (let i = column.length - 1; i >= 0; i--) {
    const value = column[i];
    if (value !== null && value !== undefined) return value;
  }
  return undefined;
}
