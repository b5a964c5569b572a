import type { MetricWithRunId } from '@keel/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { type KeyboardEvent, useId, useMemo, useRef, useState } from 'react';
import type uPlot from 'uplot';
import { getSampledHistory } from '../../api/metrics';
import { formatDuration, formatMetric, formatTimestamp } from '../../lib/format';
import { ErrorNotice } from '../error-notice';
import {
  type ChartColumns,
  chartColumns,
  lastValue,
  type RunSeries,
  type StepRange,
  stepRangeFor,
  toRunSeries,
} from './chart-data';
import type { ChartViewState, XAxisMode } from './chart-view-state';
import type { PlotHandlers, PlotSeries } from './plot-options';
import { type ChartPalette, seriesColor, withAlpha } from './series-colors';
import { useChartPalette } from './use-chart-palette';
import { useSeenInView } from './use-in-view';
import { useUplot, type XRange } from './use-uplot';

/** A run drawn on a chart. */
export interface ChartRun {
  runId: string;
  /** Shown in the legend. */
  name: string;
  /** Which series colour the run gets (its place in the page's list of runs). */
  colorIndex: number;
}

/** Props of {@link MetricChart}. */
export interface MetricChartProps {
  metricKey: string;
  /** The runs to overlay. Keep the array's identity stable (`useMemo`): a new array redraws the chart. */
  runs: readonly ChartRun[];
  /** x axis, log scale, smoothing (usually shared by every chart of the page, from the URL). */
  view: ChartViewState;
  /** Plot height in CSS pixels. @default 220 */
  height?: number;
  /** Steps sampled per run and request (1–2500). @default 1000 */
  maxPoints?: number;
}

/** Enough points for a crisp line at any chart width, few enough to arrive and draw in milliseconds. */
const DEFAULT_MAX_POINTS = 1000;
/** `get-history-bulk-interval` takes at most 100 runs per call. */
const RUNS_PER_REQUEST = 100;

/** A zoom (a drag across the plot, or a key): the x range shown and the steps fetched for it. */
interface Zoom extends XRange {
  xAxis: XAxisMode;
  steps: StepRange | undefined;
}

/**
 * One metric of one or more runs as a line chart (uPlot on a canvas), with a legend of run names in
 * their colours. The data is a sample from `get-history-bulk-interval` — about `maxPoints` steps per
 * run however long the history is — and dragging across the plot zooms in and re-fetches a sample of
 * just the visible steps; double-click (or "Reset zoom") goes back. From the keyboard, with the plot
 * focused: `+` zooms into the middle half, `-` goes back one zoom, `←` / `→` move a zoomed step
 * axis by a quarter of its width, `0` or Escape resets. The chart fetches and draws only
 * once it is scrolled near the screen. When drawn, the card carries `data-chart-state="drawn"` and
 * `data-points` (the number of points on the canvas), and a `keel-chart-drawn` performance mark is set.
 *
 * @example
 * <MetricChart metricKey="loss" runs={runs} view={{ xAxis: 'step', logY: true, smoothing: 0.6 }} />
 */
