/**
 * {@link validateWorkflowRegistration}: a registration's shape (see `workflow-parse.ts`), then
 * what its parts refer to, the order of its graphs and the types along every edge. Browser-safe.
 */
import { canonicalJson } from './canonical-json.js';
import { invalidParameter } from './errors.js';
import { knownFields, objectAt } from './spec-fields.js';
import {
  listOf,
  parseTask,
  parseWorkflowSpec,
  sha256At,
  textAt,
  validateWorkflowVersion,
} from './workflow-parse.js';
import {
  type Binding,
  type BranchNode,
  type Condition,
  type NodeSpec,
  type SubGraph,
  type TaskSpec,
  type TypeSpec,
  WORKFLOW_LIMITS,
  type WorkflowNode,
  type WorkflowRegistration,
  type WorkflowSpec,
} from './workflow-spec.js';
import { checkValue, formatType, typeAccepts } from './workflow-values.js';

/**
 * Validates a registration (a parsed JSON value) and returns it with only known fields and
 * `retries` defaulting to 0. Checks, each failing with INVALID_PARAMETER_VALUE whose message
 * starts with the JSON path of the bad field (e.g.
 * `workflow.nodes[2].inputs.data: node 'split' has no output 'tets'`):
 * - names (workflows, tasks, node ids, inputs/outputs), the version, hashes, limits
 *   ({@link WORKFLOW_LIMITS}: retries 0..10, at most 10,000 static nodes with sub-workflows
 *   inlined);
 * - task and sub-workflow names unique; every `task`/`map` node names a task and every `workflow`
 *   node a sub-workflow; sub-workflows do not refer to each other in a cycle;
 * - node ids unique within each workflow (branch subgraphs included); every binding refers to an
 *   existing input, or to an output of a node of its own graph or an enclosing one; no cycles and
 *   nodes in a topological order;
 * - types: literals match their type, a binding's type is accepted by the input it feeds (see
 *   `typeAccepts`: int → float allowed), every required task input is bound, `map` inputs in
 *   `over` are arrays of the task's input type, both sides of a branch return the same outputs,
 *   a workflow binds exactly its declared outputs, comparisons compare numbers or strings.
 *
 * @example
 * const reg = validateWorkflowRegistration(JSON.parse(body));
 */
export function validateWorkflowRegistration(value: unknown): WorkflowRegistration {
  const spec = objectAt(value, 'registration');
  knownFields(spec, 'registration', ['workflow', 'subworkflows', 'tasks', 'code', 'version', 'description']);
  const registration: WorkflowRegistration = {
    workflow: parseWorkflowSpec(spec.workflow, 'workflow'),
    subworkflows: listOf(
      spec.subworkflows ?? [],
      'subworkflows',
      WORKFLOW_LIMITS.maxSubworkflows,
      parseWorkflowSpec,
    ),
    tasks: listOf(spec.tasks ?? [], 'tasks', WORKFLOW_LIMITS.maxTasks, parseTask),
    code: parseCode(spec.code),
  };
  if (spec.version !== undefined && spec.version !== null) {
    registration.version = validateWorkflowVersion(spec.version, 'version');
  }
  if (spec.description !== undefined && spec.description !== null) {
    if (typeof spec.description !== 'string') throw invalidParameter('description must be a string');
    if (spec.description.length > WORKFLOW_LIMITS.maxDescriptionLength) {
      throw invalidParameter(
        `description is ${spec.description.length} characters long; at most ${WORKFLOW_LIMITS.maxDescriptionLength} are allowed`,
      );
    }
    registration.description = spec.description;
  }
  checkRegistration(registration);
  return registration;
}

/**
 * The bytes a registration's content hash is computed over (with node crypto, in the server and
 * the SDK): canonical JSON (keys sorted, no whitespace) of `{ code: code.sha256, subworkflows,
 * tasks, workflow }`, sub-workflows and tasks sorted by name. `version` and `description` are
 * not part of the content, and neither is where the code package is stored.
 *
 * @example
 * const hash = createHash('sha256').update(canonicalWorkflowJson(reg)).digest('hex');
 */
