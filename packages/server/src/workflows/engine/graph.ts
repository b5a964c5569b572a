/**
 * The run-time shape of a workflow graph: which node ids a registration's nodes get in an
 * execution, where each node's bindings resolve, and what a binding or a branch condition is
 * worth once the nodes it reads are done. Pure functions of the registration; the scheduler keeps
 * the node states.
 *
 * Node ids: static nodes keep their spec id (`fit`); nodes of an inlined sub-workflow get the
 * workflow node's id as prefix (`prep.split`); nodes of a chosen branch side get the branch id and
 * the side (`pick.then.report`); map items get their index (`fits[3]`). Spec ids contain no `.`
 * or `[`, so the ids of different paths never clash.
 */
import {
  type Binding,
  type BranchNode,
  type Condition,
  canonicalJson,
  type JsonValue,
  type NodeSpec,
  type TaskSpec,
  type WorkflowRegistration,
  type WorkflowSpec,
} from '@keel/core';

/** Where a workflow input's value comes from in a scope. */
export type InputSource = { value: JsonValue } | { binding: Binding; scope: Scope };

/**
 * The bindings of one graph level: the node ids visible there (its own nodes and those of the
 * graphs enclosing it in the same workflow) and its workflow's inputs.
 */
export interface Scope {
  /** The run-time id of a visible node, by spec id. */
  nodeId(specId: string): string;
  /** Where the workflow input `name` comes from. */
  input(name: string): InputSource;
}

/** One node of an execution as the graph defines it (its state lives elsewhere). */
export interface NodeDef {
  /** Run-time id. */
  id: string;
  spec: NodeSpec;
  /** Where its bindings resolve. */
  scope: Scope;
  /** The map, branch or workflow node it was expanded from. */
  parent: string | null;
  /** Map items: the index in the mapped lists. */
  item?: number;
}

/** A node's outputs, once known: what binding resolution reads. */
export type OutputsOf = (nodeId: string) => Record<string, JsonValue> | undefined;

/** A resolved value, or `undefined` while some node it reads is not done. */
export type Resolved = { value: JsonValue } | undefined;

/** The registration's parts by name, as the graph needs them. */
export class Catalog {
  readonly tasks: ReadonlyMap<string, TaskSpec>;
  readonly workflows: ReadonlyMap<string, WorkflowSpec>;

  constructor(readonly registration: WorkflowRegistration) {
    this.tasks = new Map(registration.tasks.map((task) => [task.name, task]));
    this.workflows = new Map(registration.subworkflows.map((spec) => [spec.name, spec]));
  }

  /** The task a `task` or `map` node runs. */
  task(name: string): TaskSpec {
    const task = this.tasks.get(name);
    if (task === undefined) throw new Error(`The registration has no task '${name}'`);
    return task;
  }

  /** A sub-workflow by name. */
  workflow(name: string): WorkflowSpec {
    const spec = this.workflows.get(name);
    if (spec === undefined) throw new Error(`The registration has no sub-workflow '${name}'`);
    return spec;
  }
}

/** The scope of the execution's main workflow: its nodes by their own ids, inputs as launched. */
export function rootScope(spec: WorkflowSpec, inputs: Record<string, JsonValue>): Scope {
  return graphScope(
    spec.nodes.map((node) => node.id),
    '',
    undefined,
    (name) => ({ value: inputs[name] ?? null }),
  );
}

/**
 * The nodes of `nodes` (one graph level) and, recursively, of the sub-workflows they call, with
 * their ids and scopes. Map items and branch sides are not included: they are expanded at run
 * time ({@link mapItem}, {@link branchSide}).
 */
export function instantiate(
  catalog: Catalog,
  nodes: readonly NodeSpec[],
  scope: Scope,
  parent: string | null,
): NodeDef[] {
  const defs: NodeDef[] = [];
  for (const spec of nodes) {
    const id = scope.nodeId(spec.id);
    defs.push({ id, spec, scope, parent });
    if (spec.kind === 'workflow') {
      const sub = catalog.workflow(spec.workflow);
      defs.push(...instantiate(catalog, sub.nodes, subworkflowScope(sub, id, spec.inputs, scope), id));
    }
  }
  return defs;
}

/** The scope inside the sub-workflow called by workflow node `id` (its inputs bound in `outer`). */
export function subworkflowScope(
  sub: WorkflowSpec,
  id: string,
  bindings: Record<string, Binding>,
  outer: Scope,
): Scope {
  return graphScope(
    sub.nodes.map((node) => node.id),
    `${id}.`,
    undefined,
    (name) => {
      const binding = bindings[name];
      if (binding !== undefined) return { binding, scope: outer };
      return { value: sub.defaults?.[name] ?? null };
    },
  );
}

/** The nodes of the chosen side of branch `def`, with their ids and scopes. */
export function branchSide(catalog: Catalog, def: NodeDef, side: 'then' | 'else'): NodeDef[] {
  const branch = def.spec as BranchNode;
  const graph = side === 'then' ? branch.then : branch.else;
  if (graph === undefined) return [];
  return instantiate(catalog, graph.nodes, branchScope(branch, def.id, side, def.scope), def.id);
}

/** The scope of one side of a branch: its own nodes, then the enclosing graph's. */
export function branchScope(branch: BranchNode, id: string, side: 'then' | 'else', outer: Scope): Scope {
  const graph = side === 'then' ? branch.then : branch.else;
  return graphScope(
    (graph?.nodes ?? []).map((node) => node.id),
    `${id}.${side}.`,
    outer,
    (name) => outer.input(name),
  );
}

