import type { Run } from '@keel/core';
import { useEffect } from 'react';
import { RunCharts } from '../../components/charts/run-charts';
import { EmptyState } from '../../components/empty-state';
import { formatMetric, formatTimestamp } from '../../lib/format';
import { hrefWithQuery } from '../../router/history';
import { Link } from '../../router/link';
import { KeyValueTable } from './key-value-table';
import { runViewQuery } from './run-view-state';

/** Props of {@link RunMetrics}. */
export interface RunMetricsProps {
  run: Run;
  /** The metric named by `?metric=`: its row is marked and the charts section scrolled into view. */
  focusMetric: string;
}

/**
 * The metrics tab: each metric's latest value with its step and time, then the charts section.
 * A metric's name links to `?tab=metrics&metric=<key>`, which scrolls to the charts.
 */
export function RunMetrics({ run, focusMetric }: RunMetricsProps) {
  const runId = run.info.run_id;
  const metrics = [...(run.data.metrics ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  const metricKeys = metrics.map((metric) => metric.key);

  useEffect(() => {
    if (focusMetric !== '') document.getElementById('charts')?.scrollIntoView({ block: 'start' });
  }, [focusMetric]);

  if (metrics.length === 0) {
    return (
      <EmptyState title="No metrics logged">
        <p>
          Log metrics from your training loop, e.g. <code>mlflow.log_metric("loss", 0.42, step=epoch)</code>{' '}
          in Python or{' '}
          <code>
            run.logMetric('loss', 0.42, {'{'} step: epoch {'}'})
          </code>{' '}
          with the Keel SDK.
        </p>
      </EmptyState>
    );
  }
  return (
    <div className="run-tab-body">
      <KeyValueTable
        caption="Metrics: latest values"
        headings={['Metric', 'Latest value', 'Step', 'Logged at']}
        rows={metrics.map((metric) => ({
          key: metric.key,
          value: formatMetric(metric.value),
          extra: [String(metric.step), formatTimestamp(metric.timestamp)],
        }))}
        renderKey={(key) => (
          <Link
            href={hrefWithQuery(
              `/runs/${encodeURIComponent(runId)}`,
              runViewQuery({ tab: 'metrics', metric: key }),
            )}
            aria-current={key === focusMetric ? 'true' : undefined}
            title={`Show the chart of ${key}`}
          >
            {key}
          </Link>
        )}
      />

      {/* The charts section: RunCharts (components/charts) draws every metric of the run. Metric names
          above link to `?metric=<key>`; that chart comes first and the page scrolls here. */}
      <section id="charts" className="run-card charts-section" aria-labelledby="charts-heading">
        <h2 id="charts-heading">Charts</h2>
        <RunCharts runId={runId} metricKeys={metricKeys} focusMetric={focusMetric} />
      </section>
    </div>
  );
}
