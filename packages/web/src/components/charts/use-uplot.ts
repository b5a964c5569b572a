import { type RefObject, useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartColumns } from './chart-data';
import { type PlotSpec, plotOptions } from './plot-options';

/** An x range to show instead of the whole data (a zoom). */
export interface XRange {
  xMin: number;
  xMax: number;
}

/**
 * Draws `data` with uPlot inside `host`. The chart is built again when `spec` changes (series,
 * axes, colours) and only re-fed when `data` or `xRange` change, so a zoom's re-fetched points
 * replace the coarse ones without a flash. The width follows the host's width.
 */
export function useUplot(
  host: RefObject<HTMLDivElement | null>,
  spec: Omit<PlotSpec, 'width'> | undefined,
  data: ChartColumns,
  xRange: XRange | undefined,
): void {
  const plotRef = useRef<uPlot | null>(null);
  const dataRef = useRef(data);
  const rangeRef = useRef(xRange);
  // What the chart shows now, so that feeding it the same again is skipped.
  const shownRef = useRef<{ data: ChartColumns; xRange: XRange | undefined }>(undefined);
  dataRef.current = data;
  rangeRef.current = xRange;

  useEffect(() => {
    const element = host.current;
    if (element === null || spec === undefined) return;
    const plot = new uPlot(plotOptions({ ...spec, width: element.clientWidth }), dataRef.current, element);
    showRange(plot, rangeRef.current);
    shownRef.current = { data: dataRef.current, xRange: rangeRef.current };
    plotRef.current = plot;
    let width = element.clientWidth;
    const observer = new ResizeObserver(() => {
      if (element.clientWidth === width) return;
      width = element.clientWidth;
      plot.setSize({ width, height: spec.height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
      plotRef.current = null;
    };
  }, [host, spec]);

  useEffect(() => {
    const plot = plotRef.current;
    const shown = shownRef.current;
    if (plot === null || (shown?.data === data && shown.xRange === xRange)) return;
    plot.setData(data, xRange === undefined);
    showRange(plot, xRange);
    shownRef.current = { data, xRange };
  }, [data, xRange]);
}

function showRange(plot: uPlot, range: XRange | undefined): void {
  if (range !== undefined) plot.setScale('x', { min: range.xMin, max: range.xMax });
}
