import type { Run } from '@keel/core';
import { type UseQueryResult, useQueries, useQuery } from '@tanstack/react-query';
import { useId, useMemo } from 'react';
import { getRun } from '../../api/runs';
import { getExperiment } from '../../api/tracking';
import { ChartControls } from '../../components/charts/chart-controls';
import type { ChartViewState } from '../../components/charts/chart-view-state';
import type { ChartRun } from '../../components/charts/metric-chart';
import { MetricChart } from '../../components/charts/metric-chart';
import { useChartView } from '../../components/charts/use-chart-view';
import { EmptyState } from '../../components/empty-state';
import { ErrorNotice } from '../../components/error-notice';
import { PageHeader } from '../../components/page-header';
import { formatMetric } from '../../lib/format';
import { navigate } from '../../router/history';
import type { PageProps } from '../../routes';
import {
  type CompareColumn,
  columnIdOf,
  columnsOf,
  columnValues,
  metricKeysOf,
  metricRows,
  paramRows,
  parseColumnId,
} from './compare-data';
import type { CompareRun } from './compare-run';
import { CompareRunCards } from './compare-run-cards';
import { type CompareViewState, parseCompareView, withCompareView } from './compare-view-state';
import { DiffTable } from './diff-table';
import { ParallelCoordinates } from './parallel-coordinates';
import { ScatterPlot } from './scatter-plot';

/**
 * `/compare?runs=a,b,…` — runs side by side: a header card per run, every metric's history overlaid
 * (one chart per metric, shared x axis / log / smoothing controls), a parameter table that highlights
 * differing values, the latest metric values, a parallel-coordinates plot of the params against a
 * chosen metric, and a scatter of any two columns. Every selection lives in the URL
 * (`compare-view-state.ts`, and `x`/`log`/`smooth` for the charts).
 */
export function ComparePage({ query }: PageProps) {
  const view = parseCompareView(query);
  const [chartView, setChartView] = useChartView();
  const loaded = useQueries({
    queries: view.runIds.map((runId) => ({
      queryKey: ['run', runId],
      queryFn: ({ signal }: { signal: AbortSignal }) => getRun(runId, signal),
    })),
    combine: combineRuns,
  });
  const setView = (next: Partial<CompareViewState>, replace = true) => {
    const search = withCompareView(new URLSearchParams(window.location.search), { ...view, ...next });
    // Commas are fine in a query and keep `runs=a,b` readable.
    navigate(`/compare?${search.toString().replaceAll('%2C', ',')}`, { replace });
  };

  const experimentId = sharedExperiment(loaded.runs);
  const experiment = useQuery({
    queryKey: ['experiment', experimentId],
    queryFn: ({ signal }) => getExperiment(experimentId ?? '', signal),
    enabled: experimentId !== undefined,
  });
  const breadcrumbs = [
    { label: 'Experiments', href: '/experiments' },
    ...(experimentId === undefined
      ? []
      : [
          {
            label: experiment.data?.name ?? `Experiment ${experimentId}`,
            href: `/experiments/${experimentId}`,
          },
        ]),
  ];

  if (view.runIds.length === 0) {
    return (
      <div className="page">
        <PageHeader title="Compare runs" breadcrumbs={breadcrumbs} />
        <EmptyState title="Pick the runs to compare">
          <p>
            Open an experiment, tick two or more runs in its table and press <strong>Compare</strong>. A
            comparison is a link you can share: <code>/compare?runs=&lt;run id&gt;,&lt;run id&gt;</code>.
          </p>
        </EmptyState>
      </div>
    );
  }

  return (
    <div className="page compare-page">
      <PageHeader
        title="Compare runs"
        breadcrumbs={breadcrumbs}
        subtitle={`${view.runIds.length} run${view.runIds.length === 1 ? '' : 's'}${
          experiment.data === undefined ? '' : ` of ${experiment.data.name}`
        }`}
      />
      {loaded.errors.map(({ index, error }) => (
        <ErrorNotice
          key={view.runIds[index]}
          error={error}
          title={`Could not load run ${view.runIds[index]}`}
        />
      ))}
      {loaded.pending ? (
        <p className="muted loading-line">Loading the runs…</p>
      ) : (
        <>
          <CompareRunCards
            runs={loaded.runs}
            onRemove={(runId) => setView({ runIds: view.runIds.filter((id) => id !== runId) }, false)}
          />
          <ComparisonSections
            runs={loaded.runs}
            view={view}
            setView={setView}
            chartView={chartView}
            setChartView={setChartView}
          />
        </>
      )}
    </div>
  );
}

