/**
 * The DAG of an execution as the page draws it: one box per node except map items (a map box counts
 * its items by state instead), and arrows that follow the data — from each node an input binding
 * names to the node reading it (the version's spec says which), and from a branch into the nodes it
 * expanded. Pure, unit-tested.
 */
import type {
  Binding,
  Condition,
  Execution,
  ExecutionNode,
  NodeSpec,
  WorkflowRegistration,
} from '@keel/core';

/** How a map's items stand. */
export interface ItemProgress {
  total: number;
  /** Succeeded or cached. */
  done: number;
  running: number;
  failed: number;
}

/** One drawn node. */
export interface ExecutionBox {
  id: string;
  node: ExecutionNode;
  /** For a map node: its items' progress (known once the items exist). */
  items: ItemProgress | undefined;
}

/** One drawn arrow. */
export interface ExecutionArrow {
  id: string;
  source: string;
  target: string;
}

/** What {@link executionGraph} returns. */
export interface ExecutionGraph {
  boxes: ExecutionBox[];
  arrows: ExecutionArrow[];
}

/** The ids of the nodes a binding reads. */
function bindingRefs(binding: Binding, into: Set<string>): Set<string> {
  if ('node' in binding) into.add(binding.node);
  else if ('list' in binding) for (const item of binding.list) bindingRefs(item, into);
  else if ('record' in binding) for (const item of Object.values(binding.record)) bindingRefs(item, into);
  return into;
}

function conditionRefs(condition: Condition, into: Set<string>): Set<string> {
  switch (condition.op) {
    case 'and':
    case 'or':
      for (const inner of condition.conditions) conditionRefs(inner, into);
      return into;
    case 'not':
      return conditionRefs(condition.condition, into);
    case 'isTrue':
    case 'isNull':
      return bindingRefs(condition.value, into);
    default:
      bindingRefs(condition.left, into);
      return bindingRefs(condition.right, into);
  }
}

/** Every node of a spec (branch subgraphs included) → the node ids its inputs (or condition) read. */
function specReads(nodes: readonly NodeSpec[], into: Map<string, Set<string>>): Map<string, Set<string>> {
  for (const node of nodes) {
    const refs = new Set<string>();
    if (node.kind === 'branch') {
      conditionRefs(node.condition, refs);
      specReads(node.then.nodes, into);
      if (node.else) specReads(node.else.nodes, into);
    } else {
      for (const binding of Object.values(node.inputs)) bindingRefs(binding, refs);
    }
    into.set(node.id, refs);
  }
  return into;
}

/** The static id a run-time node was expanded from: `pick.then.fit` → `fit`. */
function specIdOf(node: ExecutionNode): string {
  if (node.parent_node === null) return node.node_id;
  const last = node.node_id.lastIndexOf('.');
  return last === -1 ? node.node_id : node.node_id.slice(last + 1);
}

/**
 * Builds the drawn graph of `execution`; `registration` is its version's spec (without it, only
 * the arrows from branches to their expanded nodes are known).
 */
export function executionGraph(
  execution: Execution,
  registration: WorkflowRegistration | undefined,
): ExecutionGraph {
  const byId = new Map(execution.nodes.map((node) => [node.node_id, node]));
  const isMapItem = (node: ExecutionNode) =>
    node.parent_node !== null && byId.get(node.parent_node)?.kind === 'map';
  const drawn = execution.nodes.filter((node) => !isMapItem(node));
  const drawnIds = new Set(drawn.map((node) => node.node_id));

  const reads = new Map<string, Set<string>>();
  if (registration) {
    specReads(registration.workflow.nodes, reads);
    for (const sub of registration.subworkflows) specReads(sub.nodes, reads);
  }

  const arrows: ExecutionArrow[] = [];
  const seen = new Set<string>();
  const add = (source: string, target: string) => {
    const id = `${source}->${target}`;
    if (source === target || seen.has(id) || !drawnIds.has(source) || !drawnIds.has(target)) return;
    seen.add(id);
    arrows.push({ id, source, target });
  };
  for (const node of drawn) {
    const prefix =
      node.parent_node === null ? '' : node.node_id.slice(0, node.node_id.length - specIdOf(node).length);
    let fromSibling = false;
    for (const ref of reads.get(specIdOf(node)) ?? []) {
      // A node of the same branch side first (`pick.then.<ref>`), else the static node.
      const sibling = `${prefix}${ref}`;
      if (prefix !== '' && drawnIds.has(sibling)) {
        add(sibling, node.node_id);
        fromSibling = true;
      } else {
        add(ref, node.node_id);
      }
    }
    if (node.parent_node !== null && !fromSibling) add(node.parent_node, node.node_id);
  }

  const boxes = drawn.map((node) => ({
    id: node.node_id,
    node,
    items:
      node.kind === 'map'
        ? itemProgress(execution.nodes.filter((item) => item.parent_node === node.node_id))
        : undefined,
  }));
  return { boxes, arrows };
}

function itemProgress(items: readonly ExecutionNode[]): ItemProgress | undefined {
  if (items.length === 0) return undefined;
  return {
    total: items.length,
    done: items.filter((item) => item.state === 'succeeded' || item.state === 'cached').length,
    running: items.filter((item) => item.state === 'running').length,
    failed: items.filter((item) => item.state === 'failed').length,
  };
}
