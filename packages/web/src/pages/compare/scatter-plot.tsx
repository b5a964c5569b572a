import { useRef } from 'react';
import { seriesColor } from '../../components/charts/series-colors';
import {
  type AxisScale,
  axisScaleOf,
  axisTicks,
  type CompareColumn,
  columnIdOf,
  columnValues,
  positionOn,
} from './compare-data';
import type { CompareRun } from './compare-run';
import { useElementWidth } from './use-element-width';

/** Props of {@link ScatterPlot}. */
export interface ScatterPlotProps {
  runs: readonly CompareRun[];
  x: CompareColumn;
  y: CompareColumn;
}

const HEIGHT = 340;
const MARGIN = { top: 16, right: 28, bottom: 48, left: 76 };
/** Points keep this share of the plot free at each edge, so none sits on an axis line. */
const INSET = 0.06;
/** Up to this many runs, each point is labelled with its run's name. */
const LABELLED_RUNS = 12;

/**
 * One point per run at (its value in `x`, its value in `y`), in the run's colour: any two params or
 * latest metric values. Numeric columns get a linear axis; text ones a categorical axis. Runs
 * missing either value are left out (and counted under the plot).
 */
export function ScatterPlot({ runs, x, y }: ScatterPlotProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const width = Math.max(320, useElementWidth(hostRef));
  const plain = runs.map((entry) => entry.run);
  const xs = columnValues(plain, x);
  const ys = columnValues(plain, y);
  const xScale = axisScaleOf(xs);
  const yScale = axisScaleOf(ys);
  const left = MARGIN.left;
  const right = width - MARGIN.right;
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  const px = (position: number) => left + (INSET + position * (1 - 2 * INSET)) * (right - left);
  const py = (position: number) => bottom - (INSET + position * (1 - 2 * INSET)) * (bottom - top);

  const points = runs.flatMap((entry, index) => {
    const xPosition = positionOn(xScale, xs[index]);
    const yPosition = positionOn(yScale, ys[index]);
    if (xPosition === undefined || yPosition === undefined) return [];
    return [{ entry, cx: px(xPosition), cy: py(yPosition), xValue: xs[index], yValue: ys[index] }];
  });
  const missing = runs.length - points.length;

  return (
    <div ref={hostRef} className="plot-host">
      <svg
        className="scatter-plot"
        width={width}
        height={HEIGHT}
        role="img"
        aria-label={`Scatter plot of ${columnIdOf(y)} against ${columnIdOf(x)}, ${points.length} runs`}
      >
        <rect className="scatter-frame" x={left} y={top} width={right - left} height={bottom - top} />
        {gridTicks(xScale).map((tick) => (
          <g key={`x-${tick.position}-${tick.label}`} className="scatter-tick">
            <line x1={px(tick.position)} x2={px(tick.position)} y1={top} y2={bottom} />
            <text x={px(tick.position)} y={bottom + 16} textAnchor="middle">
              {tick.label}
            </text>
          </g>
        ))}
        {gridTicks(yScale).map((tick) => (
          <g key={`y-${tick.position}-${tick.label}`} className="scatter-tick">
            <line x1={left} x2={right} y1={py(tick.position)} y2={py(tick.position)} />
            <text x={left - 8} y={py(tick.position)} textAnchor="end" dominantBaseline="middle">
              {tick.label}
            </text>
          </g>
        ))}
        <text className="scatter-axis-title" x={(left + right) / 2} y={HEIGHT - 8} textAnchor="middle">
          {columnIdOf(x)}
        </text>
        <text
          className="scatter-axis-title"
          transform={`translate(16 ${(top + bottom) / 2}) rotate(-90)`}
          textAnchor="middle"
        >
          {columnIdOf(y)}
        </text>
        {points.map(({ entry, cx, cy, xValue, yValue }) => (
          <g key={entry.run.info.run_id} className="scatter-point" data-run-id={entry.run.info.run_id}>
            <title>{`${entry.name}: ${x.key} = ${xValue}, ${y.key} = ${yValue}`}</title>
            <circle cx={cx} cy={cy} r={6} fill={seriesColor(entry.colorIndex)} />
            {runs.length <= LABELLED_RUNS && (
              <text x={cx + 9} y={cy} dominantBaseline="middle">
                {entry.name}
              </text>
            )}
          </g>
        ))}
      </svg>
      {missing > 0 && (
        <p className="muted small">
          {missing} run{missing === 1 ? '' : 's'} without both values {missing === 1 ? 'is' : 'are'} not
          shown.
        </p>
      )}
    </div>
  );
}

/** Tick labels of an axis; a categorical axis with many values shows every few, to stay legible. */
function gridTicks(scale: AxisScale): { position: number; label: string }[] {
  const ticks = axisTicks(scale);
  if (ticks.length <= 12) return ticks.map((tick) => ({ ...tick, label: shorten(tick.label) }));
  const every = Math.ceil(ticks.length / 12);
  return ticks.filter((_, i) => i % every === 0).map((tick) => ({ ...tick, label: shorten(tick.label) }));
}

function shorten(label: string): string {
  return label.length <= 14 ? label : `${label.slice(0, 13)}…`;
}