/** The loaded runs (each with its colour: its place in `runs=`), the failures, and whether any is loading. */
interface LoadedRuns {
  runs: CompareRun[];
  errors: { index: number; error: unknown }[];
  pending: boolean;
}

// Module-level, so TanStack Query keeps the combined result's identity while no query changes.
function combineRuns(results: UseQueryResult<Run>[]): LoadedRuns {
  const runs: CompareRun[] = [];
  const errors: LoadedRuns['errors'] = [];
  results.forEach((result, index) => {
    if (result.data !== undefined) {
      runs.push({
        run: result.data,
        name: result.data.info.run_name || result.data.info.run_id,
        colorIndex: index,
      });
    } else if (result.error) errors.push({ index, error: result.error });
  });
  return { runs, errors, pending: results.some((result) => result.isPending) };
}

/** The experiment every run belongs to, or `undefined` when they come from several (or none loaded). */
function sharedExperiment(runs: readonly CompareRun[]): string | undefined {
  const ids = new Set(runs.map((entry) => entry.run.info.experiment_id));
  return ids.size === 1 ? [...ids][0] : undefined;
}

function ComparisonSections(props: {
  runs: CompareRun[];
  view: CompareViewState;
  setView: (next: Partial<CompareViewState>) => void;
  chartView: ChartViewState;
  setChartView: (next: ChartViewState) => void;
}) {
  const { runs, view, setView, chartView, setChartView } = props;
  const plain = useMemo(() => runs.map((entry) => entry.run), [runs]);
  const chartRuns = useMemo<ChartRun[]>(
    () =>
      runs.map((entry) => ({ runId: entry.run.info.run_id, name: entry.name, colorIndex: entry.colorIndex })),
    [runs],
  );
  const metricKeys = useMemo(() => metricKeysOf(plain), [plain]);
  const params = useMemo(() => paramRows(plain), [plain]);
  const metrics = useMemo(() => metricRows(plain), [plain]);
  const columns = useMemo(() => columnsOf(plain), [plain]);

  const parallelMetric = metricKeys.includes(view.parallelMetric)
    ? view.parallelMetric
    : (metricKeys[0] ?? '');
  const differing = params.filter((row) => row.differs).map((row) => row.key);
  const parallelParams = differing.length > 0 ? differing : params.map((row) => row.key);
  const scatterX = pickColumn(columns, view.scatterX) ?? defaultScatterX(plain, columns, differing);
  const scatterY =
    pickColumn(columns, view.scatterY) ??
    (parallelMetric === '' ? columns[1] : { kind: 'metrics' as const, key: parallelMetric });

  return (
    <>
      <section className="compare-section" aria-labelledby="compare-metrics">
        <h2 id="compare-metrics">Metrics</h2>
        {metricKeys.length === 0 ? (
          <p className="muted">These runs logged no metrics.</p>
        ) : (
          <>
            <ChartControls view={chartView} onChange={setChartView} />
            <div className="chart-grid">
              {metricKeys.map((key) => (
                <MetricChart key={key} metricKey={key} runs={chartRuns} view={chartView} />
              ))}
            </div>
          </>
        )}
      </section>

      <section className="compare-section" aria-labelledby="compare-params">
        <div className="compare-section-header">
          <h2 id="compare-params">Parameters</h2>
          <label className="chart-toggle">
            <input
              type="checkbox"
              checked={view.onlyDifferences}
              onChange={(event) => setView({ onlyDifferences: event.target.checked })}
            />
            Only differences
          </label>
        </div>
        <DiffTable
          caption="Parameters"
          keyHeading="Parameter"
          rows={params}
          runs={runs}
          onlyDifferences={view.onlyDifferences}
        />
        <h3 className="compare-subheading">Latest metric values</h3>
        <DiffTable
          caption="Latest metric values"
          keyHeading="Metric"
          rows={metrics}
          runs={runs}
          onlyDifferences={view.onlyDifferences}
          format={formatMetricText}
        />
      </section>

      <section className="compare-section" aria-labelledby="compare-parallel">
        <div className="compare-section-header">
          <h2 id="compare-parallel">Parallel coordinates</h2>
          {metricKeys.length > 0 && (
            <ColumnSelect
              label="Metric"
              value={`metrics.${parallelMetric}`}
              options={metricKeys.map((key): CompareColumn => ({ kind: 'metrics', key }))}
              onChange={(column) => setView({ parallelMetric: column.key })}
            />
          )}
        </div>
        {metricKeys.length === 0 || params.length === 0 ? (
          <p className="muted">
            The plot needs params and a metric: these runs logged{' '}
            {params.length === 0 ? 'no params' : 'no metrics'}.
          </p>
        ) : (
          <>
            <p className="muted small">
              {differing.length > 0
                ? 'The params whose values differ between the runs, then the chosen metric (latest value).'
                : 'No param differs between these runs; all are shown.'}
            </p>
            <ParallelCoordinates runs={runs} params={parallelParams} metric={parallelMetric} />
          </>
        )}
      </section>

      <section className="compare-section" aria-labelledby="compare-scatter">
        <div className="compare-section-header">
          <h2 id="compare-scatter">Scatter</h2>
          {scatterX !== undefined && scatterY !== undefined && (
            <div className="compare-selects">
              <ColumnSelect
                label="X axis"
                value={columnIdOf(scatterX)}
                options={columns}
                onChange={(column) => setView({ scatterX: columnIdOf(column) })}
              />
              <ColumnSelect
                label="Y axis"
                value={columnIdOf(scatterY)}
                options={columns}
                onChange={(column) => setView({ scatterY: columnIdOf(column) })}
              />
            </div>
          )}
        </div>
        {scatterX === undefined || scatterY === undefined ? (
          <p className="muted">The scatter needs two params or metrics; these runs have fewer.</p>
        ) : (
          <ScatterPlot runs={runs} x={scatterX} y={scatterY} />
        )}
      </section>
    </>
  );
}

