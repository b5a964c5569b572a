/**
 * Turns the lineage API's graph (docs/lineage.md) into what the version page draws: one box per node
 * with a kicker, a title, detail lines and a link, and arrows that follow the data — experiment,
 * datasets and code into the run, the run into the versions it produced, each version into the
 * deployments serving it. Pure, unit-tested.
 */
import type { LineageEdge, LineageGraph, LineageNode } from '../../api/lineage';
import { buildPath } from '../../router/match-route';

/** One box of the drawn lineage. */
export interface LineageBox {
  id: string;
  kind: string;
  /** Small text above the title: what kind of thing it is. */
  kicker: string;
  title: string;
  /** Short detail lines under the title. */
  lines: string[];
  /** In-app page of the thing, when there is one. */
  href: string | undefined;
  /** The node the graph was built around. */
  root: boolean;
  /** A state to colour by: `serving`, `idle`, `missing`, or none. */
  tone: 'serving' | 'idle' | 'missing' | undefined;
}

/** One drawn arrow. */
export interface LineageArrow {
  id: string;
  source: string;
  target: string;
  label: string;
}

/** What {@link lineageView} returns. */
export interface LineageView {
  boxes: LineageBox[];
  arrows: LineageArrow[];
}

/** How each edge kind is drawn: reversed (so arrows follow the data) and its label. */
const EDGE_DRAWING: Record<string, { reverse: boolean; label: string } | undefined> = {
  produced_by: { reverse: true, label: 'produced' },
  in_experiment: { reverse: true, label: 'contains' },
  consumed: { reverse: true, label: 'input' },
  version_of: { reverse: true, label: 'version' },
  serves: { reverse: true, label: 'serves' },
  // Siblings hang off the run through their own produced_by edges already.
  sibling_version: undefined,
};

/** Id of the synthetic box for a run's code version. */
export function codeBoxId(runId: string): string {
  return `code:${runId}`;
}

/**
 * The boxes and arrows to draw for `graph`: every node, plus a `code` box for a run with a code
 * version (source name, git commit) and an arrow from it into the run.
 */
export function lineageView(graph: LineageGraph): LineageView {
  const boxes: LineageBox[] = [];
  const arrows: LineageArrow[] = [];
  for (const node of graph.nodes) {
    boxes.push(boxOf(node, node.id === graph.root));
    const code = node.kind === 'run' ? node.code_version : undefined;
    if (code !== undefined && (code.source_name || code.git_commit) && node.run_id) {
      const id = codeBoxId(node.run_id);
      boxes.push({
        id,
        kind: 'code',
        kicker: 'Code',
        title: lastPathPart(code.source_name) ?? 'source',
        lines: [
          ...(code.git_commit ? [`commit ${code.git_commit.slice(0, 10)}`] : []),
          ...(code.source_type ? [code.source_type.toLowerCase()] : []),
        ],
        href: undefined,
        root: false,
        tone: undefined,
      });
      arrows.push({ id: `${id}->${node.id}`, source: id, target: node.id, label: 'code' });
    }
  }
  const ids = new Set(boxes.map((box) => box.id));
  for (const edge of graph.edges) {
    const arrow = arrowOf(edge);
    if (arrow && ids.has(arrow.source) && ids.has(arrow.target)) arrows.push(arrow);
  }
  return { boxes, arrows };
}

function arrowOf(edge: LineageEdge): LineageArrow | undefined {
  const drawing = edge.kind in EDGE_DRAWING ? EDGE_DRAWING[edge.kind] : { reverse: false, label: edge.kind };
  if (drawing === undefined) return undefined;
  const [source, target] = drawing.reverse ? [edge.to, edge.from] : [edge.from, edge.to];
  return { id: `${source}->${target}:${edge.kind}`, source, target, label: drawing.label };
}

function boxOf(node: LineageNode, root: boolean): LineageBox {
  const base = { id: node.id, kind: node.kind, root, tone: undefined };
  switch (node.kind) {
    case 'model_version': {
      const name = node.name ?? '';
      const version = node.version ?? '';
      return {
        ...base,
        kicker: root ? 'This version' : 'Model version',
        title: `${name} v${version}`,
        lines: [
          [
            node.current_stage && node.current_stage !== 'None' ? node.current_stage : '',
            ...(node.aliases ?? []).map((a) => `@${a}`),
          ]
            .filter(Boolean)
            .join(' '),
        ].filter(Boolean),
        href: buildPath('/models/:name/versions/:version', { name, version }),
      };
    }
    case 'registered_model':
      return {
        ...base,
        kicker: 'Registered model',
        title: node.name ?? '',
        lines: [],
        href: buildPath('/models/:name', { name: node.name ?? '' }),
      };
    case 'run':
      if (node.missing) {
        return {
          ...base,
          kicker: 'Run',
          title: shortId(node.run_id),
          lines: ['deleted'],
          href: undefined,
          tone: 'missing',
        };
      }
      return {
        ...base,
        kicker: 'Run',
        title: node.run_name || shortId(node.run_id),
        lines: [
          [node.status?.toLowerCase(), typeof node.user_id === 'string' ? node.user_id : undefined]
            .filter(Boolean)
            .join(' · '),
        ].filter(Boolean),
        href: node.run_id ? buildPath('/runs/:id', { id: node.run_id }) : undefined,
      };
    case 'experiment':
      return {
        ...base,
        kicker: 'Experiment',
        title: node.name ?? node.experiment_id ?? '',
        lines: [],
        href: node.experiment_id ? buildPath('/experiments/:id', { id: node.experiment_id }) : undefined,
      };
    case 'dataset':
      return {
        ...base,
        kicker: 'Dataset',
        title: node.name ?? '',
        lines: [
          [node.context, node.digest ? `#${node.digest.slice(0, 8)}` : undefined].filter(Boolean).join(' · '),
        ].filter(Boolean),
        href: undefined,
      };
    case 'deployment': {
      const count = node.prediction_count ?? 0;
      return {
        ...base,
        kicker: 'Deployment',
        title: node.name ?? '',
        lines: [
          node.serving ? `serving${node.arms?.length ? ` · ${node.arms.join(', ')}` : ''}` : 'not serving',
          `${count.toLocaleString('en-US')} prediction${count === 1 ? '' : 's'}`,
        ],
        href: buildPath('/deployments/:name', { name: node.name ?? '' }),
        tone: node.serving ? 'serving' : 'idle',
      };
    }
    default:
      return {
        ...base,
        kicker: node.kind.replaceAll('_', ' '),
        title: node.name ?? node.id,
        lines: [],
        href: undefined,
      };
  }
}

function shortId(id: string | undefined): string {
  return id === undefined ? '' : id.slice(0, 8);
}

function lastPathPart(path: string | undefined): string | undefined {
  if (!path) return undefined;
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? path;
}
