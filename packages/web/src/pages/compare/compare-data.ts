/**
 * The compare page's derived data: parameter and metric rows with their differences, the columns
 * a plot can use, and axis scales (numeric or categorical). Pure, so it is unit-tested.
 */
import type { Run } from '@keel/core';
import { pointValue } from '../../components/charts/chart-data';

/** A param or a latest metric value: the columns the scatter plot offers. */
export interface CompareColumn {
  kind: 'params' | 'metrics';
  key: string;
}

/** One row of a diff table: a key and each run's value (`undefined`: not logged). */
export interface DiffRow {
  key: string;
  values: (string | undefined)[];
  /** Some run's value differs from another's (a missing value counts as different). */
  differs: boolean;
}

/**
 * The params of `runs` as diff rows, sorted by key.
 *
 * @example
 * paramRows([runWith({ lr: '0.1', seed: '1' }), runWith({ lr: '0.01', seed: '1' })]);
 * // [{ key: 'lr', values: ['0.1', '0.01'], differs: true }, { key: 'seed', values: ['1', '1'], differs: false }]
 */
export function paramRows(runs: readonly Run[]): DiffRow[] {
  return diffRows(runs.map((run) => new Map((run.data.params ?? []).map((p) => [p.key, p.value]))));
}

/** The latest metric values of `runs` as diff rows (values formatted by the caller), sorted by key. */
export function metricRows(runs: readonly Run[]): DiffRow[] {
  return diffRows(runs.map((run) => new Map((run.data.metrics ?? []).map((m) => [m.key, String(m.value)]))));
}

function diffRows(maps: readonly Map<string, string>[]): DiffRow[] {
  const keys = new Set<string>();
  for (const map of maps) for (const key of map.keys()) keys.add(key);
  return [...keys]
    .sort((a, b) => a.localeCompare(b))
    .map((key) => {
      const values = maps.map((map) => map.get(key));
      return { key, values, differs: new Set(values).size > 1 };
    });
}

/**
 * Every metric key of `runs`: those most runs logged first, then by name.
 *
 * @example
 * metricKeysOf([runWithMetrics('acc', 'loss'), runWithMetrics('loss')]); // ['loss', 'acc']
 */
export function metricKeysOf(runs: readonly Run[]): string[] {
  const counts = new Map<string, number>();
  for (const run of runs) {
    for (const key of new Set((run.data.metrics ?? []).map((m) => m.key)))
      counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.keys()].sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || a.localeCompare(b));
}

/** `params.lr`, `metrics.acc`. */
export function columnIdOf(column: CompareColumn): string {
  return `${column.kind}.${column.key}`;
}

/** Reads `params.<key>` or `metrics.<key>`; `undefined` for anything else. */
export function parseColumnId(id: string): CompareColumn | undefined {
  for (const kind of ['params', 'metrics'] as const) {
    if (id.startsWith(`${kind}.`) && id.length > kind.length + 1)
      return { kind, key: id.slice(kind.length + 1) };
  }
  return undefined;
}

/** Every param and metric of `runs` as plot columns: params first, each group by name. */
export function columnsOf(runs: readonly Run[]): CompareColumn[] {
  const params = paramRows(runs).map((row): CompareColumn => ({ kind: 'params', key: row.key }));
  const metrics = metricRows(runs).map((row): CompareColumn => ({ kind: 'metrics', key: row.key }));
  return [...params, ...metrics];
}

/** One run's value in a column: a param's text, a metric's number (NaN/±Infinity included). */
export type CellValue = string | number | undefined;

/** Each run's value in `column`, in run order. */
export function columnValues(runs: readonly Run[], column: CompareColumn): CellValue[] {
  return runs.map((run) => {
    if (column.kind === 'params') return run.data.params?.find((p) => p.key === column.key)?.value;
    const metric = run.data.metrics?.find((m) => m.key === column.key);
    return metric === undefined ? undefined : pointValue(metric.value);
  });
}

/** How values are placed along a plot axis. */
export type AxisScale =
  | { kind: 'numeric'; min: number; max: number }
  | { kind: 'categorical'; categories: string[] };