export function canonicalWorkflowJson(reg: WorkflowRegistration): string {
  const byName = (a: { name: string }, b: { name: string }) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  return canonicalJson({
    code: reg.code.sha256,
    subworkflows: [...reg.subworkflows].sort(byName),
    tasks: [...reg.tasks].sort(byName),
    workflow: reg.workflow,
  });
}

function parseCode(value: unknown): WorkflowRegistration['code'] {
  const code = objectAt(value, 'code', 'an object { path, sha256 }');
  knownFields(code, 'code', ['path', 'sha256']);
  return {
    path: textAt(code.path, 'code.path', WORKFLOW_LIMITS.maxPathLength),
    sha256: sha256At(code.sha256, 'code.sha256'),
  };
}

/** What every workflow of a registration is checked against. */
interface Catalog {
  tasks: Map<string, TaskSpec>;
  subworkflows: Map<string, { spec: WorkflowSpec; path: string }>;
}

function checkRegistration(reg: WorkflowRegistration): void {
  const catalog: Catalog = { tasks: new Map(), subworkflows: new Map() };
  reg.tasks.forEach((task, i) => {
    if (catalog.tasks.has(task.name))
      throw invalidParameter(`tasks[${i}].name: task '${task.name}' is listed twice`);
    catalog.tasks.set(task.name, task);
  });
  reg.subworkflows.forEach((spec, i) => {
    if (spec.name === reg.workflow.name || catalog.subworkflows.has(spec.name)) {
      throw invalidParameter(`subworkflows[${i}].name: workflow '${spec.name}' is listed twice`);
    }
    catalog.subworkflows.set(spec.name, { spec, path: `subworkflows[${i}]` });
  });
  checkSubworkflowCycles(reg.workflow, catalog);
  checkStaticNodeCount(reg.workflow, catalog);
  new WorkflowChecker(reg.workflow, 'workflow', catalog).check();
  reg.subworkflows.forEach((spec, i) => {
    new WorkflowChecker(spec, `subworkflows[${i}]`, catalog).check();
  });
}

/** Every `workflow` node of a workflow, nested branches included, with its path. */
function workflowNodes(nodes: readonly NodeSpec[], path: string): { node: WorkflowNode; path: string }[] {
  const out: { node: WorkflowNode; path: string }[] = [];
  nodes.forEach((node, i) => {
    const at = `${path}[${i}]`;
    if (node.kind === 'workflow') out.push({ node, path: at });
    if (node.kind === 'branch') {
      out.push(...workflowNodes(node.then.nodes, `${at}.then.nodes`));
      if (node.else) out.push(...workflowNodes(node.else.nodes, `${at}.else.nodes`));
    }
  });
  return out;
}

/** Sub-workflow references resolve and form no cycle (a workflow inlining itself, directly or not). */
function checkSubworkflowCycles(main: WorkflowSpec, catalog: Catalog): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (spec: WorkflowSpec, path: string, chain: string[]): void => {
    state.set(spec.name, 'visiting');
    for (const { node, path: at } of workflowNodes(spec.nodes, `${path}.nodes`)) {
      const sub = catalog.subworkflows.get(node.workflow);
      if (sub === undefined) {
        throw invalidParameter(`${at}.workflow: no sub-workflow '${node.workflow}' in subworkflows`);
      }
      if (state.get(node.workflow) === 'visiting') {
        throw invalidParameter(
          `${at}.workflow: sub-workflows form a cycle: ${[...chain, spec.name, node.workflow].join(' → ')}`,
        );
      }
      if (state.get(node.workflow) === undefined) visit(sub.spec, sub.path, [...chain, spec.name]);
    }
    state.set(spec.name, 'done');
  };
  visit(main, 'workflow', []);
  for (const { spec, path } of catalog.subworkflows.values())
    if (!state.has(spec.name)) visit(spec, path, []);
}

