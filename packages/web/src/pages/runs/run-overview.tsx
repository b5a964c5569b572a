import type { ModelVersion, Run } from '@keel/core';
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { getRun, searchChildRuns, searchModelVersionsOfRun } from '../../api/runs';
import { getExperiment } from '../../api/tracking';
import { ColumnHeadings } from '../../components/column-headings';
import { ErrorNotice } from '../../components/error-notice';
import { formatMetric, formatTimestamp } from '../../lib/format';
import { hrefWithQuery } from '../../router/history';
import { Link } from '../../router/link';
import { StatusBadge } from '../experiments/runs-table/run-columns';
import { type DatasetView, datasetView } from './dataset-info';
import { RunDuration } from './run-duration';
import { commitUrl, summarizeRun } from './run-summary';
import { runViewQuery } from './run-view-state';

/** How many params and metrics the overview lists before linking to their tab. */
const SUMMARY_ROWS = 8;

/** The overview tab: details, child runs, datasets, registered versions, params and metrics at a glance. */
export function RunOverview({ run }: { run: Run }) {
  const runId = run.info.run_id;
  return (
    <div className="run-overview">
      <RunDetails run={run} />
      <ChildRuns run={run} />
      <Datasets run={run} />
      <RegisteredVersions runId={runId} />
      <div className="overview-columns">
        <SummaryTable
          title="Parameters"
          rows={(run.data.params ?? []).map((p) => [p.key, p.value] as const)}
          allHref={tabHref(runId, 'params')}
          empty="No parameters logged."
        />
        <SummaryTable
          title="Metrics"
          rows={(run.data.metrics ?? []).map((m) => [m.key, formatMetric(m.value)] as const)}
          allHref={tabHref(runId, 'metrics')}
          empty="No metrics logged."
        />
      </div>
    </div>
  );
}

function tabHref(runId: string, tab: 'params' | 'metrics'): string {
  return hrefWithQuery(`/runs/${encodeURIComponent(runId)}`, runViewQuery({ tab }));
}

/** A titled card of the overview. */
function Card(props: { title: string; count?: number; id?: string; children: ReactNode }) {
  const headingId = `${props.id ?? props.title.toLowerCase().replaceAll(' ', '-')}-heading`;
  return (
    <section className="run-card" id={props.id} aria-labelledby={headingId}>
      <h2 id={headingId}>
        {props.title}
        {props.count !== undefined && <span className="run-count">{props.count}</span>}
      </h2>
      {props.children}
    </section>
  );
}

function RunDetails({ run }: { run: Run }) {
  const summary = summarizeRun(run);
  const { info } = run;
  const commitLink = commitUrl(summary.gitRepoUrl, summary.gitCommit);
  return (
    <Card title="Details" id="run-details">
      <dl className="run-facts">
        <Fact label="Status">
          <StatusBadge status={info.status} />
        </Fact>
        <Fact label="Started">{formatTimestamp(info.start_time)}</Fact>
        <Fact label="Ended">
          {info.status === 'RUNNING' ? (
            <span className="muted">running</span>
          ) : (
            formatTimestamp(info.end_time)
          )}
        </Fact>
        <Fact label="Duration">
          <RunDuration run={run} />
        </Fact>
        <Fact label="User">{summary.user || '—'}</Fact>
        <Fact label="Source" title={summary.sourceName}>
          {summary.sourceName === undefined ? (
            '—'
          ) : (
            <span className="mono">
              {summary.sourceName}
              {summary.sourceType && <span className="muted"> ({summary.sourceType.toLowerCase()})</span>}
            </span>
          )}
        </Fact>
        <Fact label="Git commit" title={summary.gitCommit}>
          {summary.gitCommit === undefined ? (
            '—'
          ) : (
            <span className="mono">
              {commitLink === undefined ? (
                summary.gitCommit.slice(0, 12)
              ) : (
                <a href={commitLink} target="_blank" rel="noreferrer noopener">
                  {summary.gitCommit.slice(0, 12)}
                </a>
              )}
              {summary.gitBranch && <span className="muted"> on {summary.gitBranch}</span>}
            </span>
          )}
        </Fact>
        <Fact label="Experiment">
          <ExperimentLink experimentId={info.experiment_id} />
        </Fact>
        <Fact label="Parent run">
          {summary.parentRunId === undefined ? '—' : <ParentLink parentRunId={summary.parentRunId} />}
        </Fact>
        <Fact label="Artifacts" title={info.artifact_uri}>
          <span className="mono">{info.artifact_uri}</span>
        </Fact>
      </dl>
      {summary.note !== undefined && (
        <div className="run-note">
          <h3>Description</h3>
          <p>{summary.note}</p>
        </div>
      )}
    </Card>
  );
}

