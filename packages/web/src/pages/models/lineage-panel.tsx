import { useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useMemo } from 'react';
import { getLineage } from '../../api/lineage';
import { ErrorNotice } from '../../components/error-notice';
import type { FlowGraphNode } from '../../components/flow-graph';
import { Link } from '../../router/link';
import { type LineageBox, lineageView } from './lineage-view';

const FlowGraph = lazy(() => import('../../components/flow-graph'));

const BOX_WIDTH = 210;
const BOX_HEIGHT = 78;

/** The lineage of one model version as a graph: run, data and code upstream, deployments downstream. */
export function LineagePanel({ model, version }: { model: string; version: string }) {
  const lineage = useQuery({
    queryKey: ['registry', model, 'lineage', version],
    queryFn: ({ signal }) => getLineage({ model, version }, signal),
  });
  const view = useMemo(() => (lineage.data ? lineageView(lineage.data) : undefined), [lineage.data]);
  const nodes = useMemo<FlowGraphNode[]>(
    () =>
      (view?.boxes ?? []).map((box) => ({
        id: box.id,
        width: BOX_WIDTH,
        height: BOX_HEIGHT,
        label: `${box.kicker}: ${box.title}`,
        className: `lineage-${box.kind}${box.root ? ' lineage-root' : ''}${box.tone ? ` tone-${box.tone}` : ''}`,
        content: <LineageCard box={box} />,
      })),
    [view],
  );
  const edges = useMemo(
    () => (view?.arrows ?? []).map((arrow) => ({ ...arrow, label: arrow.label })),
    [view],
  );

  return (
    <section className="pane" aria-labelledby="lineage-title">
      <h2 id="lineage-title">Lineage</h2>
      <p className="muted small">
        Where this version came from and where it serves: its run with the run's experiment, input datasets
        and code, the other versions made from that run, and the deployments serving it with their prediction
        counts.
      </p>
      {lineage.error && <ErrorNotice error={lineage.error} title="Could not load the lineage" />}
      {lineage.isPending && <p className="muted loading-line">Loading the lineage…</p>}
      {view && (
        <Suspense fallback={<p className="muted loading-line">Loading the graph…</p>}>
          <FlowGraph
            nodes={nodes}
            edges={edges}
            label={`Lineage of ${model} version ${version}`}
            height={400}
          />
        </Suspense>
      )}
    </section>
  );
}

function LineageCard({ box }: { box: LineageBox }) {
  return (
    <div className="lineage-card" data-kind={box.kind} data-node-id={box.id}>
      <span className="graph-kicker">{box.kicker}</span>
      {box.href && !box.root ? (
        <Link href={box.href} className="graph-title">
          {box.title}
        </Link>
      ) : (
        <span className="graph-title">{box.title}</span>
      )}
      {box.lines.map((line) => (
        <span key={line} className="graph-line">
          {line}
        </span>
      ))}
    </div>
  );
}