/** At most `maxStaticNodes` nodes once every sub-workflow is inlined (both sides of branches counted). */
function checkStaticNodeCount(main: WorkflowSpec, catalog: Catalog): void {
  const limit = WORKFLOW_LIMITS.maxStaticNodes;
  const memo = new Map<string, number>();
  const countGraph = (nodes: readonly NodeSpec[]): number => {
    let total = 0;
    for (const node of nodes) {
      total += 1;
      if (node.kind === 'branch') total += countGraph(node.then.nodes) + countGraph(node.else?.nodes ?? []);
      if (node.kind === 'workflow') total += countWorkflow(node.workflow);
      if (total > limit) return total; // sums of inlined copies grow fast: stop early
    }
    return total;
  };
  const countWorkflow = (name: string): number => {
    let count = memo.get(name);
    if (count === undefined) {
      count = countGraph(catalog.subworkflows.get(name)?.spec.nodes ?? []);
      memo.set(name, count);
    }
    return count;
  };
  if (countGraph(main.nodes) > limit) {
    throw invalidParameter(
      `workflow.nodes: the workflow has more than ${limit} static nodes (sub-workflows inlined, both sides of branches counted)`,
    );
  }
}

/** One graph: a workflow's top level or one side of a branch. */
interface Graph {
  readonly nodes: readonly NodeSpec[];
  /** Path of the object holding `nodes` (a workflow, or a branch's `then`/`else`). */
  readonly base: string;
  /** Path of the `nodes` list. */
  readonly path: string;
  readonly parent: Graph | undefined;
}

interface NodeEntry {
  readonly node: NodeSpec;
  readonly path: string;
  readonly graph: Graph;
  readonly index: number;
}

/** The checks of one workflow spec that need its graph: references, order, types. */
class WorkflowChecker {
  readonly #entries = new Map<string, NodeEntry>();
  /** Output types of the nodes checked so far. */
  readonly #outputs = new Map<string, Record<string, TypeSpec>>();
  readonly #top: Graph;
  readonly #graphs = new Map<NodeSpec, Graph[]>();

  constructor(
    private readonly spec: WorkflowSpec,
    private readonly path: string,
    private readonly catalog: Catalog,
  ) {
    this.#top = graphOf(spec.nodes, path, undefined);
  }

