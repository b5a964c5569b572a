/**
 * Derives a workflow's graph by running its body once with references in place of values: every
 * task call, map, sub-workflow call and branch becomes a node whose inputs are bindings to workflow
 * inputs, other nodes' outputs or literals. Types are checked as the graph is built; messages name
 * the workflow, the node and the input.
 */
import {
  type Binding,
  type BranchNode,
  type Condition,
  formatType as describeType,
  INTERFACE_NAME_PATTERN,
  type JsonValue,
  NODE_ID_PATTERN,
  type NodeSpec,
  type TypeSpec,
  typeAccepts,
  type WorkflowSpec,
} from '@keel/core';
import { invalidOption } from '../models/sdk-error.js';
import type {
  AnyTask,
  AnyWorkflow,
  BranchHandle,
  ConditionExpr,
  GraphBuilderPort,
  MapSettings,
} from './dsl-types.js';
import { containsRef, isRef, REF, type Ref } from './ref.js';
import { checkTyped, isPlainObject } from './type-rules.js';

const BUILDER_SLOT = Symbol.for('keel.workflows.builder');
type BuilderSlot = { [BUILDER_SLOT]?: GraphBuilderPort | undefined };

/**
 * The builder of the workflow body being run.
 * @throws InvalidParameterError `<caller> can only be called inside a workflow body[: <hint>]` when none runs.
 */
export function currentBuilder(caller: string, hint?: string): GraphBuilderPort {
  const builder = (globalThis as BuilderSlot)[BUILDER_SLOT];
  if (builder === undefined) {
    throw invalidOption(
      `${caller} can only be called inside a workflow body${hint === undefined ? '' : `: ${hint}`}`,
    );
  }
  return builder;
}

/** What a workflow body needs to be turned into a graph. */
export interface WorkflowDefinition {
  name: string;
  inputs: Record<string, TypeSpec>;
  defaults?: Record<string, JsonValue> | undefined;
  body: (inputs: Record<string, Ref>) => unknown;
  /** The workflow object itself, so that calling it from its own body is caught. */
  self: AnyWorkflow;
}

/** A derived workflow: its spec and every task and sub-workflow it reaches. */
export interface DerivedWorkflow {
  spec: WorkflowSpec;
  /** Every task the workflow runs, its sub-workflows' included, in order of first use. */
  tasks: AnyTask[];
  /** Every sub-workflow, recursively, in order of first use. */
  subworkflows: AnyWorkflow[];
}

/**
 * Runs the body once and returns the workflow's graph.
 * @throws InvalidParameterError for a type mismatch, an unknown or missing input, a reference used
 *   outside its scope, an asynchronous body, or two different tasks or workflows with one name.
 */
export function deriveWorkflowGraph(definition: WorkflowDefinition): DerivedWorkflow {
  const builder = new GraphBuilder(definition.self);
  const inputs = Object.fromEntries(
    Object.entries(definition.inputs).map(([name, spec]) => [
      name,
      makeRef(builder.root, spec, { input: name }, `workflow input '${name}'`),
    ]),
  );
  const result = withBuilder(builder, () => definition.body(inputs));
  const { outputs, types } = builder.workflowOutputs(result);
  const spec: WorkflowSpec = {
    name: definition.name,
    interface: { inputs: { ...definition.inputs }, outputs: types },
    ...(definition.defaults === undefined ? {} : { defaults: definition.defaults }),
    nodes: builder.root.nodes,
    outputs,
  };
  return { spec, tasks: [...builder.tasks.values()], subworkflows: [...builder.workflows.values()] };
}

/** Runs `fn` with `builder` as the current builder (restoring the one of an enclosing derivation). */
function withBuilder<T>(builder: GraphBuilderPort, fn: () => T): T {
  const slot = globalThis as BuilderSlot;
  const previous = slot[BUILDER_SLOT];
  slot[BUILDER_SLOT] = builder;
  try {
    return fn();
  } finally {
    slot[BUILDER_SLOT] = previous;
  }
}

/** Where nodes are added: the workflow body, or one arm of a branch (whose ids it prefixes). */
class Scope {
  readonly nodes: NodeSpec[] = [];

  constructor(
    readonly builder: GraphBuilder,
    readonly parent: Scope | undefined,
    readonly prefix: string,
  ) {}

  /** Whether references made in `scope` may be used here (it is this scope or encloses it). */
  sees(scope: object): boolean {
    for (let current: Scope | undefined = this; current !== undefined; current = current.parent) {
      if (current === scope) return true;
    }
    return false;
  }
}

