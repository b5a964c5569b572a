import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { getRun } from '../../api/runs';
import { ErrorNotice } from '../error-notice';
import { ChartControls } from './chart-controls';
import { type ChartRun, MetricChart } from './metric-chart';
import { useChartView } from './use-chart-view';

/** Props of {@link RunCharts}. */
export interface RunChartsProps {
  runId: string;
  /** The run's metric keys, when the caller has them already (the run page does); fetched otherwise. */
  metricKeys?: readonly string[];
  /** A metric to chart first (the run page's `?metric=`). */
  focusMetric?: string;
}

/**
 * Every metric of one run, one {@link MetricChart} each in a responsive grid, under one set of
 * controls (x axis, log scale, smoothing) that all charts share and the URL keeps (`x`, `log`,
 * `smooth`). Charts below the fold fetch and draw when scrolled near.
 *
 * @example
 * <RunCharts runId={runId} metricKeys={['acc', 'loss']} focusMetric="loss" />
 */
export function RunCharts({ runId, metricKeys, focusMetric = '' }: RunChartsProps) {
  const [view, setView] = useChartView();
  // Shares the run page's cache entry (same key, same call).
  const run = useQuery({ queryKey: ['run', runId], queryFn: ({ signal }) => getRun(runId, signal) });
  const runName = run.data?.info.run_name || runId;
  const runs = useMemo<ChartRun[]>(() => [{ runId, name: runName, colorIndex: 0 }], [runId, runName]);
  const fetchedKeys = run.data?.data.metrics?.map((metric) => metric.key);
  const keys = orderedKeys(metricKeys ?? fetchedKeys ?? [], focusMetric);

  if (metricKeys === undefined && run.error)
    return <ErrorNotice error={run.error} title="Could not load the run" />;
  if (metricKeys === undefined && run.isPending)
    return <p className="muted loading-line">Loading the charts…</p>;
  if (keys.length === 0) {
    return <p className="muted">This run has no metrics to chart yet: log one and it appears here.</p>;
  }
  return (
    <div className="run-charts">
      <ChartControls view={view} onChange={setView} />
      <div className="chart-grid">
        {keys.map((key) => (
          <MetricChart key={key} metricKey={key} runs={runs} view={view} />
        ))}
      </div>
    </div>
  );
}

/**
 * Metric keys sorted by name, without repeats, `first` (when present) moved to the front.
 *
 * @example
 * orderedKeys(['loss', 'acc', 'lr'], 'lr'); // ['lr', 'acc', 'loss']
 */
export function orderedKeys(keys: readonly string[], first: string): string[] {
  const sorted = [...new Set(keys)].sort((a, b) => a.localeCompare(b));
  const index = sorted.indexOf(first);
  if (index > 0) sorted.unshift(...sorted.splice(index, 1));
  return sorted;
}