  /** The graphs of a branch's sides, made once per node: visibility compares graphs by identity. */
  #subGraphs(node: NodeSpec, path: string, parent: Graph): Graph[] {
    let graphs = this.#graphs.get(node);
    if (graphs === undefined) {
      graphs = subGraphsOf(node, path, parent);
      this.#graphs.set(node, graphs);
    }
    return graphs;
  }

  check(): void {
    this.#collect(this.#top);
    this.#checkOrder(this.#top);
    this.#checkGraph(this.#top);
    this.#checkOutputs(this.spec.outputs, this.spec.interface.outputs, `${this.path}.outputs`, this.#top);
  }

  /** Registers every node id (unique within the workflow) and checks each graph's order. */
  #collect(graph: Graph): void {
    graph.nodes.forEach((node, index) => {
      const path = `${graph.path}[${index}]`;
      const previous = this.#entries.get(node.id);
      if (previous !== undefined) {
        throw invalidParameter(`${path}.id: node id '${node.id}' is already used by ${previous.path}`);
      }
      this.#entries.set(node.id, { node, path, graph, index });
      for (const sub of this.#subGraphs(node, path, graph)) this.#collect(sub);
    });
  }

  /**
   * No cycles, and every node after the siblings it depends on. A node depends on a sibling
   * when a binding anywhere inside it (its subgraphs included) names that sibling.
   */
  #checkOrder(graph: Graph): void {
    const deps = graph.nodes.map((node, index) => {
      const found = new Set<number>();
      for (const id of referencedNodes(node)) {
        const entry = this.#entries.get(id);
        if (entry === undefined || entry.graph !== graph) continue;
        if (entry.index === index) {
          throw invalidParameter(
            `${graph.path}[${index}]: cycle: node '${node.id}' depends on its own output`,
          );
        }
        found.add(entry.index);
      }
      return [...found];
    });
    const cycle = findCycle(deps);
    if (cycle !== undefined) {
      const [first = 0] = cycle;
      throw invalidParameter(
        `${graph.path}[${first}]: cycle: ${[...cycle, first].map((i) => `'${graph.nodes[i]?.id}'`).join(' needs ')}`,
      );
    }
    deps.forEach((list, index) => {
      const later = list.find((dep) => dep > index);
      if (later !== undefined) {
        throw invalidParameter(
          `${graph.path}[${index}]: node '${graph.nodes[index]?.id}' refers to node '${graph.nodes[later]?.id}', which comes after it (nodes must be in a topological order)`,
        );
      }
    });
    graph.nodes.forEach((node, index) => {
      for (const sub of this.#subGraphs(node, `${graph.path}[${index}]`, graph)) this.#checkOrder(sub);
    });
  }

  /** Checks every node of a graph, in order, recording its output types. */
  #checkGraph(graph: Graph): void {
    graph.nodes.forEach((node, index) => {
      this.#outputs.set(node.id, this.#checkNode(node, `${graph.path}[${index}]`, graph));
    });
  }

  #checkNode(node: NodeSpec, path: string, graph: Graph): Record<string, TypeSpec> {
    switch (node.kind) {
      case 'task': {
        const task = this.#task(node.task, `${path}.task`);
        this.#checkInputs(node.inputs, task.interface.inputs, `${path}.inputs`, graph, {
          callee: `task '${task.name}'`,
        });
        return task.interface.outputs;
      }
      case 'map': {
        const task = this.#task(node.task, `${path}.task`);
        const expected = { ...task.interface.inputs };
        for (const name of node.over) {
          const type = expected[name];
          if (type === undefined)
            throw invalidParameter(`${path}.inputs.${name}: task '${task.name}' has no input '${name}'`);
          expected[name] = { type: 'array', items: type };
        }
        this.#checkInputs(node.inputs, expected, `${path}.inputs`, graph, {
          callee: `task '${task.name}'`,
          over: node.over,
        });
        return mapValues(task.interface.outputs, (type) => ({ type: 'array', items: type }));
      }
      case 'workflow': {
        const sub = this.catalog.subworkflows.get(node.workflow)?.spec;
        if (sub === undefined)
          throw invalidParameter(`${path}.workflow: no sub-workflow '${node.workflow}' in subworkflows`);
        const defaulted = Object.keys(sub.defaults ?? {});
        this.#checkInputs(node.inputs, sub.interface.inputs, `${path}.inputs`, graph, {
          callee: `workflow '${sub.name}'`,
          defaulted,
        });
        return sub.interface.outputs;
      }
      case 'branch':
        return this.#checkBranch(node, path, graph);
      default:
        return assertNever(node);
    }
  }

  #checkBranch(node: BranchNode, path: string, graph: Graph): Record<string, TypeSpec> {
    this.#checkCondition(node.condition, `${path}.condition`, graph);
    const [thenGraph, elseGraph] = this.#subGraphs(node, path, graph);
    const thenTypes = this.#checkSubGraph(node.then, thenGraph as Graph);
    if (node.else === undefined) {
      // Not taken: the branch yields null for every output.
      return mapValues(thenTypes, (type) =>
        type.type === 'optional' || type.type === 'json' ? type : { type: 'optional', of: type },
      );
    }
    const elseTypes = this.#checkSubGraph(node.else, elseGraph as Graph);
    const names = (types: Record<string, TypeSpec>) => Object.keys(types).sort().join(', ') || 'nothing';
    if (names(thenTypes) !== names(elseTypes)) {
      throw invalidParameter(
        `${path}.else.outputs: both sides of a branch must return the same outputs (then: ${names(thenTypes)}; else: ${names(elseTypes)})`,
      );
    }
    return mapValues(thenTypes, (thenType, name) => {
      const elseType = elseTypes[name] as TypeSpec;
      if (typeAccepts(thenType, elseType)) return thenType;
      if (typeAccepts(elseType, thenType)) return elseType;
      throw invalidParameter(
        `${path}.else.outputs.${name}: then returns ${formatType(thenType)} but else returns ${formatType(elseType)}`,
      );
    });
  }

  /** A subgraph's nodes, then its outputs' types (inferred: subgraph outputs are not declared). */
  #checkSubGraph(sub: SubGraph, graph: Graph): Record<string, TypeSpec> {
    this.#checkGraph(graph);
    return mapValues(
      sub.outputs,
      (binding, name) =>
        this.#bindingType(binding, undefined, `${graph.base}.outputs.${name}`, graph) ?? { type: 'json' },
    );
  }

  #checkOutputs(
    bindings: Record<string, Binding>,
    declared: Record<string, TypeSpec>,
    path: string,
    graph: Graph,
  ): void {
    for (const name of Object.keys(bindings)) {
      if (!(name in declared))
        throw invalidParameter(`${path}.${name}: workflow '${this.spec.name}' declares no output '${name}'`);
    }
    for (const [name, type] of Object.entries(declared)) {
      const binding = bindings[name];
      if (binding === undefined)
        throw invalidParameter(
          `${path}.${name} is required: output '${name}' (${formatType(type)}) is not bound`,
        );
      this.#bindingType(binding, type, `${path}.${name}`, graph);
    }
  }

  /**
   * Bindings of a call: no unknown names; every declared input bound unless optional or
   * defaulted; each binding's type accepted by its input's.
   */
  #checkInputs(
    bindings: Record<string, Binding>,
    declared: Record<string, TypeSpec>,
    path: string,
    graph: Graph,
    call: CallInfo,
  ): void {
    const { callee, noun = 'input', over = [], defaulted = [] } = call;
    for (const name of Object.keys(bindings)) {
      if (!(name in declared)) throw invalidParameter(`${path}.${name}: ${callee} has no ${noun} '${name}'`);
    }
    for (const [name, type] of Object.entries(declared)) {
      const binding = bindings[name];
      if (binding === undefined) {
        if (type.type === 'optional' || defaulted.includes(name)) continue;
        throw invalidParameter(
          `${path}.${name} is required: ${callee} needs ${noun} '${name}' (${formatType(type)})`,
        );
      }
      const note = over.includes(name) ? ` (map over '${name}' needs a list)` : '';
      this.#bindingType(binding, type, `${path}.${name}`, graph, note);
    }
  }

  #checkCondition(condition: Condition, path: string, graph: Graph): void {
    switch (condition.op) {
      case 'and':
      case 'or':
        condition.conditions.forEach((c, i) => {
          this.#checkCondition(c, `${path}.conditions[${i}]`, graph);
        });
        return;
      case 'not':
        this.#checkCondition(condition.condition, `${path}.condition`, graph);
        return;
      case 'isNull':
        this.#bindingType(condition.value, undefined, `${path}.value`, graph);
        return;
      case 'isTrue': {
        const type = this.#bindingType(condition.value, undefined, `${path}.value`, graph);
        if (type !== undefined && type.type !== 'json' && !typeAccepts(BOOLEAN_OR_NULL, type)) {
          throw invalidParameter(`${path}.value: isTrue needs a boolean, got ${formatType(type)}`);
        }
        return;
      }
      case 'eq':
      case 'ne':
        this.#bindingType(condition.left, undefined, `${path}.left`, graph);
        this.#bindingType(condition.right, undefined, `${path}.right`, graph);
        return;
      default: {
        const left = this.#comparable(condition.left, `${path}.left`, graph);
        const right = this.#comparable(condition.right, `${path}.right`, graph);
        if (left !== undefined && right !== undefined && left !== right) {
          throw invalidParameter(`${path}: '${condition.op}' compares a ${left} with a ${right}`);
        }
      }
    }
  }

  /** `number` or `string` for an operand of lt/le/gt/ge (undefined when only known at run time). */
  #comparable(binding: Binding, path: string, graph: Graph): 'number' | 'string' | undefined {
    if ('literal' in binding) {
      if (typeof binding.literal === 'number') return 'number';
      if (typeof binding.literal === 'string') return 'string';
      throw invalidParameter(`${path}.literal must be a number or a string to compare`);
    }
    const type = this.#bindingType(binding, undefined, path, graph);
    if (type === undefined || type.type === 'json') return undefined;
    const base = type.type === 'optional' ? type.of : type;
    if (base.type === 'int' || base.type === 'float') return 'number';
    if (base.type === 'string' || base.type === 'model') return 'string';
    throw invalidParameter(`${path}: only numbers or strings can be compared, not ${formatType(type)}`);
  }

  /**
   * Checks a binding against `expected` (when given) and returns its type when it is known
   * statically (inputs and node outputs; literal scalars).
   */
  #bindingType(
    binding: Binding,
    expected: TypeSpec | undefined,
    path: string,
    graph: Graph,
    note = '',
  ): TypeSpec | undefined {
    if ('literal' in binding) {
      if (expected !== undefined) checkValue(expected, binding.literal, `${path}.literal`, 'literal');
      return literalType(binding.literal);
    }
    if ('list' in binding) {
      const items = expectedItems(expected, path, note);
      binding.list.forEach((item, i) => {
        this.#bindingType(item, items, `${path}.list[${i}]`, graph);
      });
      return undefined;
    }
    if ('record' in binding) {
      this.#checkRecordBinding(binding.record, expected, path, graph);
      return undefined;
    }
    const [actual, source] =
      'input' in binding ? this.#inputType(binding.input, path) : this.#outputType(binding, path, graph);
    if (expected !== undefined && !typeAccepts(expected, actual)) {
      throw invalidParameter(
        `${path}: expected ${formatType(expected)}${note}, got ${formatType(actual)} from ${source}`,
      );
    }
    return actual;
  }

  #checkRecordBinding(
    fields: Record<string, Binding>,
    expected: TypeSpec | undefined,
    path: string,
    graph: Graph,
  ): void {
    const target = expected?.type === 'optional' ? expected.of : expected;
    if (target === undefined || target.type === 'json') {
      for (const [name, field] of Object.entries(fields))
        this.#bindingType(field, target, `${path}.record.${name}`, graph);
      return;
    }
    if (target.type !== 'record')
      throw invalidParameter(`${path}: expected ${formatType(target)}, got a record`);
    this.#checkInputs(fields, target.fields, `${path}.record`, graph, {
      callee: `type ${formatType(target)}`,
      noun: 'field',
    });
  }

  #inputType(name: string, path: string): [TypeSpec, string] {
    const type = this.spec.interface.inputs[name];
    if (type === undefined)
      throw invalidParameter(`${path}.input: workflow '${this.spec.name}' has no input '${name}'`);
    return [type, `input '${name}'`];
  }

  #outputType(binding: { node: string; output: string }, path: string, graph: Graph): [TypeSpec, string] {
    const entry = this.#entries.get(binding.node);
    if (entry === undefined)
      throw invalidParameter(`${path}.node: no node '${binding.node}' in workflow '${this.spec.name}'`);
    if (!isVisible(entry.graph, graph)) {
      throw invalidParameter(
        `${path}.node: node '${binding.node}' is inside a branch and cannot be used outside it`,
      );
    }
    const outputs = this.#outputs.get(binding.node);
    if (outputs === undefined) {
      // #checkOrder rules this out; kept so that a gap there shows as an error, not a crash.
      throw invalidParameter(`${path}.node: node '${binding.node}' comes later than this binding`);
    }
    const type = outputs[binding.output];
    if (type === undefined)
      throw invalidParameter(`${path}: node '${binding.node}' has no output '${binding.output}'`);
    return [type, `node '${binding.node}' output '${binding.output}'`];
  }

  #task(name: string, path: string): TaskSpec {
    const task = this.catalog.tasks.get(name);
    if (task === undefined) throw invalidParameter(`${path}: no task '${name}' in tasks`);
    return task;
  }
}