/** An arm of a branch once run: its scope and the values it returned. */
interface Arm {
  scope: Scope;
  values: Record<string, unknown>;
}

class GraphBuilder implements GraphBuilderPort {
  readonly root: Scope;
  readonly tasks = new Map<string, AnyTask>();
  readonly workflows = new Map<string, AnyWorkflow>();
  readonly name: string;
  private scope: Scope;
  private readonly ids = new Set<string>();

  constructor(private readonly self: AnyWorkflow) {
    this.name = self.name;
    this.root = new Scope(this, undefined, '');
    this.scope = this.root;
  }

  callTask(task: AnyTask, args: unknown): Record<string, Ref> {
    this.useTask(task);
    const id = this.allocate(task.name);
    const inputs = this.bindInputs(id, task.spec.interface.inputs, args, `task '${task.name}'`);
    this.scope.nodes.push({ id, kind: 'task', task: task.name, inputs });
    return this.outputRefs(id, task.spec.interface.outputs, 'node');
  }

  mapTask(task: AnyTask, args: unknown, settings: MapSettings): Record<string, Ref> {
    this.useTask(task);
    const id = this.allocate(`${task.name}-map`);
    const where = `workflow '${this.name}', node '${id}'`;
    const over = this.mapOver(task, settings, where);
    const fields = Object.fromEntries(
      Object.entries(task.spec.interface.inputs).map(([name, spec]) => [
        name,
        over.includes(name) ? arrayOf(spec) : spec,
      ]),
    );
    const inputs = this.bindInputs(id, fields, args, `task '${task.name}'`);
    const { concurrency } = settings;
    if (concurrency !== undefined && (!Number.isSafeInteger(concurrency) || concurrency < 1)) {
      throw invalidOption(`${where}: concurrency must be a positive integer, got ${concurrency}`);
    }
    this.scope.nodes.push({
      id,
      kind: 'map',
      task: task.name,
      inputs,
      over,
      ...(concurrency === undefined ? {} : { concurrency }),
    });
    const outputs = Object.entries(task.spec.interface.outputs).map(([name, spec]) => [name, arrayOf(spec)]);
    return this.outputRefs(id, Object.fromEntries(outputs), 'map');
  }

  callWorkflow(workflow: AnyWorkflow, args: unknown): Record<string, Ref> {
    this.useWorkflow(workflow);
    const { inputs: fields, outputs } = workflow.interface;
    // Workflow names may hold '.' or start with a digit; node ids may not.
    const id = this.allocate(workflow.name.replace(/[^A-Za-z0-9_-]/g, '_').replace(/^(?=[0-9-])/, '_'));
    const defaulted = Object.keys(workflow.spec.defaults ?? {});
    const inputs = this.bindInputs(id, fields, args, `workflow '${workflow.name}'`, defaulted);
    this.scope.nodes.push({ id, kind: 'workflow', workflow: workflow.name, inputs });
    return this.outputRefs(id, outputs, 'node');
  }

  branch(expr: ConditionExpr, arm: () => unknown): BranchHandle {
    const parent = this.scope;
    const id = this.allocate('branch');
    const where = `workflow '${this.name}', branch '${id}'`;
    const condition = this.condition(expr, `${where}, condition`);
    const thenArm = this.runArm(parent, `${id}-then-`, arm, `${where}, then`);
    const thenTypes = mergeArmTypes(thenArm, undefined, where);
    const node: BranchNode = {
      id,
      kind: 'branch',
      condition,
      // biome-ignore lint/suspicious/noThenProperty: the branch field is named by core's NodeSpec; a node is never awaited
      then: { nodes: thenArm.scope.nodes, outputs: this.bindArm(thenArm, thenTypes, `${where}, then`) },
    };
    parent.nodes.push(node);
    let closed = false;
    return {
      otherwise: (otherwise) => {
        if (closed) throw invalidOption(`${where}: otherwise() was already given`);
        closed = true;
        const elseArm = this.runArm(parent, `${id}-else-`, otherwise, `${where}, otherwise`);
        const types = mergeArmTypes(thenArm, elseArm, where);
        node.then.outputs = this.bindArm(thenArm, types, `${where}, then`);
        node.else = {
          nodes: elseArm.scope.nodes,
          outputs: this.bindArm(elseArm, types, `${where}, otherwise`),
        };
        return Object.fromEntries(
          Object.entries(types).map(([name, spec]) => [
            name,
            makeRef(parent, spec, { node: id, output: name }, `output '${name}' of branch '${id}'`),
          ]),
        );
      },
    };
  }

