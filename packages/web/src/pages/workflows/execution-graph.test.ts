import {
  type Execution,
  type ExecutionNode,
  type NodeState,
  pendingNode,
  type WorkflowRegistration,
} from '@keel/core';
import { describe, expect, it } from 'vitest';
import { executionGraph } from './execution-graph';

function node(
  node_id: string,
  kind: ExecutionNode['kind'],
  state: NodeState,
  parent_node: string | null = null,
): ExecutionNode {
  return {
    ...pendingNode({ node_id, kind, task: kind === 'branch' ? null : node_id, parent_node }),
    state,
    attempt: 1,
  };
}

/** load → fit-map (items) → pick → branch(then: register ← pick, notify ← register, announce). */
const REGISTRATION = {
  workflow: {
    name: 'train',
    interface: { inputs: {}, outputs: {} },
    nodes: [
      { id: 'load', kind: 'task', task: 'load', inputs: { source: { input: 'source' } } },
      {
        id: 'fit-map',
        kind: 'map',
        task: 'fit',
        over: ['alpha'],
        inputs: { data: { node: 'load', output: 'data' }, alpha: { input: 'alphas' } },
      },
      {
        id: 'pick',
        kind: 'task',
        task: 'pick',
        inputs: { scores: { list: [{ record: { s: { node: 'fit-map', output: 'score' } } }] } },
      },
      {
        id: 'branch',
        kind: 'branch',
        condition: { op: 'gt', left: { node: 'pick', output: 'best' }, right: { literal: 0.9 } },
        // biome-ignore lint/suspicious/noThenProperty: the branch spec's field is called `then`.
        then: {
          nodes: [
            {
              id: 'branch-then-register',
              kind: 'task',
              task: 'register',
              inputs: { model: { node: 'pick', output: 'model' } },
            },
            {
              id: 'branch-then-notify',
              kind: 'task',
              task: 'notify',
              inputs: { uri: { node: 'branch-then-register', output: 'uri' } },
            },
            {
              id: 'branch-then-announce',
              kind: 'task',
              task: 'announce',
              inputs: { text: { literal: 'done' } },
            },
          ],
          outputs: {},
        },
      },
    ],
    outputs: {},
  },
  subworkflows: [],
  tasks: [],
  code: { path: 'p', sha256: 's' },
} as unknown as WorkflowRegistration;

const EXECUTION = {
  execution_id: 'e1',
  nodes: [
    node('load', 'task', 'succeeded'),
    node('fit-map', 'map', 'running'),
    node('fit-map[0]', 'task', 'succeeded', 'fit-map'),
    node('fit-map[1]', 'task', 'cached', 'fit-map'),
    node('fit-map[2]', 'task', 'running', 'fit-map'),
    node('fit-map[3]', 'task', 'failed', 'fit-map'),
    node('pick', 'task', 'pending'),
    node('branch', 'branch', 'succeeded'),
    node('branch.then.branch-then-register', 'task', 'queued', 'branch'),
    node('branch.then.branch-then-notify', 'task', 'pending', 'branch'),
    node('branch.then.branch-then-announce', 'task', 'pending', 'branch'),
  ],
} as unknown as Execution;

describe('executionGraph', () => {
  it('draws every node but map items, a map with its items’ progress', () => {
    const graph = executionGraph(EXECUTION, REGISTRATION);
    expect(graph.boxes.map((box) => box.id)).toEqual([
      'load',
      'fit-map',
      'pick',
      'branch',
      'branch.then.branch-then-register',
      'branch.then.branch-then-notify',
      'branch.then.branch-then-announce',
    ]);
    expect(graph.boxes[1]?.items).toEqual({ total: 4, done: 2, running: 1, failed: 1 });
    expect(graph.boxes[0]?.items).toBeUndefined();
  });

  it('draws arrows along the bindings, into branches and within their expanded nodes', () => {
    const graph = executionGraph(EXECUTION, REGISTRATION);
    expect(graph.arrows.map((arrow) => arrow.id)).toEqual([
      'load->fit-map',
      'fit-map->pick',
      'pick->branch',
      'pick->branch.then.branch-then-register',
      'branch->branch.then.branch-then-register',
      'branch.then.branch-then-register->branch.then.branch-then-notify',
      'branch->branch.then.branch-then-announce',
    ]);
  });

  it('without the spec, only links expanded nodes to their branch', () => {
    expect(executionGraph(EXECUTION, undefined).arrows.map((arrow) => arrow.id)).toEqual([
      'branch->branch.then.branch-then-register',
      'branch->branch.then.branch-then-notify',
      'branch->branch.then.branch-then-announce',
    ]);
  });
});