/** Who a set of bindings is passed to, for {@link WorkflowChecker} messages and rules. */
interface CallInfo {
  /** `task 'fit'`, `workflow 'prep'`… */
  callee: string;
  /** @default 'input' */
  noun?: string;
  /** Inputs a map iterates over. @default [] */
  over?: readonly string[];
  /** Inputs with a default, which may be left unbound. @default [] */
  defaulted?: readonly string[];
}

const BOOLEAN_OR_NULL: TypeSpec = { type: 'optional', of: { type: 'boolean' } };

/** The subgraphs of a branch node (then, else), as graphs under `parent`. */
function subGraphsOf(node: NodeSpec, path: string, parent: Graph): Graph[] {
  if (node.kind !== 'branch') return [];
  const graphs = [graphOf(node.then.nodes, `${path}.then`, parent)];
  if (node.else) graphs.push(graphOf(node.else.nodes, `${path}.else`, parent));
  return graphs;
}

function graphOf(nodes: readonly NodeSpec[], base: string, parent: Graph | undefined): Graph {
  return { nodes, base, path: `${base}.nodes`, parent };
}

/** Whether nodes of `owner` are visible from `from`: the same graph or an enclosing one. */
function isVisible(owner: Graph, from: Graph): boolean {
  for (let graph: Graph | undefined = from; graph !== undefined; graph = graph.parent) {
    if (graph === owner) return true;
  }
  return false;
}