  /** A workflow's outputs and their types, from what its body returned: references only. */
  workflowOutputs(result: unknown): { outputs: Record<string, Binding>; types: Record<string, TypeSpec> } {
    const where = `workflow '${this.name}'`;
    const outputs: Record<string, Binding> = {};
    const types: Record<string, TypeSpec> = {};
    for (const [name, value] of Object.entries(this.armValues(result, `${where}: the body`))) {
      if (!isRef(value)) {
        throw invalidOption(
          `${where}, output '${name}': return a reference (a workflow input or a task output), not a literal`,
        );
      }
      outputs[name] = this.bind(value, value.spec, `${where}, output '${name}'`);
      types[name] = value.spec;
    }
    return { outputs, types };
  }

  /** The values a body or an arm returned: nothing, or an object of references and literals. */
  private armValues(result: unknown, what: string): Record<string, unknown> {
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      throw invalidOption(
        `${what} must be synchronous: it only wires tasks together (they run later), so it cannot await`,
      );
    }
    if (result === undefined) return {};
    if (!isPlainObject(result)) {
      throw invalidOption(`${what} must return an object of outputs (or nothing)`);
    }
    for (const name of Object.keys(result)) {
      if (!INTERFACE_NAME_PATTERN.test(name))
        throw invalidOption(`${what} returns an invalid output name '${name}'`);
    }
    return result;
  }

  /** Turns a value passed for an input of type `spec` into a binding, checking its type. */
  bind(value: unknown, spec: TypeSpec, where: string): Binding {
    if (isRef(value)) {
      this.checkVisible(value, where);
      if (!typeAccepts(spec, value.spec)) {
        throw invalidOption(
          `${where}: expected ${describeType(spec)}, got ${describeType(value.spec)} from ${value.source}`,
        );
      }
      return value.binding;
    }
    if (!containsRef(value)) {
      checkTyped(spec, value, where, 'literal');
      return { literal: JSON.parse(JSON.stringify(value)) as JsonValue };
    }
    const target = spec.type === 'optional' ? spec.of : spec;
    if (Array.isArray(value) && (target.type === 'array' || target.type === 'json')) {
      const items = target.type === 'array' ? target.items : target;
      return { list: value.map((item, index) => this.bind(item, items, `${where}[${index}]`)) };
    }
    if (isPlainObject(value) && target.type === 'json') {
      return { record: mapValues(value, (item, key) => this.bind(item, target, `${where}.${key}`)) };
    }
    if (isPlainObject(value) && target.type === 'record') {
      const extra = Object.keys(value).find((key) => !(key in target.fields));
      if (extra !== undefined) throw invalidOption(`${where}: unknown field '${extra}'`);
      return {
        record: mapValues(target.fields, (field, key) => {
          const item = value[key];
          if (item === undefined && field.type !== 'optional') {
            throw invalidOption(`${where}: missing field '${key}'`);
          }
          return this.bind(item ?? null, field, `${where}.${key}`);
        }),
      };
    }
    throw invalidOption(`${where}: expected ${describeType(spec)}`);
  }

  private bindInputs(
    id: string,
    fields: Record<string, TypeSpec>,
    args: unknown,
    callee: string,
    defaulted: readonly string[] = [],
  ): Record<string, Binding> {
    const where = `workflow '${this.name}', node '${id}'`;
    const given = args ?? {};
    if (!isPlainObject(given)) throw invalidOption(`${where}: inputs must be an object`);
    const known = Object.keys(fields);
    const unknown = Object.keys(given).find((name) => !(name in fields));
    if (unknown !== undefined) {
      const expected = known.length === 0 ? 'it takes no inputs' : `it takes ${known.join(', ')}`;
      throw invalidOption(`${where}: unknown input '${unknown}' for ${callee} (${expected})`);
    }
    const inputs: Record<string, Binding> = {};
    for (const [name, spec] of Object.entries(fields)) {
      const value = given[name];
      // Left out: an optional input is null, a defaulted one takes its default when the workflow runs.
      if (value === undefined && (spec.type === 'optional' || defaulted.includes(name))) continue;
      if (value === undefined) {
        throw invalidOption(`${where}: missing input '${name}' (${describeType(spec)}) of ${callee}`);
      }
      inputs[name] = this.bind(value, spec, `${where}, input '${name}'`);
    }
    return inputs;
  }

  private mapOver(task: AnyTask, settings: MapSettings, where: string): string[] {
    const over = settings.over as unknown;
    if (!Array.isArray(over) || over.length === 0) {
      throw invalidOption(`${where}: 'over' must name at least one input of task '${task.name}'`);
    }
    for (const name of over) {
      if (!(typeof name === 'string' && name in task.spec.interface.inputs)) {
        throw invalidOption(
          `${where}: 'over' names '${String(name)}', which is not an input of task '${task.name}'`,
        );
      }
    }
    if (new Set(over).size !== over.length) throw invalidOption(`${where}: 'over' names an input twice`);
    return [...(over as string[])];
  }

  private condition(expr: ConditionExpr, where: string): Condition {
    switch (expr.op) {
      case 'and':
      case 'or':
        return { op: expr.op, conditions: expr.conditions.map((item) => this.condition(item, where)) };
      case 'not':
        return { op: 'not', condition: this.condition(expr.condition, where) };
      case 'isTrue': {
        const ref = this.operand(expr.value, where);
        if (baseType(ref.spec).type !== 'boolean') {
          throw invalidOption(
            `${where}: isTrue() needs a boolean, got ${describeType(ref.spec)} (${ref.source})`,
          );
        }
        return { op: 'isTrue', value: ref.binding };
      }
      case 'isNull': {
        const ref = this.operand(expr.value, where);
        if (ref.spec.type !== 'optional') {
          throw invalidOption(
            `${where}: isNull() needs an optional value, got ${describeType(ref.spec)} (${ref.source})`,
          );
        }
        return { op: 'isNull', value: ref.binding };
      }
      default:
        return this.comparison(expr, where);
    }
  }

  private comparison(expr: Extract<ConditionExpr, { left: unknown }>, where: string): Condition {
    const left = this.operand(expr.left, where);
    const kind = comparable(left.spec, expr.op);
    if (kind === undefined) {
      throw invalidOption(
        `${where}: ${expr.op}() compares ${expr.op === 'eq' || expr.op === 'ne' ? 'int, float, string or boolean' : 'int, float or string'} values, got ${describeType(left.spec)} (${left.source})`,
      );
    }
    const { right } = expr;
    if (isRef(right)) {
      this.checkVisible(right, where);
      if (comparable(right.spec, expr.op) !== kind) {
        throw invalidOption(
          `${where}: cannot compare ${describeType(left.spec)} with ${describeType(right.spec)} (${right.source})`,
        );
      }
      return { op: expr.op, left: left.binding, right: right.binding };
    }
    const nullable =
      right === null && left.spec.type === 'optional' && (expr.op === 'eq' || expr.op === 'ne');
    if (!nullable && typeof right !== kind) {
      throw invalidOption(
        `${where}: cannot compare ${describeType(left.spec)} with ${JSON.stringify(right)}`,
      );
    }
    if (kind === 'number' && !Number.isFinite(right)) {
      throw invalidOption(`${where}: cannot compare with ${String(right)}`);
    }
    return { op: expr.op, left: left.binding, right: { literal: right as JsonValue } };
  }

  private operand(value: unknown, where: string): Ref {
    if (!isRef(value)) {
      throw invalidOption(`${where}: when() takes a reference (a workflow input or a task output)`);
    }
    this.checkVisible(value, where);
    return value;
  }

  private runArm(parent: Scope, prefix: string, arm: () => unknown, where: string): Arm {
    if (typeof arm !== 'function') throw invalidOption(`${where}: expected a function`);
    const scope = new Scope(this, parent, prefix);
    const saved = this.scope;
    this.scope = scope;
    try {
      return { scope, values: this.armValues(arm(), where) };
    } finally {
      this.scope = saved;
    }
  }

  private bindArm(arm: Arm, types: Record<string, TypeSpec>, where: string): Record<string, Binding> {
    const saved = this.scope;
    this.scope = arm.scope;
    try {
      return mapValues(types, (spec, name) =>
        this.bind(arm.values[name], spec, `${where}, output '${name}'`),
      );
    } finally {
      this.scope = saved;
    }
  }

  private checkVisible(ref: Ref, where: string): void {
    const scope = ref[REF];
    if (this.scope.sees(scope)) return;
    if (scope instanceof Scope && scope.builder === this) {
      throw invalidOption(
        `${where}: ${ref.source} is made inside a branch arm and is not visible here; return it from the arm and use the branch's output`,
      );
    }
    const other = scope instanceof Scope ? ` (workflow '${scope.builder.name}')` : '';
    throw invalidOption(`${where}: ${ref.source} belongs to another workflow body${other}`);
  }

  private allocate(base: string): string {
    const wanted = `${this.scope.prefix}${base}`;
    let id = wanted;
    for (let n = 2; this.ids.has(id); n += 1) id = `${wanted}-${n}`;
    if (!NODE_ID_PATTERN.test(id))
      throw invalidOption(`workflow '${this.name}': node id '${id}' is too long`);
    this.ids.add(id);
    return id;
  }

  private outputRefs(
    id: string,
    outputs: Record<string, TypeSpec>,
    noun: 'node' | 'map',
  ): Record<string, Ref> {
    return Object.freeze(
      mapValues(outputs, (spec, name) =>
        makeRef(this.scope, spec, { node: id, output: name }, `output '${name}' of ${noun} '${id}'`),
      ),
    );
  }

  private useTask(task: AnyTask): void {
    if (task?.kind !== 'keel.task') throw invalidOption(`workflow '${this.name}': not a task`);
    const known = this.tasks.get(task.name);
    if (known !== undefined && known !== task) {
      throw invalidOption(`workflow '${this.name}' uses two different tasks named '${task.name}'`);
    }
    this.tasks.set(task.name, task);
  }

  private useWorkflow(workflow: AnyWorkflow): void {
    if (workflow === this.self) throw invalidOption(`workflow '${this.name}' calls itself`);
    const known = this.workflows.get(workflow.name);
    if (workflow.name === this.name || (known !== undefined && known !== workflow)) {
      throw invalidOption(`workflow '${this.name}' uses two different workflows named '${workflow.name}'`);
    }
    for (const sub of workflow.subworkflows) {
      if (sub === this.self)
        throw invalidOption(`workflow '${this.name}' calls itself through '${workflow.name}'`);
      const seen = this.workflows.get(sub.name);
      if (sub.name === this.name || (seen !== undefined && seen !== sub)) {
        throw invalidOption(`workflow '${this.name}' uses two different workflows named '${sub.name}'`);
      }
      this.workflows.set(sub.name, sub);
    }
    this.workflows.set(workflow.name, workflow);
    for (const task of workflow.tasks) this.useTask(task);
  }
}