/**
 * The axis for `values`: numeric when every present value is a finite number (or numeric text such
 * as a param `"0.01"`), categorical otherwise (categories sorted, numbers among them numerically).
 *
 * @example
 * axisScaleOf(['0.1', '0.01', undefined]); // { kind: 'numeric', min: 0.01, max: 0.1 }
 * axisScaleOf(['adam', 'sgd', 'adam']); // { kind: 'categorical', categories: ['adam', 'sgd'] }
 */
export function axisScaleOf(values: readonly CellValue[]): AxisScale {
  const present = values.filter((value): value is string | number => value !== undefined && value !== '');
  const numbers = present.map(toNumber);
  if (numbers.length > 0 && numbers.every((n) => Number.isFinite(n))) {
    return { kind: 'numeric', min: Math.min(...numbers), max: Math.max(...numbers) };
  }
  const categories = [...new Set(present.map(String))].sort((a, b) => {
    const [x, y] = [Number(a), Number(b)];
    return Number.isFinite(x) && Number.isFinite(y) ? x - y : a.localeCompare(b);
  });
  return { kind: 'categorical', categories };
}

/**
 * Where `value` sits on `scale`, from 0 (start) to 1 (end); a numeric axis with one distinct value
 * puts it in the middle, a categorical axis spreads its categories evenly (one category: middle).
 * `undefined` for a missing value or one the axis cannot place (NaN on a numeric axis).
 *
 * @example
 * positionOn({ kind: 'numeric', min: 0, max: 10 }, 2.5); // 0.25
 * positionOn({ kind: 'categorical', categories: ['a', 'b', 'c'] }, 'c'); // 1
 */
export function positionOn(scale: AxisScale, value: CellValue): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (scale.kind === 'numeric') {
    const n = toNumber(value);
    if (!Number.isFinite(n)) return undefined;
    return scale.max === scale.min ? 0.5 : (n - scale.min) / (scale.max - scale.min);
  }
  const index = scale.categories.indexOf(String(value));
  if (index === -1) return undefined;
  return scale.categories.length === 1 ? 0.5 : index / (scale.categories.length - 1);
}

/**
 * Labels to draw along an axis with their positions: the categories; or, for numbers, the ends of
 * the range (the runs' smallest and largest value) and round values between them (multiples of
 * 1, 2 or 5 × 10ⁿ, about `count` in all), leaving out round values too close to an end to read.
 *
 * @example
 * axisTicks({ kind: 'numeric', min: 50, max: 101 }).map((t) => t.label); // ['50', '60', '70', '80', '90', '101']
 */
export function axisTicks(scale: AxisScale, count = 5): { position: number; label: string }[] {
  if (scale.kind === 'categorical') {
    return scale.categories.map((label) => ({ position: positionOn(scale, label) ?? 0.5, label }));
  }
  const { min, max } = scale;
  if (max === min) return [{ position: 0.5, label: tickLabel(min) }];
  const step = niceStep((max - min) / count);
  const ticks = [{ position: 0, label: tickLabel(min) }];
  const first = Math.ceil(min / step);
  for (let i = first; i * step < max; i++) {
    const position = (i * step - min) / (max - min);
    if (position > 0.08 && position < 0.92) ticks.push({ position, label: tickLabel(i * step) });
  }
  ticks.push({ position: 1, label: tickLabel(max) });
  return ticks;
}

/** The round step (1, 2 or 5 × 10ⁿ) nearest to `rough` (on a log scale, as d3's ticks choose). */
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  return (
    (fraction >= Math.sqrt(50) ? 10 : fraction >= Math.sqrt(10) ? 5 : fraction >= Math.sqrt(2) ? 2 : 1) *
    power
  );
}

function toNumber(value: string | number): number {
  return typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
}

function tickLabel(raw: number): string {
  // Steps like 0.1 add up to 0.30000000000000004: round away the float noise first.
  const value = Number.parseFloat(raw.toPrecision(12));
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-3)) return value.toExponential(2);
  return String(Number.parseFloat(value.toPrecision(4)));
}