/** One labelled fact of the details card; `title` shows the full value on hover when it is cut. */
function Fact({
  label,
  title,
  children,
}: {
  label: string;
  title?: string | undefined;
  children: ReactNode;
}) {
  return (
    <div className="run-fact">
      <dt>{label}</dt>
      <dd title={title}>{children}</dd>
    </div>
  );
}

function ExperimentLink({ experimentId }: { experimentId: string }) {
  const experiment = useQuery({
    queryKey: ['experiment', experimentId],
    queryFn: ({ signal }) => getExperiment(experimentId, signal),
  });
  return (
    <Link href={`/experiments/${encodeURIComponent(experimentId)}`}>
      {experiment.data?.name ?? `Experiment ${experimentId}`}
    </Link>
  );
}

function ParentLink({ parentRunId }: { parentRunId: string }) {
  const parent = useQuery({
    queryKey: ['run', parentRunId],
    queryFn: ({ signal }) => getRun(parentRunId, signal),
    retry: false,
  });
  return (
    <Link href={`/runs/${encodeURIComponent(parentRunId)}`} title={parentRunId}>
      {parent.data?.info.run_name || parentRunId}
    </Link>
  );
}

function ChildRuns({ run }: { run: Run }) {
  const children = useQuery({
    queryKey: ['run-children', run.info.run_id],
    queryFn: ({ signal }) => searchChildRuns(run.info.experiment_id, run.info.run_id, signal),
  });
  if (children.error) return <ErrorNotice error={children.error} title="Could not load the child runs" />;
  const runs = children.data?.runs ?? [];
  if (runs.length === 0) return null;
  return (
    <Card title="Child runs" count={runs.length} id="child-runs">
      {children.data?.more && <p className="muted small">Showing the first {runs.length} child runs.</p>}
      <div className="table-card">
        <table className="data-table">
          <caption className="visually-hidden">Child runs</caption>
          <ColumnHeadings headings={['Run', 'Status', 'Started', 'Duration']} />
          <tbody>
            {runs.map((child) => (
              <tr key={child.info.run_id}>
                <td>
                  <Link href={`/runs/${encodeURIComponent(child.info.run_id)}`}>
                    {child.info.run_name || child.info.run_id}
                  </Link>
                </td>
                <td>
                  <StatusBadge status={child.info.status} />
                </td>
                <td className="mono">{formatTimestamp(child.info.start_time)}</td>
                <td className="mono">
                  <RunDuration run={child} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

function Datasets({ run }: { run: Run }) {
  const inputs = (run.inputs?.dataset_inputs ?? []).map(datasetView);
  return (
    <Card title="Datasets" count={inputs.length} id="datasets">
      {inputs.length === 0 ? (
        <p className="muted">
          No dataset inputs. Log one from Python with{' '}
          <code>mlflow.log_input(dataset, context="training")</code>.
        </p>
      ) : (
        <div className="table-card">
          <table className="data-table">
            <caption className="visually-hidden">Datasets used by this run</caption>
            <ColumnHeadings headings={['Name', 'Context', 'Digest', 'Source', 'Rows', 'Schema']} />
            <tbody>
              {inputs.map((input) => (
                <tr key={`${input.name}:${input.digest}:${input.context ?? ''}`}>
                  <td>{input.name}</td>
                  <td>{input.context ?? <span className="muted">—</span>}</td>
                  <td className="mono">{input.digest}</td>
                  <td>
                    <span className="mono run-break">{input.source}</span>
                    <span className="muted small"> ({input.sourceType})</span>
                  </td>
                  <td className="mono">{input.rows === undefined ? '—' : input.rows.toLocaleString()}</td>
                  <td>
                    <SchemaColumns columns={input.columns} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function SchemaColumns({ columns }: { columns: DatasetView['columns'] }) {
  if (columns === undefined) return <span className="muted">—</span>;
  return (
    <details className="schema-details">
      <summary>
        {columns.length} column{columns.length === 1 ? '' : 's'}
      </summary>
      <ul className="plain-list mono">
        {columns.map((column) => (
          <li key={column.name}>
            {column.name}: <span className="muted">{column.type}</span>
          </li>
        ))}
      </ul>
    </details>
  );
}

function RegisteredVersions({ runId }: { runId: string }) {
  const versions = useQuery({
    queryKey: ['run-model-versions', runId],
    queryFn: ({ signal }) => searchModelVersionsOfRun(runId, signal),
  });
  const list: ModelVersion[] = versions.data ?? [];
  return (
    <Card title="Registered model versions" count={versions.data?.length} id="registered-versions">
      {versions.error ? (
        <ErrorNotice error={versions.error} title="Could not load the registered versions" />
      ) : versions.isPending ? (
        <p className="muted">Loading…</p>
      ) : list.length === 0 ? (
        <p className="muted">
          No model version was registered from this run. Register one with{' '}
          <code>mlflow.register_model("runs:/{runId}/model", "my-model")</code>.
        </p>
      ) : (
        <div className="table-card">
          <table className="data-table">
            <caption className="visually-hidden">Model versions registered from this run</caption>
            <ColumnHeadings headings={['Model', 'Version', 'Stage', 'Aliases', 'Registered']} />
            <tbody>
              {list.map((version) => (
                <tr key={`${version.name}/${version.version}`}>
                  <td>
                    <Link href={`/models/${encodeURIComponent(version.name)}`}>{version.name}</Link>
                  </td>
                  <td>
                    <Link
                      href={`/models/${encodeURIComponent(version.name)}/versions/${encodeURIComponent(version.version)}`}
                      aria-label={`${version.name} version ${version.version}`}
                    >
                      Version {version.version}
                    </Link>
                  </td>
                  <td>{version.current_stage}</td>
                  <td>
                    {(version.aliases ?? []).length === 0 ? (
                      <span className="muted">—</span>
                    ) : (
                      (version.aliases ?? []).map((alias) => (
                        <span key={alias} className="run-alias">
                          @{alias}
                        </span>
                      ))
                    )}
                  </td>
                  <td className="mono">{formatTimestamp(version.creation_timestamp)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function SummaryTable(props: {
  title: string;
  rows: readonly (readonly [string, string])[];
  allHref: string;
  empty: string;
}) {
  const shown = [...props.rows].sort((a, b) => a[0].localeCompare(b[0])).slice(0, SUMMARY_ROWS);
  return (
    <Card title={props.title} count={props.rows.length}>
      {props.rows.length === 0 ? (
        <p className="muted">{props.empty}</p>
      ) : (
        <>
          <table className="data-table run-compact">
            <caption className="visually-hidden">{props.title}</caption>
            <tbody>
              {shown.map(([key, value]) => (
                <tr key={key}>
                  <th scope="row" className="run-key">
                    {key}
                  </th>
                  <td className="mono run-value">{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {props.rows.length > SUMMARY_ROWS && (
            <p className="small">
              <Link href={props.allHref}>
                All {props.rows.length} {props.title.toLowerCase()}
              </Link>
            </p>
          )}
        </>
      )}
    </Card>
  );
}