/** Node ids named by any binding inside a node, its condition and subgraphs included. */
function referencedNodes(node: NodeSpec): Set<string> {
  const ids = new Set<string>();
  const binding = (b: Binding): void => {
    if ('node' in b) ids.add(b.node);
    else if ('list' in b) b.list.forEach(binding);
    else if ('record' in b) Object.values(b.record).forEach(binding);
  };
  const condition = (c: Condition): void => {
    if ('conditions' in c) c.conditions.forEach(condition);
    else if ('condition' in c) condition(c.condition);
    else if ('value' in c) binding(c.value);
    else {
      binding(c.left);
      binding(c.right);
    }
  };
  const graph = (sub: SubGraph): void => {
    for (const inner of sub.nodes) for (const id of referencedNodes(inner)) ids.add(id);
    Object.values(sub.outputs).forEach(binding);
  };
  if (node.kind === 'branch') {
    condition(node.condition);
    graph(node.then);
    if (node.else) graph(node.else);
  } else {
    Object.values(node.inputs).forEach(binding);
  }
  return ids;
}

/**
 * A cycle of the graph `deps` (node index → indexes it depends on), as the list of its node
 * indexes, each depending on the next (the last on the first), or undefined. Kahn's algorithm, then a walk among the nodes
 * left: iterative, so 10,000-node chains do not exhaust the stack.
 */
