import { type Execution, type ExecutionNode, type JsonValue, TERMINAL_EXECUTION_STATES } from '@keel/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useMemo } from 'react';
import {
  cancelExecution,
  getExecution,
  getWorkflowVersion,
  recoverExecution,
  relaunchExecution,
} from '../../api/workflows';
import { ErrorNotice } from '../../components/error-notice';
import type { FlowGraphNode } from '../../components/flow-graph';
import { PageHeader } from '../../components/page-header';
import { formatDuration, formatTimestamp } from '../../lib/format';
import { hrefWithQuery, navigate } from '../../router/history';
import { Link } from '../../router/link';
import { buildPath } from '../../router/match-route';
import type { PageProps } from '../../routes';
import { type ExecutionBox, executionGraph } from './execution-graph';
import { NodeLogs } from './node-logs';
import { executionHref, StateBadge, shortId, shortVersion, workflowHref } from './workflow-bits';

const FlowGraph = lazy(() => import('../../components/flow-graph'));

/** Polling interval while the execution has not ended. */
const POLL_MS = 1000;
const BOX_WIDTH = 200;
const BOX_HEIGHT = 70;

function isTerminal(execution: Execution | undefined): boolean {
  return execution !== undefined && TERMINAL_EXECUTION_STATES.includes(execution.state);
}

/**
 * `/executions/:id` — one execution: its live DAG (polled every second until it ends; nodes coloured
 * by state, with cache hits, attempts and map progress), the selected node's details and streaming
 * logs (`?node=<id>`), and the Relaunch, Recover and Cancel actions.
 */
export function ExecutionPage({ params, query }: PageProps) {
  const id = params.id ?? '';
  const selected = query.get('node') ?? undefined;
  const execution = useQuery({
    queryKey: ['execution', id],
    queryFn: ({ signal }) => getExecution(id, signal),
    refetchInterval: (q) => (isTerminal(q.state.data) || q.state.error ? false : POLL_MS),
    staleTime: 0,
  });
  const data = execution.data;
  const version = useQuery({
    queryKey: ['workflow', data?.workflow, 'version', data?.version],
    queryFn: ({ signal }) => getWorkflowVersion(data?.workflow ?? '', data?.version, signal),
    enabled: data !== undefined,
    staleTime: Number.POSITIVE_INFINITY,
  });
  const graph = useMemo(
    () => (data ? executionGraph(data, version.data?.spec) : undefined),
    [data, version.data],
  );
  const select = (node: string | undefined) =>
    navigate(hrefWithQuery(executionHref(id), { node }), { replace: true });
  const selectedNode = data?.nodes.find((node) => node.node_id === selected);

  return (
    <div className="page">
      <PageHeader
        title={
          data ? (
            <>
              {data.workflow} <span className="title-version">execution {shortId(id)}</span>
            </>
          ) : (
            `Execution ${shortId(id)}`
          )
        }
        breadcrumbs={[
          { label: 'Workflows', href: '/workflows' },
          ...(data ? [{ label: data.workflow, href: workflowHref(data.workflow) }] : []),
        ]}
        subtitle={data && <ExecutionLine execution={data} />}
        {...(data ? { actions: <ExecutionActions execution={data} /> } : {})}
      />
      {execution.error && <ErrorNotice error={execution.error} title={`Could not load execution ${id}`} />}
      {data?.error && (
        <div className="error-notice" role="alert">
          <strong>
            Execution failed ({data.error.kind} error{data.error.retryable ? ', retryable' : ''})
          </strong>
          <p>{data.error.message}</p>
        </div>
      )}
      {data && graph && (
        <>
          <section className="pane" aria-labelledby="dag-title">
            <div className="pane-heading">
              <h2 id="dag-title">Graph</h2>
              <StateLegend />
            </div>
            <ExecutionDag
              boxes={graph.boxes}
              arrows={graph.arrows}
              selected={selected}
              onSelect={select}
              label={`Graph of execution ${id}`}
            />
          </section>
          <div className="split">
            <div className="split-main">
              {selectedNode ? (
                <NodeDetails execution={data} node={selectedNode} onClose={() => select(undefined)} />
              ) : (
                <section className="pane">
                  <h2>Node details</h2>
                  <p className="muted small">
                    Select a node in the graph or the list to see its inputs, outputs, errors and logs.
                  </p>
                </section>
              )}
            </div>
            <aside className="split-side">
              <NodeList nodes={data.nodes} selected={selected} onSelect={select} />
              <ValuesPane title="Inputs" values={data.inputs} />
              {data.outputs && <ValuesPane title="Outputs" values={data.outputs} />}
            </aside>
          </div>
        </>
      )}
    </div>
  );
}