export function MetricChart({
  metricKey,
  runs,
  view,
  height = 220,
  maxPoints = DEFAULT_MAX_POINTS,
}: MetricChartProps) {
  const cardRef = useRef<HTMLElement>(null);
  const plotHost = useRef<HTMLDivElement>(null);
  const visible = useSeenInView(cardRef);
  const palette = useChartPalette(cardRef);
  // Zooms in the order they were made; the last is shown, `-` goes back to the one before.
  const [zooms, setZooms] = useState<readonly Zoom[]>([]);
  const zoom = zooms.at(-1);
  const keysHintId = useId();
  const [hidden, setHidden] = useState<ReadonlySet<string>>(() => new Set());
  const [cursor, setCursor] = useState<number | null>(null);
  const activeZoom = zoom?.xAxis === view.xAxis ? zoom : undefined;
  const runIds = useMemo(() => runs.map((run) => run.runId), [runs]);

  const steps = activeZoom?.steps;
  const sample = useQuery({
    queryKey: ['metric-sample', metricKey, runIds, maxPoints, steps?.start ?? null, steps?.end ?? null],
    queryFn: ({ signal }) => fetchSample(runIds, metricKey, maxPoints, steps, signal),
    enabled: visible && runIds.length > 0,
    placeholderData: keepPreviousData,
  });

  const series = useMemo(
    () => toRunSeries(sample.data ?? [], runIds, view.xAxis),
    [sample.data, runIds, view.xAxis],
  );
  const { logY, smoothing, xAxis } = view;
  const columns = useMemo(() => chartColumns(series, { logY, smoothing }), [series, logY, smoothing]);
  const perRun = smoothing > 0 ? 2 : 1;

  // The plot's callbacks are made once; they read what changes through this ref.
  const latest = useRef({ series, xAxis });
  latest.current = { series, xAxis };
  const handlers = useMemo<PlotHandlers>(
    () => ({
      onZoom: (xMin, xMax) => setZooms((stack) => pushZoom(stack, latest.current, xMin, xMax)),
      onResetZoom: () => setZooms([]),
      onCursor: setCursor,
      onDraw: (plot) => markDrawn(cardRef.current, plot, metricKey),
    }),
    [metricKey],
  );
  const spec = useMemo(
    () =>
      palette === undefined || !visible
        ? undefined
        : {
            height,
            xAxis,
            logY,
            palette,
            handlers,
            series: plotSeries(runs, hidden, smoothing > 0, palette),
          },
    [palette, visible, height, xAxis, logY, handlers, runs, hidden, smoothing],
  );
  useUplot(plotHost, spec, columns, activeZoom);

  const pointCount = series.reduce((sum, run) => sum + run.xs.length, 0);
  const empty = sample.isSuccess && pointCount === 0;
  const toggleRun = (runId: string) =>
    setHidden((set) => {
      const next = new Set(set);
      if (next.has(runId)) next.delete(runId);
      else next.add(runId);
      return next;
    });

  const onPlotKey = (event: KeyboardEvent<HTMLDivElement>) => {
    const next = keyZoom(event.key, zooms, activeZoom, columns[0], latest.current);
    if (next === undefined) return;
    event.preventDefault();
    setZooms(next);
  };

  return (
    <figure className="metric-chart" ref={cardRef} data-metric={metricKey} data-chart-state="pending">
      <figcaption className="metric-chart-header">
        <h3 className="metric-chart-title">{metricKey}</h3>
        <span className="metric-chart-meta muted">
          {cursor !== null && columns[0][cursor] !== undefined
            ? formatX(columns[0][cursor] as number, xAxis)
            : sample.isPlaceholderData
              ? 'Sampling the visible steps…'
              : sampleSummary(series, activeZoom)}
        </span>
        {activeZoom !== undefined && (
          <button type="button" className="button small" onClick={() => setZooms([])}>
            Reset zoom
          </button>
        )}
      </figcaption>
      <div className="metric-chart-plot" style={{ height }}>
        <div
          ref={plotHost}
          role="img"
          // biome-ignore lint/a11y/noNoninteractiveTabindex: the plot takes zoom keys when focused
          tabIndex={0}
          onKeyDown={onPlotKey}
          aria-label={`${metricKey}: line chart of ${runs.length} run${runs.length === 1 ? '' : 's'} by ${X_AXIS_LABELS[xAxis]}`}
          aria-describedby={keysHintId}
        />
        <p id={keysHintId} className="visually-hidden">
          Drag across the chart to zoom in. With the chart focused: plus zooms in, minus goes back one zoom,
          the left and right arrows move along the steps, zero or Escape shows everything.
        </p>
        {(!visible || sample.isPending) && !sample.isError && (
          <p className="metric-chart-overlay muted">Loading {metricKey}…</p>
        )}
        {empty && <p className="metric-chart-overlay muted">No values of {metricKey} logged yet.</p>}
      </div>
      {sample.error && <ErrorNotice error={sample.error} title={`Could not load ${metricKey}`} />}
      <ul className="metric-chart-legend" aria-label={`Runs in the ${metricKey} chart`}>
        {runs.map((run, index) => {
          const column = columns[1 + index * perRun + (perRun - 1)] as
            | (number | null | undefined)[]
            | undefined;
          const value = cursor === null ? lastValue(column) : (column?.[cursor] ?? undefined);
          return (
            <li key={run.runId}>
              <button
                type="button"
                className="legend-item"
                aria-pressed={!hidden.has(run.runId)}
                title={hidden.has(run.runId) ? `Show ${run.name}` : `Hide ${run.name}`}
                onClick={() => toggleRun(run.runId)}
              >
                <span className="legend-swatch" style={{ background: seriesColor(run.colorIndex) }} />
                <span className="legend-name">{run.name}</span>
                <span className="legend-value mono">
                  {value === null || value === undefined ? '—' : formatMetric(value)}
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </figure>
  );
}

const X_AXIS_LABELS: Record<XAxisMode, string> = {
  step: 'step',
  wall: 'wall time',
  relative: 'relative time',
};

/** One sample per chunk of 100 runs, in parallel, joined. */
async function fetchSample(
  runIds: readonly string[],
  metricKey: string,
  maxResults: number,
  stepRange: StepRange | undefined,
  signal: AbortSignal,
): Promise<MetricWithRunId[]> {
  const chunks: string[][] = [];
  for (let i = 0; i < runIds.length; i += RUNS_PER_REQUEST)
    chunks.push(runIds.slice(i, i + RUNS_PER_REQUEST));
  const pages = await Promise.all(
    chunks.map((chunk) =>
      getSampledHistory(
        { runIds: chunk, metricKey, maxResults, ...(stepRange === undefined ? {} : { stepRange }) },
        signal,
      ),
    ),
  );
  return pages.flat();
}

/** The uPlot series of the runs: one line each, or a faint raw line under a smoothed one. */
function plotSeries(
  runs: readonly ChartRun[],
  hidden: ReadonlySet<string>,
  smoothed: boolean,
  palette: ChartPalette,
): PlotSeries[] {
  return runs.flatMap((run) => {
    const color = palette.series[run.colorIndex % palette.series.length] ?? palette.text;
    const show = !hidden.has(run.runId);
    const line: PlotSeries = { label: run.name, color, width: 1.5, show, points: true };
    if (!smoothed) return [line];
    return [
      { label: `${run.name} (raw)`, color: withAlpha(color, 0.25), width: 1, show, points: false },
      line,
    ];
  });
}

/** Marks the card as drawn (for tests and the benchmark) once the canvas holds points. */
function markDrawn(card: HTMLElement | null, plot: uPlot, metricKey: string): void {
  if (card === null) return;
  const points = countPoints(plot.data as ChartColumns);
  card.dataset.points = String(points);
  if (points === 0) return;
  if (card.dataset.chartState !== 'drawn') {
    performance.mark('keel-chart-drawn', { detail: { metric: metricKey, points } });
  }
  card.dataset.chartState = 'drawn';
}

function countPoints(columns: ChartColumns): number {
  let count = 0;
  for (let c = 1; c < columns.length; c++) {
    for (const value of columns[c] ?? []) if (value !== null && value !== undefined) count++;
  }
  return count;
}

function formatX(x: number, xAxis: XAxisMode): string {
  switch (xAxis) {
    case 'step':
      return `step ${x.toLocaleString()}`;
    case 'wall':
      return formatTimestamp(x * 1000);
    case 'relative':
      return `+${formatDuration(x * 1000)}`;
    default: {
      const never: never = xAxis;
      return never;
    }
  }
}

/** `1,000 points · steps 0–999,999`, the range of the (zoomed) sample. */
function sampleSummary(series: readonly RunSeries[], zoom: Zoom | undefined): string {
  let points = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const run of series) {
    points += run.xs.length;
    for (const step of run.steps) {
      first = Math.min(first, step);
      last = Math.max(last, step);
    }
  }
  if (points === 0) return '';
  const range = zoom?.steps ?? { start: first, end: last };
  const label = `${points.toLocaleString()} point${points === 1 ? '' : 's'} · steps ${range.start.toLocaleString()}–${range.end.toLocaleString()}`;
  return zoom === undefined ? label : `${label} (zoomed)`;
}

/** The zoom stack with `[xMin, xMax]` on top; a stack made for another x axis is dropped first. */
function pushZoom(
  stack: readonly Zoom[],
  shown: { series: readonly RunSeries[]; xAxis: XAxisMode },
  xMin: number,
  xMax: number,
): readonly Zoom[] {
  const kept = stack.at(-1)?.xAxis === shown.xAxis ? stack : [];
  return [
    ...kept,
    { xAxis: shown.xAxis, xMin, xMax, steps: stepRangeFor(shown.series, shown.xAxis, xMin, xMax) },
  ];
}

/**
 * The zoom stack after a key pressed on the plot, or `undefined` for a key the chart does not use.
 * `xs` are the x values drawn (the extent when nothing is zoomed). Moving sideways needs the step
 * axis: on a time axis the steps beyond the drawn sample are not known.
 */
function keyZoom(
  key: string,
  stack: readonly Zoom[],
  active: Zoom | undefined,
  xs: ArrayLike<number | null | undefined>,
  shown: { series: readonly RunSeries[]; xAxis: XAxisMode },
): readonly Zoom[] | undefined {
  switch (key) {
    case '0':
    case 'Escape':
      // Nothing zoomed: the key is left to the page.
      return active === undefined ? undefined : [];
    case '-':
    case '_':
      return active === undefined ? undefined : stack.slice(0, -1);
    default:
      break;
  }
  const first = xs[0];
  const last = xs[xs.length - 1];
  if (typeof first !== 'number' || typeof last !== 'number') return undefined;
  const { xMin, xMax } = active ?? { xMin: first, xMax: last };
  const width = xMax - xMin;
  if (!(width > 0)) return undefined;
  switch (key) {
    case '+':
    case '=':
      return pushZoom(stack, shown, xMin + width / 4, xMax - width / 4);
    case 'ArrowLeft':
    case 'ArrowRight': {
      if (active === undefined || shown.xAxis !== 'step') return undefined;
      const shift = key === 'ArrowLeft' ? -Math.min(width / 4, xMin) : width / 4;
      return pushZoom(stack.slice(0, -1), shown, xMin + shift, xMax + shift);
    }
    default:
      return undefined;
  }
}
