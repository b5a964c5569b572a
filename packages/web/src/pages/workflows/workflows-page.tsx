import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import {
  type ExecutionSummary,
  listExecutions,
  listWorkflows,
  listWorkflowVersions,
} from '../../api/workflows';
import { CodeSnippet } from '../../components/code-snippet';
import { ColumnHeadings } from '../../components/column-headings';
import { EmptyState } from '../../components/empty-state';
import { ErrorNotice } from '../../components/error-notice';
import { PageHeader } from '../../components/page-header';
import { formatDuration, formatTimestamp } from '../../lib/format';
import { Link } from '../../router/link';
import type { PageProps } from '../../routes';
import { executionHref, StateBadge, shortId, shortVersion, workflowHref } from './workflow-bits';

/** Executions shown per page. */
const EXECUTIONS_PAGE = 20;
/** Running executions change: the list is refreshed this often. */
const REFRESH_MS = 3000;

/**
 * `/workflows` — the registered workflows (default version, how many versions); with
 * `?workflow=<name>`, that workflow's versions (the default marked) and its recent executions;
 * without, the recent executions of every workflow.
 */
export function WorkflowsPage({ query }: PageProps) {
  const selected = query.get('workflow') ?? '';
  const workflows = useInfiniteQuery({
    queryKey: ['workflows'],
    queryFn: ({ pageParam, signal }) =>
      listWorkflows({ maxResults: 100, ...(pageParam ? { pageToken: pageParam } : {}) }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextPageToken,
  });
  const list = useMemo(() => workflows.data?.pages.flatMap((page) => page.items) ?? [], [workflows.data]);

  return (
    <div className="page">
      <PageHeader
        title={selected || 'Workflows'}
        {...(selected ? { breadcrumbs: [{ label: 'Workflows', href: '/workflows' }] } : {})}
        subtitle={
          selected
            ? 'Its versions and recent executions.'
            : 'Typed task graphs registered with keel workflows register, and their executions.'
        }
      />
      {workflows.error && <ErrorNotice error={workflows.error} title="Could not load the workflows" />}
      {workflows.isPending ? (
        <p className="muted loading-line">Loading workflows…</p>
      ) : list.length === 0 ? (
        <FirstWorkflowHint />
      ) : selected ? (
        <>
          <VersionsPane name={selected} />
          <ExecutionsPane workflow={selected} />
        </>
      ) : (
        <>
          <section className="pane flush" aria-labelledby="workflows-title">
            <h2 id="workflows-title">Workflows</h2>
            <table className="data-table workflows-table">
              <caption className="visually-hidden">Workflows</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Default version</th>
                  <th scope="col">Latest version</th>
                  <th scope="col" className="numeric">
                    Versions
                  </th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {list.map((workflow) => (
                  <tr key={workflow.name} data-workflow={workflow.name}>
                    <td>
                      <Link href={workflowHref(workflow.name)}>{workflow.name}</Link>
                    </td>
                    <td className="mono small" title={workflow.default_version}>
                      {shortVersion(workflow.default_version)}
                    </td>
                    <td className="mono small" title={workflow.latest_version}>
                      {workflow.latest_version ? shortVersion(workflow.latest_version) : '—'}
                    </td>
                    <td className="numeric">{workflow.versions ?? '—'}</td>
                    <td>{formatTimestamp(workflow.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {workflows.hasNextPage && (
              <div className="records-more">
                <button type="button" className="button" onClick={() => void workflows.fetchNextPage()}>
                  Load more workflows
                </button>
              </div>
            )}
          </section>
          <ExecutionsPane workflow="" />
        </>
      )}
    </div>
  );
}

function VersionsPane({ name }: { name: string }) {
  const versions = useQuery({
    queryKey: ['workflow', name, 'versions'],
    queryFn: ({ signal }) => listWorkflowVersions(name, {}, signal),
  });
  return (
    <section className="pane flush" aria-labelledby="versions-title">
      <h2 id="versions-title">Versions</h2>
      {versions.error && (
        <ErrorNotice error={versions.error} title={`Could not load the versions of ${name}`} />
      )}
      {versions.isPending ? (
        <p className="muted loading-line">Loading versions…</p>
      ) : (
        <table className="data-table versions-table">
          <caption className="visually-hidden">Versions of {name}, newest first</caption>
          <ColumnHeadings headings={['Version', 'Default', 'Registered', 'By', 'Description']} />
          <tbody>
            {(versions.data ?? []).map((version) => (
              <tr key={version.version} data-version={version.version} data-default={version.is_default}>
                <td className="mono small" title={version.version}>
                  {shortVersion(version.version)}
                </td>
                <td>{version.is_default ? <span className="default-pill">default</span> : ''}</td>
                <td>{formatTimestamp(version.created_at)}</td>
                <td>{version.created_by}</td>
                <td>{version.description ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Recent executions of `workflow` (of every workflow when empty), newest first, a page at a time. */
function ExecutionsPane({ workflow }: { workflow: string }) {
  const executions = useInfiniteQuery({
    queryKey: ['executions', workflow],
    queryFn: ({ pageParam, signal }) =>
      listExecutions(
        { workflow, maxResults: EXECUTIONS_PAGE, ...(pageParam ? { pageToken: pageParam } : {}) },
        signal,
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextPageToken,
    placeholderData: keepPreviousData,
    refetchInterval: (q) => ((q.state.data?.pages.length ?? 0) <= 1 ? REFRESH_MS : false),
  });
  const list = useMemo(() => executions.data?.pages.flatMap((page) => page.items) ?? [], [executions.data]);
  return (
    <section className="pane flush" aria-labelledby="executions-title">
      <h2 id="executions-title">Recent executions</h2>
      {executions.error && <ErrorNotice error={executions.error} title="Could not load the executions" />}
      {executions.isPending ? (
        <p className="muted loading-line">Loading executions…</p>
      ) : list.length === 0 ? (
        <p className="muted small records-empty">
          No executions yet. Launch one:{' '}
          <code>keel workflows launch {workflow || '<workflow>'} --input name=value --wait</code>
        </p>
      ) : (
        <table className="data-table executions-table">
          <caption className="visually-hidden">Executions, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Execution</th>
              {workflow === '' && <th scope="col">Workflow</th>}
              <th scope="col">Version</th>
              <th scope="col">State</th>
              <th scope="col">Mode</th>
              <th scope="col">Started</th>
              <th scope="col" className="numeric">
                Duration
              </th>
              <th scope="col">By</th>
            </tr>
          </thead>
          <tbody>
            {list.map((execution) => (
              <ExecutionRow
                key={execution.execution_id}
                execution={execution}
                showWorkflow={workflow === ''}
              />
            ))}
          </tbody>
        </table>
      )}
      {executions.hasNextPage && (
        <div className="records-more">
          <button
            type="button"
            className="button"
            disabled={executions.isFetchingNextPage}
            onClick={() => void executions.fetchNextPage()}
          >
            Load more executions
          </button>
        </div>
      )}
    </section>
  );
}

function ExecutionRow({ execution, showWorkflow }: { execution: ExecutionSummary; showWorkflow: boolean }) {
  const end = execution.ended_at ?? (execution.started_at !== null ? Date.now() : null);
  return (
    <tr data-execution-id={execution.execution_id}>
      <td>
        <Link href={executionHref(execution.execution_id)} className="mono" title={execution.execution_id}>
          {shortId(execution.execution_id)}
        </Link>
      </td>
      {showWorkflow && (
        <td>
          <Link href={workflowHref(execution.workflow)}>{execution.workflow}</Link>
        </td>
      )}
      <td className="mono small" title={execution.version}>
        {shortVersion(execution.version)}
      </td>
      <td>
        <StateBadge state={execution.state} />
      </td>
      <td>{execution.mode}</td>
      <td>{formatTimestamp(execution.started_at ?? execution.created_at)}</td>
      <td className="numeric">
        {execution.started_at !== null && end !== null ? formatDuration(end - execution.started_at) : '—'}
      </td>
      <td>{execution.created_by}</td>
    </tr>
  );
}

function FirstWorkflowHint() {
  const origin = window.location.origin;
  const shell = [
    `export KEEL_TRACKING_URI=${origin}`,
    'keel workflows register flows/train.ts',
    'keel workflows launch train --input source=data/train.csv --wait',
  ].join('\n');
  return (
    <EmptyState title="Register your first workflow">
      <p>
        A workflow is a graph of typed tasks written in TypeScript with <code>@keel/sdk</code> (
        <code>task</code>, <code>workflow</code>, <code>map</code>, <code>when</code>). Register a module that
        exports one, then launch it; its executions show up here with a live graph of their nodes.
      </p>
      <CodeSnippet label="Shell" code={shell} />
    </EmptyState>
  );
}