function ExecutionLine({ execution }: { execution: Execution }) {
  const end = execution.ended_at ?? Date.now();
  return (
    <span className="execution-line">
      <StateBadge state={execution.state} />
      <span>
        version <span className="mono">{shortVersion(execution.version)}</span>
      </span>
      <span>{execution.mode}</span>
      {execution.started_at !== null && <span>{formatDuration(end - execution.started_at)}</span>}
      <span>
        by {execution.created_by} · {formatTimestamp(execution.created_at)}
      </span>
      {execution.parent_execution_id && (
        <span>
          from{' '}
          <Link href={executionHref(execution.parent_execution_id)}>
            {shortId(execution.parent_execution_id)}
          </Link>
        </span>
      )}
      {execution.run_id && <Link href={buildPath('/runs/:id', { id: execution.run_id })}>tracking run</Link>}
    </span>
  );
}

/** Relaunch (always), Recover (a failed or cancelled execution) and Cancel (one still going). */
function ExecutionActions({ execution }: { execution: Execution }) {
  const queryClient = useQueryClient();
  const toNew = (next: Execution) => {
    void queryClient.invalidateQueries({ queryKey: ['executions'] });
    navigate(executionHref(next.execution_id));
  };
  const relaunch = useMutation({
    mutationFn: () => relaunchExecution(execution.execution_id),
    onSuccess: toNew,
  });
  const recover = useMutation({
    mutationFn: () => recoverExecution(execution.execution_id),
    onSuccess: toNew,
  });
  const cancel = useMutation({
    mutationFn: () => cancelExecution(execution.execution_id),
    onSuccess: (updated) => queryClient.setQueryData(['execution', execution.execution_id], updated),
  });
  const terminal = isTerminal(execution);
  const error = relaunch.error ?? recover.error ?? cancel.error;
  return (
    <div className="execution-actions">
      {!terminal && (
        <button
          type="button"
          className="button danger-text"
          disabled={cancel.isPending || execution.state === 'cancelling'}
          onClick={() => cancel.mutate()}
        >
          {execution.state === 'cancelling' ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
      {(execution.state === 'failed' || execution.state === 'cancelled') && (
        <button
          type="button"
          className="button"
          disabled={recover.isPending}
          onClick={() => recover.mutate()}
        >
          Recover
        </button>
      )}
      <button
        type="button"
        className="button primary"
        disabled={relaunch.isPending}
        onClick={() => relaunch.mutate()}
      >
        Relaunch
      </button>
      {error && <ErrorNotice error={error} title="The action failed" />}
    </div>
  );
}

const LEGEND_STATES = [
  'pending',
  'queued',
  'running',
  'succeeded',
  'cached',
  'failed',
  'skipped',
  'cancelled',
];

function StateLegend() {
  return (
    <ul className="state-legend" aria-label="Node states">
      {LEGEND_STATES.map((state) => (
        <li key={state}>
          <StateBadge state={state} />
        </li>
      ))}
    </ul>
  );
}

function ExecutionDag({
  boxes,
  arrows,
  selected,
  onSelect,
  label,
}: {
  boxes: readonly ExecutionBox[];
  arrows: readonly { id: string; source: string; target: string }[];
  selected: string | undefined;
  onSelect: (id: string) => void;
  label: string;
}) {
  const nodes = useMemo<FlowGraphNode[]>(
    () =>
      boxes.map((box) => ({
        id: box.id,
        width: BOX_WIDTH,
        height: BOX_HEIGHT,
        label: `${box.id}: ${box.node.state}`,
        className: `wf-node wf-${box.node.state}`,
        content: <NodeCard box={box} />,
      })),
    [boxes],
  );
  const edges = useMemo(() => {
    const states = new Map(boxes.map((box) => [box.id, box.node.state]));
    return arrows.map((arrow) => ({ ...arrow, animated: states.get(arrow.target) === 'running' }));
  }, [arrows, boxes]);
  const height = Math.min(560, Math.max(280, 140 + Math.ceil(Math.sqrt(boxes.length)) * 60));
  return (
    <Suspense fallback={<p className="muted loading-line">Loading the graph…</p>}>
      <FlowGraph
        nodes={nodes}
        edges={edges}
        label={label}
        selectedId={selected}
        onSelect={onSelect}
        height={height}
      />
    </Suspense>
  );
}

function NodeCard({ box }: { box: ExecutionBox }) {
  const { node, items } = box;
  return (
    <div className="wf-card" data-node-id={node.node_id} data-state={node.state}>
      <span className="graph-kicker">
        {node.kind === 'task' ? (node.task ?? 'task') : node.kind}
        {node.cache === 'hit' && <span className="cache-hit">cache hit</span>}
      </span>
      <span className="graph-title" title={node.node_id}>
        {node.parent_node === null ? node.node_id : node.node_id.slice(node.node_id.lastIndexOf('.') + 1)}
      </span>
      <span className="graph-line">
        <span className="wf-state-word">{node.state}</span>
        {node.attempt > 1 && <span className="attempts"> · attempt {node.attempt}</span>}
        {items && (
          <span className="map-progress">
            {' '}
            · {items.done}/{items.total} items{items.failed > 0 ? `, ${items.failed} failed` : ''}
          </span>
        )}
        {node.started_at !== null &&
          node.ended_at !== null &&
          ` · ${formatDuration(node.ended_at - node.started_at)}`}
      </span>
      {items && (
        <span className="map-bar" aria-hidden="true">
          <span className="map-bar-done" style={{ width: `${(items.done / items.total) * 100}%` }} />
          <span className="map-bar-failed" style={{ width: `${(items.failed / items.total) * 100}%` }} />
        </span>
      )}
    </div>
  );
}

function NodeList({
  nodes,
  selected,
  onSelect,
}: {
  nodes: readonly ExecutionNode[];
  selected: string | undefined;
  onSelect: (id: string) => void;
}) {
  return (
    <section className="pane flush" aria-labelledby="nodes-title">
      <h2 id="nodes-title">Nodes</h2>
      <ul className="node-list">
        {nodes.map((node) => (
          <li key={node.node_id}>
            <button
              type="button"
              className="node-list-item"
              aria-current={node.node_id === selected ? 'true' : undefined}
              onClick={() => onSelect(node.node_id)}
              style={{ paddingLeft: node.parent_node === null ? undefined : 28 }}
            >
              <span className="mono">{node.node_id}</span>
              {node.cache === 'hit' && <span className="cache-hit">cache hit</span>}
              <StateBadge state={node.state} />
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function NodeDetails({
  execution,
  node,
  onClose,
}: {
  execution: Execution;
  node: ExecutionNode;
  onClose: () => void;
}) {
  return (
    <section className="pane node-details" aria-label={`Node ${node.node_id}`}>
      <div className="pane-heading">
        <h2>
          Node <span className="mono">{node.node_id}</span>
        </h2>
        <button
          type="button"
          className="button ghost small"
          onClick={onClose}
          aria-label="Close node details"
        >
          Close
        </button>
      </div>
      <dl className="fact-list">
        <div>
          <dt>State</dt>
          <dd>
            <StateBadge state={node.state} />
          </dd>
        </div>
        <div>
          <dt>Kind</dt>
          <dd>
            {node.kind}
            {node.task && node.task !== node.node_id ? ` (${node.task})` : ''}
          </dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>{node.attempt}</dd>
        </div>
        <div>
          <dt>Cache</dt>
          <dd>{node.cache ?? '—'}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatTimestamp(node.started_at ?? undefined)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>
            {node.started_at !== null ? formatDuration((node.ended_at ?? Date.now()) - node.started_at) : '—'}
          </dd>
        </div>
        {node.run_id && (
          <div>
            <dt>Tracking run</dt>
            <dd>
              <Link href={buildPath('/runs/:id', { id: node.run_id })} className="mono">
                {node.run_id.slice(0, 8)}
              </Link>
            </dd>
          </div>
        )}
        {node.parent_node && (
          <div>
            <dt>Part of</dt>
            <dd className="mono">{node.parent_node}</dd>
          </div>
        )}
      </dl>
      {node.error && (
        <div className="error-notice" role="alert">
          <strong>
            {node.error.kind === 'user' ? 'Task error' : 'System error'}
            {node.error.retryable ? ' (retryable)' : ''}
          </strong>
          <p>{node.error.message}</p>
          {node.error.stack && <pre className="error-stack">{node.error.stack}</pre>}
        </div>
      )}
      <div className="values-row">
        <JsonBlock title="Inputs" value={node.inputs} />
        <JsonBlock title="Outputs" value={node.outputs} />
      </div>
      {(node.kind === 'task' || node.attempt > 0) && (
        <NodeLogs executionId={execution.execution_id} nodeId={node.node_id} attempts={node.attempt} />
      )}
    </section>
  );
}

function JsonBlock({ title, value }: { title: string; value: Record<string, JsonValue> | null }) {
  return (
    <figure className="payload">
      <figcaption>{title}</figcaption>
      {value === null || Object.keys(value).length === 0 ? (
        <p className="muted small">{value === null ? 'Not known yet.' : 'None.'}</p>
      ) : (
        <pre>{JSON.stringify(value, null, 2)}</pre>
      )}
    </figure>
  );
}

function ValuesPane({ title, values }: { title: string; values: Record<string, JsonValue> }) {
  return (
    <section className="pane" aria-label={`Execution ${title.toLowerCase()}`}>
      <h2>{title}</h2>
      {Object.keys(values).length === 0 ? (
        <p className="muted small">None.</p>
      ) : (
        <dl className="value-list">
          {Object.entries(values).map(([key, value]) => (
            <div key={key}>
              <dt className="mono">{key}</dt>
              <dd className="mono break-all">{formatValue(value)}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

/** A value for one line: strings as they are, artifact references by path, the rest as JSON. */
function formatValue(value: JsonValue): string {
  if (typeof value === 'string') return value;
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    typeof value.$artifact === 'string'
  ) {
    return `${value.kind ?? 'artifact'} ${value.$artifact}`;
  }
  return JSON.stringify(value);
}