function findCycle(deps: readonly number[][]): number[] | undefined {
  const pending = deps.map((list) => list.length);
  const dependents = deps.map((): number[] => []);
  deps.forEach((list, node) => {
    for (const dep of list) dependents[dep]?.push(node);
  });
  const ready = pending.flatMap((count, node) => (count === 0 ? [node] : []));
  for (let node = ready.pop(); node !== undefined; node = ready.pop()) {
    for (const next of dependents[node] ?? []) {
      pending[next] = (pending[next] ?? 0) - 1;
      if (pending[next] === 0) ready.push(next);
    }
  }
  const start = pending.findIndex((count) => count > 0);
  if (start < 0) return undefined;
  // Every node left depends on another node left: walking dependencies must come back round.
  const seen = new Map<number, number>();
  const walk: number[] = [];
  let node = start;
  while (!seen.has(node)) {
    seen.set(node, walk.length);
    walk.push(node);
    node = (deps[node] ?? []).find((dep) => (pending[dep] ?? 0) > 0) as number;
  }
  return walk.slice(seen.get(node));
}

/** The items type a list binding must have, from the type it feeds. */
function expectedItems(expected: TypeSpec | undefined, path: string, note: string): TypeSpec | undefined {
  const target = expected?.type === 'optional' ? expected.of : expected;
  if (target === undefined || target.type === 'json') return target;
  if (target.type !== 'array')
    throw invalidParameter(`${path}: expected ${formatType(target)}${note}, got a list`);
  return target.items;
}

/** The type of a literal scalar (`json` for anything else). */
function literalType(value: unknown): TypeSpec {
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'int' : 'float' };
  if (typeof value === 'string') return { type: 'string' };
  if (typeof value === 'boolean') return { type: 'boolean' };
  return { type: 'json' };
}

function mapValues<T, U>(record: Record<string, T>, fn: (value: T, key: string) => U): Record<string, U> {
  const out: Record<string, U> = {};
  for (const [key, value] of Object.entries(record)) out[key] = fn(value, key);
  return out;
}

function assertNever(value: never): never {
  throw new Error(`Unexpected value ${JSON.stringify(value)}`);
}
