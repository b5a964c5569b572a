/**
 * uPlot options for a metric chart: axes formatted for the x mode, linear or log y, drag-to-zoom
 * handed to the caller (who re-fetches the visible steps) instead of uPlot's own rescaling, and
 * double-click to reset the zoom.
 */
import type uPlot from 'uplot';
import { formatCompact } from './chart-data';
import type { XAxisMode } from './chart-view-state';
import type { ChartPalette } from './series-colors';

/** One drawn line. */
export interface PlotSeries {
  /** Shown to screen readers and in uPlot's internals. */
  label: string;
  /** A concrete colour (`rgb(…)`, `rgba(…)`). */
  color: string;
  /** Line width in CSS pixels. */
  width: number;
  show: boolean;
  /** Draws point markers where points are sparse (not for the faint raw line under a smoothed one). */
  points: boolean;
}

/** What the chart does on user gestures. */
export interface PlotHandlers {
  /** A drag selected `[xMin, xMax]`. */
  onZoom(xMin: number, xMax: number): void;
  /** Double-click: back to the whole history. */
  onResetZoom(): void;
  /** The cursor moved to data index `index` (`null`: left the plot). */
  onCursor(index: number | null): void;
  /** The chart finished drawing. */
  onDraw(plot: uPlot): void;
}

/** Everything {@link plotOptions} needs. */
export interface PlotSpec {
  width: number;
  height: number;
  xAxis: XAxisMode;
  logY: boolean;
  series: readonly PlotSeries[];
  palette: ChartPalette;
  handlers: PlotHandlers;
}

/** Builds the uPlot options of a metric chart. */
export function plotOptions(spec: PlotSpec): uPlot.Options {
  const { palette, handlers } = spec;
  const axis = {
    stroke: palette.text,
    grid: { stroke: palette.grid, width: 1 },
    ticks: { stroke: palette.grid },
  };
  return {
    width: spec.width,
    height: spec.height,
    legend: { show: false },
    scales: {
      x: { time: spec.xAxis === 'wall' },
      y: spec.logY ? { distr: 3, log: 10 } : { distr: 1 },
    },
    axes: [
      { ...axis, size: 36, ...xAxisTicks(spec.xAxis) },
      { ...axis, values: (_plot, splits) => splits.map(tickOrBlank(formatTick)), size: yAxisSize },
    ],
    series: [
      {},
      ...spec.series.map(
        (line): uPlot.Series => ({
          label: line.label,
          stroke: line.color,
          width: line.width,
          show: line.show,
          spanGaps: false,
          ...(line.points ? { points: { size: 5, fill: line.color } } : { points: { show: false } }),
        }),
      ),
    ],
    cursor: {
      drag: { x: true, y: false, setScale: false },
      points: { size: 7 },
      bind: {
        dblclick: () => () => {
          handlers.onResetZoom();
          return null;
        },
      },
    },
    hooks: {
      setSelect: [(plot) => zoomToSelection(plot, handlers)],
      setCursor: [(plot) => handlers.onCursor(plot.cursor.idx ?? null)],
      draw: [(plot) => handlers.onDraw(plot)],
    },
  };
}

function zoomToSelection(plot: uPlot, handlers: PlotHandlers): void {
  const { left, width } = plot.select;
  if (width < 4) return;
  const xMin = plot.posToVal(left, 'x');
  const xMax = plot.posToVal(left + width, 'x');
  plot.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
  handlers.onZoom(xMin, xMax);
}

/** Tick placement and labels of the x axis: uPlot's own for wall time, compact steps, whole durations. */
function xAxisTicks(xAxis: XAxisMode): Pick<uPlot.Axis, 'values' | 'incrs' | 'space'> {
  switch (xAxis) {
    case 'wall':
      return { space: 70 };
    case 'step':
      return { values: (_plot, splits) => splits.map(tickOrBlank(formatCompact)), space: 50 };
    case 'relative':
      return {
        values: (_plot, splits) => splits.map(tickOrBlank(formatElapsed)),
        incrs: ELAPSED_INCREMENTS,
        space: 64,
      };
    default: {
      const never: never = xAxis;
      return never;
    }
  }
}

/** Tick spacings of a relative-time axis, in seconds: the round durations a person reads easily. */
const ELAPSED_INCREMENTS = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
  3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600, 2592000,
];

/**
 * Seconds since a run's first point as a tick label: the largest unit, and the next one only when
 * it is not zero.
 *
 * @example
 * formatElapsed(0.5); // '0.5s'
 * formatElapsed(600); // '10m'
 * formatElapsed(5400); // '1h 30m'
 */
export function formatElapsed(seconds: number): string {
  if (seconds === 0) return '0';
  const sign = seconds < 0 ? '-' : '';
  const s = Math.abs(seconds);
  if (s < 60) return `${sign}${Number.parseFloat(s.toPrecision(3))}s`;
  const units: [number, string][] = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  const index = units.findIndex(([size]) => s >= size);
  const [size, name] = units[index] as [number, string];
  const whole = Math.floor(s / size);
  const next = units[index + 1];
  const rest = next === undefined ? 0 : Math.round((s - whole * size) / next[0]);
  return rest === 0 || next === undefined
    ? `${sign}${whole}${name}`
    : `${sign}${whole}${name} ${rest}${next[1]}`;
}

/** uPlot leaves `null` in the splits of a log axis where it skips a label. */
function tickOrBlank(format: (value: number) => string): (value: number | null) => string {
  return (value) => (value === null || value === undefined ? '' : format(value));
}

/**
 * A y tick label: 4 significant digits, k/M/G for large values, exponent for tiny ones.
 *
 * @example
 * formatTick(0.000012); // '1.2e-5'
 * formatTick(0.25); // '0.25'
 * formatTick(25000); // '25k'
 */
export function formatTick(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return formatCompact(value);
  if (magnitude !== 0 && magnitude < 1e-3) return value.toExponential(1).replace('.0e', 'e');
  return String(Number.parseFloat(value.toPrecision(4)));
}

/** Wide enough for the longest tick label (uPlot's default 50px clips `0.0001234`). */
function yAxisSize(_plot: uPlot, values: string[] | null): number {
  const longest = values?.reduce((max, value) => Math.max(max, value.length), 0) ?? 4;
  return Math.max(36, longest * 7 + 18);
}
