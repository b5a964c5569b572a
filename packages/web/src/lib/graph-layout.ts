/**
 * Layered graph layout with elkjs (the Sugiyama-style `layered` algorithm), for the DAGs the UI draws
 * with React Flow: lineage graphs and workflow executions. elkjs is ~1.5 MB of compiled Java, so it
 * is loaded on first use, never with the app's first page.
 */
import type { ElkNode } from 'elkjs/lib/elk-api';

/** A box to place. */
export interface LayoutNode {
  id: string;
  width: number;
  height: number;
}

/** An edge between two boxes; edges naming an unknown box are ignored. */
export interface LayoutEdge {
  id: string;
  source: string;
  target: string;
}

/** Which way the layers go: left to right, or top to bottom. */
export type LayoutDirection = 'RIGHT' | 'DOWN';

/** Top-left corner of a placed box. */
export interface LayoutPosition {
  x: number;
  y: number;
}

type ElkInstance = { layout(graph: ElkNode): Promise<ElkNode> };
let elk: Promise<ElkInstance> | undefined;

function loadElk(): Promise<ElkInstance> {
  elk ??= import('elkjs/lib/elk.bundled.js').then(({ default: ELK }) => new ELK());
  return elk;
}

/**
 * Places `nodes` in layers along `direction` so that edges point one way, with few crossings.
 * Resolves to each node's top-left corner.
 *
 * @example
 * const positions = await layoutGraph([{ id: 'a', width: 200, height: 60 }, …], [{ id: 'a-b', source: 'a', target: 'b' }], 'RIGHT');
 */
export async function layoutGraph(
  nodes: readonly LayoutNode[],
  edges: readonly LayoutEdge[],
  direction: LayoutDirection,
): Promise<Map<string, LayoutPosition>> {
  const ids = new Set(nodes.map((node) => node.id));
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': direction,
      'elk.layered.spacing.nodeNodeBetweenLayers': '64',
      'elk.spacing.nodeNode': '28',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    },
    children: nodes.map((node) => ({ id: node.id, width: node.width, height: node.height })),
    edges: edges
      .filter((edge) => ids.has(edge.source) && ids.has(edge.target) && edge.source !== edge.target)
      .map((edge) => ({ id: edge.id, sources: [edge.source], targets: [edge.target] })),
  };
  const placed = await (await loadElk()).layout(graph);
  const positions = new Map<string, LayoutPosition>();
  for (const child of placed.children ?? []) positions.set(child.id, { x: child.x ?? 0, y: child.y ?? 0 });
  return positions;
}
