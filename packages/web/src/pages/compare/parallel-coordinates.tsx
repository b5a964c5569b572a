import { useRef } from 'react';
import { seriesColor } from '../../components/charts/series-colors';
import {
  type AxisScale,
  axisScaleOf,
  axisTicks,
  type CellValue,
  type CompareColumn,
  columnIdOf,
  columnValues,
  positionOn,
} from './compare-data';
import type { CompareRun } from './compare-run';
import { useElementWidth } from './use-element-width';

/** Props of {@link ParallelCoordinates}. */
export interface ParallelCoordinatesProps {
  runs: readonly CompareRun[];
  /** The param axes, left to right. */
  params: readonly string[];
  /** The metric on the last axis. */
  metric: string;
}

const HEIGHT = 320;
const MARGIN = { top: 44, right: 72, bottom: 20, left: 72 };

/** One vertical axis: its column, the runs' values on it and how they are placed. */
interface Axis {
  column: CompareColumn;
  values: CellValue[];
  scale: AxisScale;
  x: number;
}

/**
 * A parallel-coordinates plot (hand-written SVG): one vertical axis per param, the chosen metric's
 * latest value on the last axis, and one line per run in its colour crossing each axis at its value.
 * Numeric axes run from the smallest value (bottom) to the largest (top); text values get a
 * categorical axis with one tick per distinct value. A run missing a value has a gap at that axis.
 */
export function ParallelCoordinates({ runs, params, metric }: ParallelCoordinatesProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const width = Math.max(360, useElementWidth(hostRef));
  const columns: CompareColumn[] = [
    ...params.map((key): CompareColumn => ({ kind: 'params', key })),
    { kind: 'metrics', key: metric },
  ];
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const axes: Axis[] = columns.map((column, index) => {
    const values = columnValues(
      runs.map((entry) => entry.run),
      column,
    );
    return {
      column,
      values,
      scale: axisScaleOf(values),
      x: MARGIN.left + (columns.length === 1 ? plotWidth / 2 : (index * plotWidth) / (columns.length - 1)),
    };
  });
  const yOf = (position: number) => MARGIN.top + (1 - position) * (HEIGHT - MARGIN.top - MARGIN.bottom);

  return (
    <div ref={hostRef} className="plot-host">
      <svg
        className="parallel-coordinates"
        width={width}
        height={HEIGHT}
        role="img"
        aria-label={`Parallel coordinates: ${params.length} parameter${params.length === 1 ? '' : 's'} against ${metric}, ${runs.length} runs`}
      >
        {runs.map((entry, runIndex) => (
          <g
            key={entry.run.info.run_id}
            className="pc-run"
            data-run-id={entry.run.info.run_id}
            stroke={seriesColor(entry.colorIndex)}
            fill={seriesColor(entry.colorIndex)}
          >
            <title>{`${entry.name}: ${axes.map((axis) => `${axis.column.key} = ${axis.values[runIndex] ?? '—'}`).join(', ')}`}</title>
            <path d={linePath(axes, runIndex, yOf)} fill="none" />
            {axes.map((axis) => {
              const position = positionOn(axis.scale, axis.values[runIndex]);
              return position === undefined ? null : (
                <circle key={columnIdOf(axis.column)} cx={axis.x} cy={yOf(position)} r={3} />
              );
            })}
          </g>
        ))}
        {axes.map((axis) => (
          <g
            key={columnIdOf(axis.column)}
            className={axis.column.kind === 'metrics' ? 'pc-axis pc-metric-axis' : 'pc-axis'}
            data-column={columnIdOf(axis.column)}
          >
            <line x1={axis.x} x2={axis.x} y1={yOf(1)} y2={yOf(0)} />
            <text className="pc-axis-kind" x={axis.x} y={MARGIN.top - 26} textAnchor="middle">
              {axis.column.kind === 'metrics' ? 'metric' : 'param'}
            </text>
            <g>
              <title>{axis.column.key}</title>
              <text className="pc-axis-label" x={axis.x} y={MARGIN.top - 12} textAnchor="middle">
                {truncate(axis.column.key, 18)}
              </text>
            </g>
            {axisTicks(axis.scale).map((tick) => (
              <text
                key={`${tick.position}-${tick.label}`}
                className="pc-tick"
                x={axis.x - 6}
                y={yOf(tick.position)}
                textAnchor="end"
                dominantBaseline="middle"
              >
                {truncate(tick.label, 10)}
              </text>
            ))}
          </g>
        ))}
      </svg>
    </div>
  );
}

/** The SVG path of one run across the axes; a missing value breaks the line. */
function linePath(axes: readonly Axis[], runIndex: number, yOf: (position: number) => number): string {
  let path = '';
  let drawing = false;
  for (const axis of axes) {
    const position = positionOn(axis.scale, axis.values[runIndex]);
    if (position === undefined) {
      drawing = false;
      continue;
    }
    path += `${drawing ? 'L' : 'M'}${axis.x.toFixed(1)},${yOf(position).toFixed(1)}`;
    drawing = true;
  }
  return path;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