/** A labelled select of params and metrics (grouped). */
function ColumnSelect(props: {
  label: string;
  value: string;
  options: readonly CompareColumn[];
  onChange: (column: CompareColumn) => void;
}) {
  const id = useId();
  const groups = [
    { label: 'Parameters', kind: 'params' },
    { label: 'Metrics', kind: 'metrics' },
  ] as const;
  return (
    <span className="compare-select">
      <label htmlFor={id} className="chart-control-label">
        {props.label}
      </label>
      <select
        id={id}
        className="input"
        value={props.value}
        onChange={(event) => {
          const column = parseColumnId(event.target.value);
          if (column !== undefined) props.onChange(column);
        }}
      >
        {groups.map((group) => {
          const options = props.options.filter((column) => column.kind === group.kind);
          return options.length === 0 ? null : (
            <optgroup key={group.kind} label={group.label}>
              {options.map((column) => (
                <option key={columnIdOf(column)} value={columnIdOf(column)}>
                  {column.key}
                </option>
              ))}
            </optgroup>
          );
        })}
      </select>
    </span>
  );
}

function pickColumn(columns: readonly CompareColumn[], id: string): CompareColumn | undefined {
  return columns.find((column) => columnIdOf(column) === id);
}

/** The first differing param with numeric values, else the first differing param, else the first column. */
function defaultScatterX(
  runs: readonly Run[],
  columns: readonly CompareColumn[],
  differing: readonly string[],
): CompareColumn | undefined {
  const candidates = differing.map((key): CompareColumn => ({ kind: 'params', key }));
  const numeric = candidates.find((column) =>
    columnValues(runs, column).every((value) => value === undefined || Number.isFinite(Number(value))),
  );
  return numeric ?? candidates[0] ?? columns[0];
}

function formatMetricText(value: string): string {
  const number = Number(value);
  return formatMetric(Number.isFinite(number) ? number : value);
}