/** Item `index` of map node `def`. */
export function mapItem(def: NodeDef, index: number): NodeDef {
  return { id: `${def.id}[${index}]`, spec: def.spec, scope: def.scope, parent: def.id, item: index };
}

function graphScope(
  ids: readonly string[],
  prefix: string,
  outer: Scope | undefined,
  input: (name: string) => InputSource,
): Scope {
  const own = new Set(ids);
  return {
    nodeId(specId) {
      if (own.has(specId)) return `${prefix}${specId}`;
      if (outer === undefined) throw new Error(`No node '${specId}' is visible here`);
      return outer.nodeId(specId);
    },
    input,
  };
}

/**
 * The value of a binding, or `undefined` while a node it reads has no outputs yet.
 *
 * @example
 * resolve({ node: 'split', output: 'train' }, scope, outputsOf); // { value: { $artifact: … } }
 */
export function resolve(binding: Binding, scope: Scope, outputsOf: OutputsOf): Resolved {
  if ('literal' in binding) return { value: binding.literal };
  if ('input' in binding) {
    const source = scope.input(binding.input);
    return 'value' in source ? source : resolve(source.binding, source.scope, outputsOf);
  }
  if ('node' in binding) {
    const outputs = outputsOf(scope.nodeId(binding.node));
    return outputs === undefined ? undefined : { value: outputs[binding.output] ?? null };
  }
  if ('list' in binding) {
    const values: JsonValue[] = [];
    for (const item of binding.list) {
      const resolved = resolve(item, scope, outputsOf);
      if (resolved === undefined) return undefined;
      values.push(resolved.value);
    }
    return { value: values };
  }
  const record: Record<string, JsonValue> = {};
  for (const [name, field] of Object.entries(binding.record)) {
    const resolved = resolve(field, scope, outputsOf);
    if (resolved === undefined) return undefined;
    record[name] = resolved.value;
  }
  return { value: record };
}

/** Every binding of a record resolved, or `undefined` while one is not. */
export function resolveAll(
  bindings: Record<string, Binding>,
  scope: Scope,
  outputsOf: OutputsOf,
): Record<string, JsonValue> | undefined {
  const values: Record<string, JsonValue> = {};
  for (const [name, binding] of Object.entries(bindings)) {
    const resolved = resolve(binding, scope, outputsOf);
    if (resolved === undefined) return undefined;
    values[name] = resolved.value;
  }
  return values;
}

/** The run-time ids of the nodes a binding reads (through sub-workflow inputs too). */
export function bindingDeps(binding: Binding, scope: Scope, into: Set<string>): Set<string> {
  if ('input' in binding) {
    const source = scope.input(binding.input);
    if ('binding' in source) bindingDeps(source.binding, source.scope, into);
  } else if ('node' in binding) {
    into.add(scope.nodeId(binding.node));
  } else if ('list' in binding) {
    for (const item of binding.list) bindingDeps(item, scope, into);
  } else if ('record' in binding) {
    for (const field of Object.values(binding.record)) bindingDeps(field, scope, into);
  }
  return into;
}

/** The bindings a condition reads. */
export function conditionBindings(condition: Condition): Binding[] {
  switch (condition.op) {
    case 'and':
    case 'or':
      return condition.conditions.flatMap(conditionBindings);
    case 'not':
      return conditionBindings(condition.condition);
    case 'isTrue':
    case 'isNull':
      return [condition.value];
    default:
      return [condition.left, condition.right];
  }
}

/**
 * A branch condition's truth, or `undefined` while a node it reads is not done. Comparisons of
 * anything but two numbers or two strings are false; `eq`/`ne` compare any JSON values by content.
 */
export function evaluate(condition: Condition, scope: Scope, outputsOf: OutputsOf): boolean | undefined {
  switch (condition.op) {
    case 'and':
    case 'or': {
      const values = condition.conditions.map((c) => evaluate(c, scope, outputsOf));
      if (values.includes(undefined)) return undefined;
      return condition.op === 'and' ? values.every(Boolean) : values.some(Boolean);
    }
    case 'not': {
      const value = evaluate(condition.condition, scope, outputsOf);
      return value === undefined ? undefined : !value;
    }
    case 'isTrue':
    case 'isNull': {
      const resolved = resolve(condition.value, scope, outputsOf);
      if (resolved === undefined) return undefined;
      return condition.op === 'isTrue' ? resolved.value === true : resolved.value === null;
    }
    default: {
      const left = resolve(condition.left, scope, outputsOf);
      const right = resolve(condition.right, scope, outputsOf);
      if (left === undefined || right === undefined) return undefined;
      return compare(condition.op, left.value, right.value);
    }
  }
}

function compare(op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge', left: JsonValue, right: JsonValue): boolean {
  if (op === 'eq') return canonicalJson(left) === canonicalJson(right);
  if (op === 'ne') return canonicalJson(left) !== canonicalJson(right);
  const comparable =
    (typeof left === 'number' && typeof right === 'number') ||
    (typeof left === 'string' && typeof right === 'string');
  if (!comparable) return false;
  switch (op) {
    case 'lt':
      return left < right;
    case 'le':
      return left <= right;
    case 'gt':
      return left > right;
    case 'ge':
      return left >= right;
  }
}
