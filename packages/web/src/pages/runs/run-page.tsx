import type { Run } from '@keel/core';
import { useQuery } from '@tanstack/react-query';
import { getRun } from '../../api/runs';
import { getExperiment } from '../../api/tracking';
import { ErrorNotice } from '../../components/error-notice';
import { PageHeader } from '../../components/page-header';
import { hrefWithQuery, navigate } from '../../router/history';
import type { PageProps } from '../../routes';
import { StatusBadge } from '../experiments/runs-table/run-columns';
import { ArtifactBrowser } from './artifacts/artifact-browser';
import { RunMetrics } from './run-metrics';
import { RunOverview } from './run-overview';
import { RunParams } from './run-params';
import { RunTabs } from './run-tabs';
import { RunTags } from './run-tags';
import { parseRunView, type RunViewState, runViewQuery } from './run-view-state';

/** How often the page re-reads a run that is still running. */
const RUNNING_POLL_MS = 5000;

/**
 * `/runs/:id` — one run: overview (status, times, user, source and commit, parent and children,
 * datasets, registered versions), params, metrics (with a mount point for charts), tags and an
 * artifact browser with previews. The selected tab and its state live in the URL (`run-view-state.ts`).
 */
export function RunPage({ params, query }: PageProps) {
  const runId = params.id ?? '';
  const view = parseRunView(query);
  const run = useQuery({
    queryKey: ['run', runId],
    queryFn: ({ signal }) => getRun(runId, signal),
    // A running run changes: new metrics and tags, then its end. Re-read it until it ends.
    refetchInterval: (q) => (q.state.data?.info.status === 'RUNNING' ? RUNNING_POLL_MS : false),
  });
  const experimentId = run.data?.info.experiment_id;
  const experiment = useQuery({
    queryKey: ['experiment', experimentId],
    queryFn: ({ signal }) => getExperiment(experimentId ?? '', signal),
    enabled: experimentId !== undefined,
  });

  const experimentCrumb =
    experimentId === undefined
      ? []
      : [
          {
            label: experiment.data?.name ?? `Experiment ${experimentId}`,
            href: `/experiments/${experimentId}`,
          },
        ];
  const breadcrumbs = [{ label: 'Experiments', href: '/experiments' }, ...experimentCrumb];

  if (run.error) {
    return (
      <div className="page">
        <PageHeader title={`Run ${runId}`} breadcrumbs={breadcrumbs} />
        <ErrorNotice error={run.error} title="Could not load this run" />
      </div>
    );
  }
  if (run.data === undefined) {
    return (
      <div className="page">
        <PageHeader title={`Run ${runId}`} breadcrumbs={breadcrumbs} />
        <p className="muted loading-line">Loading the run…</p>
      </div>
    );
  }

  const setView = (next: Partial<RunViewState>, replace = false) =>
    navigate(hrefWithQuery(`/runs/${encodeURIComponent(runId)}`, runViewQuery(next)), { replace });
  const data = run.data;
  return (
    <div className="page run-page">
      <PageHeader
        title={
          <span className="run-title">
            {data.info.run_name || runId} <StatusBadge status={data.info.status} />
          </span>
        }
        breadcrumbs={breadcrumbs}
        subtitle={
          <>
            Run ID <span className="mono">{runId}</span>
            {data.info.lifecycle_stage === 'deleted' && <span className="run-deleted">deleted</span>}
          </>
        }
      />
      <RunTabs runId={runId} current={view.tab} counts={tabCounts(data)} />
      <div
        className="run-tab-panel"
        role="tabpanel"
        id={`run-panel-${view.tab}`}
        aria-labelledby={`run-tab-${view.tab}`}
      >
        <TabContent run={data} view={view} setView={setView} />
      </div>
    </div>
  );
}

function TabContent(props: {
  run: Run;
  view: RunViewState;
  setView: (next: Partial<RunViewState>, replace?: boolean) => void;
}) {
  const { run, view, setView } = props;
  switch (view.tab) {
    case 'overview':
      return <RunOverview run={run} />;
    case 'params':
      return (
        <RunParams
          params={run.data.params ?? []}
          search={view.q}
          onSearch={(q) => setView({ tab: 'params', q }, true)}
        />
      );
    case 'metrics':
      return <RunMetrics run={run} focusMetric={view.metric} />;
    case 'tags':
      return <RunTags tags={run.data.tags ?? []} />;
    case 'artifacts':
      return (
        <ArtifactBrowser
          runId={run.info.run_id}
          selected={view.path}
          onSelect={(path) => setView({ tab: 'artifacts', path })}
        />
      );
    default:
      return view.tab satisfies never;
  }
}

/** The counts shown next to the tab names. */
function tabCounts(run: Run): Partial<Record<RunViewState['tab'], number>> {
  return {
    params: run.data.params?.length ?? 0,
    metrics: run.data.metrics?.length ?? 0,
    tags: run.data.tags?.length ?? 0,
  };
}