/**
 * The output types of a branch: each output's type is that of the reference an arm returns for it
 * (the wider one when both arms return references, e.g. float for int and float).
 */
function mergeArmTypes(then: Arm, otherwise: Arm | undefined, where: string): Record<string, TypeSpec> {
  const names = Object.keys(then.values);
  if (otherwise !== undefined) {
    const other = Object.keys(otherwise.values);
    if (names.length !== other.length || names.some((name) => !other.includes(name))) {
      throw invalidOption(
        `${where}: both arms must return the same outputs (then: ${names.join(', ') || 'none'}; otherwise: ${other.join(', ') || 'none'})`,
      );
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const a = then.values[name];
      const b = otherwise?.values[name];
      const candidates = [a, b].filter(isRef).map((ref) => ref.spec);
      const [first, second] = candidates;
      if (first === undefined) {
        if (otherwise === undefined) return [name, { type: 'json' } as TypeSpec];
        throw invalidOption(
          `${where}, output '${name}': one arm must return a reference for it, which sets its type`,
        );
      }
      if (second === undefined || typeAccepts(first, second)) return [name, first];
      if (typeAccepts(second, first)) return [name, second];
      throw invalidOption(
        `${where}, output '${name}': the arms return different types (${describeType(first)} and ${describeType(second)})`,
      );
    }),
  );
}

/** What comparisons of values of this type compare as (`typeof` of the values), if they can. */
function comparable(spec: TypeSpec, op: string): 'number' | 'string' | 'boolean' | undefined {
  if (spec.type === 'optional' && op !== 'eq' && op !== 'ne') return undefined;
  const base = baseType(spec);
  if (base.type === 'int' || base.type === 'float') return 'number';
  if (base.type === 'string') return 'string';
  if (base.type === 'boolean' && (op === 'eq' || op === 'ne')) return 'boolean';
  return undefined;
}

function baseType(spec: TypeSpec): TypeSpec {
  return spec.type === 'optional' ? spec.of : spec;
}

function arrayOf(items: TypeSpec): TypeSpec {
  return { type: 'array', items };
}

function makeRef(scope: Scope, spec: TypeSpec, binding: Binding, source: string): Ref {
  return Object.freeze({ spec, binding, source, [REF]: scope });
}

function mapValues<T, U>(record: Record<string, T>, fn: (value: T, key: string) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, fn(value, key)]));
}
