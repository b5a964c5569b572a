import { describe, expect, it } from 'vitest';
import {
  alignColumns,
  chartColumns,
  formatCompact,
  lastValue,
  positiveOnly,
  type SampledPoint,
  stepRangeFor,
  toRunSeries,
} from './chart-data';
import { formatElapsed, formatTick } from './plot-options';

const point = (run_id: string, step: number, timestamp: number, value: number | string): SampledPoint => ({
  run_id,
  step,
  timestamp,
  value,
});

describe('toRunSeries', () => {
  const points = [
    point('b', 1, 5_000, 0.5),
    point('a', 2, 3_000, 'NaN'),
    point('a', 0, 1_000, 2),
    point('a', 1, 2_000, 1),
    point('a', 1, 2_500, 1.5),
  ];

  it('groups by run in the given order, one point per step (the last logged), x = step', () => {
    const [a, b, c] = toRunSeries(points, ['a', 'b', 'c'], 'step');
    expect([...(a?.xs ?? [])]).toEqual([0, 1, 2]);
    expect(a?.ys).toEqual([2, 1.5, null]);
    expect([...(b?.xs ?? [])]).toEqual([1]);
    expect(c?.xs.length).toBe(0);
  });

  it('uses seconds for wall time and seconds since the first point for relative time', () => {
    const [wall] = toRunSeries(points, ['a'], 'wall');
    expect([...(wall?.xs ?? [])]).toEqual([1, 2.5, 3]);
    const [relative] = toRunSeries(points, ['a'], 'relative');
    expect([...(relative?.xs ?? [])]).toEqual([0, 1.5, 2]);
    expect([...(relative?.steps ?? [])]).toEqual([0, 1, 2]);
  });

  it('orders a time axis by time even when time does not grow with the step', () => {
    const [run] = toRunSeries([point('a', 0, 9_000, 1), point('a', 1, 4_000, 2)], ['a'], 'wall');
    expect([...(run?.xs ?? [])]).toEqual([4, 9]);
    expect(run?.ys).toEqual([2, 1]);
  });
});

describe('alignColumns', () => {
  it('joins different x values, leaving undefined where a column has no point', () => {
    const [xs, first, second] = alignColumns([
      { xs: Float64Array.from([0, 2]), ys: [1, null] },
      { xs: Float64Array.from([1, 2]), ys: [5, 6] },
    ]);
    expect([...xs]).toEqual([0, 1, 2]);
    expect(first).toEqual([1, undefined, null]);
    expect(second).toEqual([undefined, 5, 6]);
  });

  it('shares the x column when every column has the same one', () => {
    const xs = Float64Array.from([0, 1]);
    const aligned = alignColumns([
      { xs, ys: [1, 2] },
      { xs, ys: [3, 4] },
    ]);
    expect(aligned[0]).toBe(xs);
    expect(aligned.slice(1)).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
});

describe('chartColumns', () => {
  const series = toRunSeries([point('a', 0, 0, 1), point('a', 1, 0, -1), point('a', 2, 0, 4)], ['a'], 'step');

  it('adds a smoothed column after each raw one', () => {
    const columns = chartColumns(series, { logY: false, smoothing: 0.5 });
    expect(columns).toHaveLength(3);
    expect(columns[1]).toEqual([1, -1, 4]);
    expect(columns[2]?.[0]).toBe(1);
  });

  it('drops zero and negative values on a log axis', () => {
    expect(chartColumns(series, { logY: true, smoothing: 0 })[1]).toEqual([1, null, 4]);
    expect(positiveOnly([0, 2, null])).toEqual([null, 2, null]);
  });

  it('finds the last drawable value', () => {
    expect(lastValue([1, 2, null, undefined])).toBe(2);
    expect(lastValue([])).toBeUndefined();
  });
});

describe('stepRangeFor', () => {
  it('rounds outwards on the step axis', () => {
    expect(stepRangeFor([], 'step', 1200.4, 5099.7)).toEqual({ start: 1200, end: 5100 });
    expect(stepRangeFor([], 'step', -50, 10)).toEqual({ start: 0, end: 10 });
  });

  it('takes the steps of the points in a time range plus one neighbour each side', () => {
    const points = [0, 1, 2, 3, 4, 5].map((i) => point('a', i * 100, i * 10_000, i));
    const series = toRunSeries(points, ['a'], 'relative');
    expect(stepRangeFor(series, 'relative', 15, 35)).toEqual({ start: 100, end: 400 });
    expect(stepRangeFor(series, 'relative', 100, 200)).toEqual({ start: 500, end: 500 });
    expect(stepRangeFor([], 'relative', 0, 1)).toBeUndefined();
  });
});

describe('axis labels', () => {
  it('writes steps compactly', () => {
    expect(formatCompact(1_000_000)).toBe('1M');
    expect(formatCompact(250_000)).toBe('250k');
    expect(formatCompact(1500)).toBe('1.5k');
    expect(formatCompact(12)).toBe('12');
  });

  it('writes y ticks with 4 significant digits', () => {
    expect(formatTick(0.000012)).toBe('1.2e-5');
    expect(formatTick(0.25)).toBe('0.25');
    expect(formatTick(1 / 3)).toBe('0.3333');
    expect(formatTick(25_000)).toBe('25k');
  });

  it('writes relative time with at most two units', () => {
    expect(formatElapsed(0)).toBe('0');
    expect(formatElapsed(0.5)).toBe('0.5s');
    expect(formatElapsed(45)).toBe('45s');
    expect(formatElapsed(600)).toBe('10m');
    expect(formatElapsed(630)).toBe('10m 30s');
    expect(formatElapsed(5400)).toBe('1h 30m');
    expect(formatElapsed(2 * 86400)).toBe('2d');
  });
});
