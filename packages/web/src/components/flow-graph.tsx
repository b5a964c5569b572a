/**
 * A read-only DAG drawn with React Flow and laid out by elkjs: the lineage of a model version and the
 * live graph of a workflow execution. Pages describe boxes (content, size, a class for their state)
 * and edges; the layout is recomputed only when the graph's structure changes, so polling a running
 * execution re-colours boxes without moving them. Load it with `lazy(() => import(…))`: React Flow and
 * elkjs stay out of the app's first bundle.
 */
import {
  Background,
  Controls,
  type Edge,
  Handle,
  MarkerType,
  type Node,
  type NodeChange,
  type NodeProps,
  Position,
  ReactFlow,
  useReactFlow,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { type ReactNode, useEffect, useMemo, useState } from 'react';
import { type LayoutDirection, type LayoutPosition, layoutGraph } from '../lib/graph-layout';

/** One box of the graph. */
export interface FlowGraphNode {
  id: string;
  width: number;
  height: number;
  /** What the box shows. */
  content: ReactNode;
  /** Extra class of the box, e.g. its state (`node-running`). */
  className?: string;
  /** Accessible name of the box (what a screen reader announces on focus). */
  label: string;
}

/** One arrow, `source` → `target`. */
export interface FlowGraphEdge {
  id: string;
  source: string;
  target: string;
  /** Text on the arrow. */
  label?: string;
  /** Dashes moving along the arrow (data flowing now). */
  animated?: boolean;
}

/** Props of {@link FlowGraph}. */
export interface FlowGraphProps {
  nodes: readonly FlowGraphNode[];
  edges: readonly FlowGraphEdge[];
  /** @default 'RIGHT' */
  direction?: LayoutDirection;
  /** Accessible name of the whole graph. */
  label: string;
  /** The highlighted box. */
  selectedId?: string | undefined;
  /** A box was clicked, or picked with Enter or Space after tabbing to it. */
  onSelect?: (id: string) => void;
  /** Height of the drawing area in CSS pixels. @default 420 */
  height?: number;
}

type CardData = { content: ReactNode; direction: LayoutDirection };
type CardNode = Node<CardData, 'card'>;

function Card({ data }: NodeProps<CardNode>) {
  const across = data.direction === 'RIGHT';
  return (
    <>
      <Handle type="target" position={across ? Position.Left : Position.Top} isConnectable={false} />
      <div className="graph-card-body">{data.content}</div>
      <Handle type="source" position={across ? Position.Right : Position.Bottom} isConnectable={false} />
    </>
  );
}

const NODE_TYPES = { card: Card };

/** Calls `fitView` whenever the layout changes (new boxes, say), once React Flow has measured them. */
function FitOnLayout({ layoutKey }: { layoutKey: string }) {
  const { fitView } = useReactFlow();
  useEffect(() => {
    if (layoutKey === '') return;
    const frame = window.requestAnimationFrame(() => void fitView({ padding: 0.12, maxZoom: 1 }));
    return () => window.cancelAnimationFrame(frame);
  }, [layoutKey, fitView]);
  return null;
}

/** Draws the graph; see the module comment. Default export, for `lazy()`. */
export default function FlowGraph({
  nodes,
  edges,
  direction = 'RIGHT',
  label,
  selectedId,
  onSelect,
  height = 420,
}: FlowGraphProps) {
  const structure = useMemo(
    () =>
      JSON.stringify([
        direction,
        nodes.map((node) => [node.id, node.width, node.height]),
        edges.map((edge) => [edge.source, edge.target]),
      ]),
    [direction, nodes, edges],
  );
  const [layout, setLayout] = useState<{ key: string; positions: Map<string, LayoutPosition> }>();
  // biome-ignore lint/correctness/useExhaustiveDependencies: `structure` stands for nodes, edges and direction.
  useEffect(() => {
    let cancelled = false;
    layoutGraph(nodes, edges, direction).then(
      (positions) => {
        if (!cancelled) setLayout({ key: structure, positions });
      },
      (error: unknown) => console.error('Graph layout failed', error),
    );
    return () => {
      cancelled = true;
    };
  }, [structure]);

  const flowNodes = useMemo<CardNode[]>(
    () =>
      nodes.map((node) => ({
        id: node.id,
        type: 'card',
        position: layout?.positions.get(node.id) ?? { x: 0, y: 0 },
        // A box added since the last layout waits for the next one rather than sitting at the origin.
        hidden: layout !== undefined && !layout.positions.has(node.id),
        width: node.width,
        height: node.height,
        style: { width: node.width, height: node.height },
        className: `graph-card ${node.className ?? ''}`,
        data: { content: node.content, direction },
        ariaLabel: node.label,
        selected: node.id === selectedId,
        draggable: false,
        connectable: false,
      })),
    [nodes, layout, selectedId, direction],
  );
  const flowEdges = useMemo<Edge[]>(
    () =>
      edges.map((edge) => ({
        id: edge.id,
        source: edge.source,
        target: edge.target,
        ...(edge.label !== undefined ? { label: edge.label } : {}),
        animated: edge.animated ?? false,
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
        focusable: false,
        selectable: false,
      })),
    [edges],
  );
  const onNodesChange = (changes: NodeChange<CardNode>[]) => {
    for (const change of changes) if (change.type === 'select' && change.selected) onSelect?.(change.id);
  };

  return (
    <section className="graph-frame" aria-label={label} style={{ height }}>
      {layout === undefined ? (
        <p className="muted graph-pending">Laying out the graph…</p>
      ) : (
        <ReactFlow
          nodes={flowNodes}
          edges={flowEdges}
          nodeTypes={NODE_TYPES}
          onNodesChange={onNodesChange}
          onNodeClick={(_event, node) => onSelect?.(node.id)}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={onSelect !== undefined}
          fitView
          fitViewOptions={{ padding: 0.12, maxZoom: 1 }}
          minZoom={0.15}
          maxZoom={2}
          proOptions={{ hideAttribution: true }}
        >
          <FitOnLayout layoutKey={layout.key} />
          <Background gap={20} size={1} />
          <Controls showInteractive={false} />
        </ReactFlow>
      )}
    </section>
  );
}
