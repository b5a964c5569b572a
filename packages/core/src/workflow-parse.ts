/**
 * Shape parsing of a workflow registration: every object has only known fields, every name
 * matches its pattern, every number is in range. What refers to what (tasks, sub-workflows,
 * nodes), cycles and types are checked afterwards by `workflow-validation.ts`. Browser-safe.
 */
import { invalidParameter } from './errors.js';
import { integerIn, knownFields, objectAt } from './spec-fields.js';
import {
  type Binding,
  type BranchNode,
  type Condition,
  type JsonValue,
  type MapNode,
  NODE_ID_PATTERN,
  type NodeSpec,
  type SubGraph,
  type TaskSpec,
  WORKFLOW_LIMITS,
  WORKFLOW_NAME_PATTERN,
  WORKFLOW_VERSION_PATTERN,
  type WorkflowSpec,
} from './workflow-spec.js';
import { checkInterfaceName, checkValue, parseTypedInterface } from './workflow-values.js';

const SHA256 = /^[0-9a-f]{64}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLACEHOLDER = /\{\{\s*([A-Za-z_]+)\.([^}\s]*)\s*\}\}/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
const CONTROL = /[\u0000-\u001f\u007f]/;
const COMPARISONS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;

/**
 * Checks a workflow (or task) name: 1 to 128 letters, digits, `_`, `.` or `-`.
 *
 * @throws INVALID_PARAMETER_VALUE naming `field`.
 * @example validateWorkflowName('train'); // ok
 */
export function validateWorkflowName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !WORKFLOW_NAME_PATTERN.test(name)) {
    throw invalidParameter(`${field} must be 1 to 128 letters, digits, '_', '.' or '-'`);
  }
  return name;
}

/**
 * Checks a workflow version: 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.`
 * or `-`; no colon (a content hash in hex fits).
 *
 * @throws INVALID_PARAMETER_VALUE naming `field`.
 * @example validateWorkflowVersion('v1.2'); // ok
 */
export function validateWorkflowVersion(version: unknown, field = 'version'): string {
  if (typeof version !== 'string' || !WORKFLOW_VERSION_PATTERN.test(version)) {
    throw invalidParameter(
      `${field} must be 1 to 128 letters, digits, '_', '.' or '-', starting with a letter, digit or '_'`,
    );
  }
  return version;
}

/** A list of at most `max` items, each parsed by `item`. */
export function listOf<T>(
  value: unknown,
  path: string,
  max: number,
  item: (value: unknown, path: string) => T,
): T[] {
  if (!Array.isArray(value)) throw invalidParameter(`${path} must be a list`);
  if (value.length > max) {
    throw invalidParameter(`${path} has ${value.length} items; at most ${max} are allowed`);
  }
  return value.map((v, i) => item(v, `${path}[${i}]`));
}

/** A lowercase hex sha256. */
export function sha256At(value: unknown, path: string): string {
  if (typeof value !== 'string' || !SHA256.test(value)) {
    throw invalidParameter(`${path} must be a sha256 in lowercase hex (64 characters)`);
  }
  return value;
}

/** A non-empty string of at most `max` characters without control characters. */
export function textAt(value: unknown, path: string, max: number): string {
  if (typeof value !== 'string' || value === '') throw invalidParameter(`${path} must be a non-empty string`);
  if (value.length > max) {
    throw invalidParameter(`${path} is ${value.length} characters long; at most ${max} are allowed`);
  }
  if (CONTROL.test(value)) throw invalidParameter(`${path} must not contain control characters`);
  return value;
}

/** Parses one task version. */
export function parseTask(value: unknown, path: string): TaskSpec {
  const spec = objectAt(value, path);
  knownFields(spec, path, [
    'name',
    'kind',
    'interface',
    'cache',
    'retries',
    'timeoutMs',
    'command',
    'codeHash',
  ]);
  const name = validateWorkflowName(spec.name, `${path}.name`);
  if (spec.kind !== 'function' && spec.kind !== 'command') {
    throw invalidParameter(`${path}.kind must be 'function' or 'command'`);
  }
  const task: TaskSpec = {
    name,
    kind: spec.kind,
    interface: parseTypedInterface(spec.interface, `${path}.interface`),
    retries:
      spec.retries === undefined
        ? 0
        : integerIn(spec.retries, `${path}.retries`, 0, WORKFLOW_LIMITS.maxRetries),
    codeHash: sha256At(spec.codeHash, `${path}.codeHash`),
  };
  if (spec.cache !== undefined && spec.cache !== null) {
    const cache = objectAt(spec.cache, `${path}.cache`, 'an object { version }');
    knownFields(cache, `${path}.cache`, ['version']);
    task.cache = {
      version: textAt(cache.version, `${path}.cache.version`, WORKFLOW_LIMITS.maxCacheVersionLength),
    };
  }
  if (spec.timeoutMs !== undefined && spec.timeoutMs !== null) {
    task.timeoutMs = integerIn(spec.timeoutMs, `${path}.timeoutMs`, 1, WORKFLOW_LIMITS.maxTimeoutMs);
  }
  if (task.kind === 'command') task.command = parseCommand(spec.command, `${path}.command`, task);
  else if (spec.command !== undefined)
    throw invalidParameter(`${path}.command is only allowed for command tasks`);
  return task;
}

function parseCommand(value: unknown, path: string, task: TaskSpec): NonNullable<TaskSpec['command']> {
  const spec = objectAt(value, path, 'an object { argv, env? } (required for command tasks)');
  knownFields(spec, path, ['argv', 'env']);
  const argv = listOf(spec.argv, `${path}.argv`, WORKFLOW_LIMITS.maxCommandArgs, (arg, at) => {
    if (typeof arg !== 'string') throw invalidParameter(`${at} must be a string`);
    checkPlaceholders(arg, at, task);
    return arg;
  });
  if (argv.length === 0 || argv[0] === '') throw invalidParameter(`${path}.argv must start with a program`);
  if (spec.env === undefined) return { argv };
  const env = objectAt(spec.env, `${path}.env`, 'an object of name → string');
  for (const [name, text] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) throw invalidParameter(`${path}.env.${name} is not a valid variable name`);
    if (typeof text !== 'string') throw invalidParameter(`${path}.env.${name} must be a string`);
    checkPlaceholders(text, `${path}.env.${name}`, task);
  }
  return { argv, env: env as Record<string, string> };
}

/** Every `{{inputs.x}}` / `{{outputs.y}}` names a declared input or output. */
function checkPlaceholders(text: string, path: string, task: TaskSpec): void {
  for (const [, scope, name = ''] of text.matchAll(PLACEHOLDER)) {
    const fields =
      scope === 'inputs' ? task.interface.inputs : scope === 'outputs' ? task.interface.outputs : undefined;
    if (fields === undefined || !(name in fields)) {
      throw invalidParameter(
        `${path}: placeholder {{${scope}.${name}}} names no ${scope === 'outputs' ? 'output' : 'input'} of task '${task.name}'`,
      );
    }
  }
}

/** Parses a workflow's shape: name, interface, defaults (checked as launch values), nodes, outputs. */
export function parseWorkflowSpec(value: unknown, path: string): WorkflowSpec {
  const spec = objectAt(value, path);
  knownFields(spec, path, ['name', 'interface', 'defaults', 'nodes', 'outputs']);
  const workflow: WorkflowSpec = {
    name: validateWorkflowName(spec.name, `${path}.name`),
    interface: parseTypedInterface(spec.interface, `${path}.interface`),
    nodes: parseNodes(spec.nodes, `${path}.nodes`, 0),
    outputs: parseBindings(spec.outputs ?? {}, `${path}.outputs`),
  };
  if (spec.defaults !== undefined && spec.defaults !== null) {
    workflow.defaults = parseDefaults(spec.defaults, `${path}.defaults`, workflow);
  }
  return workflow;
}

function parseDefaults(value: unknown, path: string, workflow: WorkflowSpec): Record<string, JsonValue> {
  const defaults = objectAt(value, path, 'an object of input → value');
  for (const [name, item] of Object.entries(defaults)) {
    const type = workflow.interface.inputs[name];
    if (type === undefined)
      throw invalidParameter(`${path}.${name}: workflow '${workflow.name}' has no input '${name}'`);
    checkValue(type, item, `${path}.${name}`, 'launch');
  }
  return defaults as Record<string, JsonValue>;
}

function parseNodes(value: unknown, path: string, depth: number): NodeSpec[] {
  if (depth > WORKFLOW_LIMITS.maxTypeDepth) {
    throw invalidParameter(`${path}: branches nest deeper than ${WORKFLOW_LIMITS.maxTypeDepth} levels`);
  }
  return listOf(value, path, WORKFLOW_LIMITS.maxStaticNodes, (node, at) => parseNode(node, at, depth));
}

function parseNode(value: unknown, path: string, depth: number): NodeSpec {
  const spec = objectAt(value, path);
  if (typeof spec.id !== 'string' || !NODE_ID_PATTERN.test(spec.id)) {
    throw invalidParameter(
      `${path}.id must be 1 to 128 letters, digits, '_' or '-', starting with a letter or '_'`,
    );
  }
  const id = spec.id;
  switch (spec.kind) {
    case 'task':
      knownFields(spec, path, ['id', 'kind', 'task', 'inputs']);
      return {
        id,
        kind: 'task',
        task: validateWorkflowName(spec.task, `${path}.task`),
        inputs: parseBindings(spec.inputs ?? {}, `${path}.inputs`),
      };
    case 'map':
      return parseMapNode(spec, id, path);
    case 'branch': {
      knownFields(spec, path, ['id', 'kind', 'condition', 'then', 'else']);
      const node: BranchNode = {
        id,
        kind: 'branch',
        condition: parseCondition(spec.condition, `${path}.condition`, 0),
        // biome-ignore lint/suspicious/noThenProperty: the branch field is named by the shared contract; a NodeSpec is never awaited.
        then: parseSubGraph(spec.then, `${path}.then`, depth + 1),
      };
      if (spec.else !== undefined && spec.else !== null)
        node.else = parseSubGraph(spec.else, `${path}.else`, depth + 1);
      return node;
    }
    case 'workflow':
      knownFields(spec, path, ['id', 'kind', 'workflow', 'inputs']);
      return {
        id,
        kind: 'workflow',
        workflow: validateWorkflowName(spec.workflow, `${path}.workflow`),
        inputs: parseBindings(spec.inputs ?? {}, `${path}.inputs`),
      };
    default:
      throw invalidParameter(`${path}.kind must be one of task, map, branch, workflow`);
  }
}

function parseMapNode(spec: Record<string, unknown>, id: string, path: string): NodeSpec {
  knownFields(spec, path, ['id', 'kind', 'task', 'inputs', 'over', 'concurrency']);
  const inputs = parseBindings(spec.inputs ?? {}, `${path}.inputs`);
  const seen = new Set<string>();
  const over = listOf(spec.over, `${path}.over`, WORKFLOW_LIMITS.maxInterfaceFields, (name, at) => {
    if (typeof name !== 'string' || !(name in inputs)) {
      throw invalidParameter(`${at} must name an input bound in ${path}.inputs`);
    }
    if (seen.has(name)) throw invalidParameter(`${at}: '${name}' is listed twice`);
    seen.add(name);
    return name;
  });
  if (over.length === 0) throw invalidParameter(`${path}.over must name at least one input to map over`);
  const node: MapNode = {
    id,
    kind: 'map',
    task: validateWorkflowName(spec.task, `${path}.task`),
    inputs,
    over,
  };
  if (spec.concurrency !== undefined && spec.concurrency !== null) {
    node.concurrency = integerIn(
      spec.concurrency,
      `${path}.concurrency`,
      1,
      WORKFLOW_LIMITS.maxMapConcurrency,
    );
  }
  return node;
}

function parseSubGraph(value: unknown, path: string, depth: number): SubGraph {
  const spec = objectAt(value, path, 'an object { nodes, outputs }');
  knownFields(spec, path, ['nodes', 'outputs']);
  return {
    nodes: parseNodes(spec.nodes, `${path}.nodes`, depth),
    outputs: parseBindings(spec.outputs ?? {}, `${path}.outputs`),
  };
}

function parseBindings(value: unknown, path: string): Record<string, Binding> {
  const bindings = objectAt(value, path, 'an object of name → binding');
  const out: Record<string, Binding> = {};
  for (const [name, binding] of Object.entries(bindings)) {
    checkInterfaceName(name, `${path}.${name}`);
    out[name] = parseBinding(binding, `${path}.${name}`, 0);
  }
  return out;
}

/**
 * Parses one binding: exactly one of `{ literal }`, `{ input }`, `{ node, output }`, `{ list }`,
 * `{ record }`.
 */
export function parseBinding(value: unknown, path: string, depth: number): Binding {
  if (depth > WORKFLOW_LIMITS.maxTypeDepth) {
    throw invalidParameter(`${path} nests bindings deeper than ${WORKFLOW_LIMITS.maxTypeDepth} levels`);
  }
  const spec = objectAt(
    value,
    path,
    'a binding: { literal }, { input }, { node, output }, { list } or { record }',
  );
  if ('literal' in spec) {
    knownFields(spec, path, ['literal']);
    checkValue({ type: 'json' }, spec.literal, `${path}.literal`);
    return { literal: spec.literal as JsonValue };
  }
  if ('input' in spec) {
    knownFields(spec, path, ['input']);
    if (typeof spec.input !== 'string') throw invalidParameter(`${path}.input must be an input name`);
    return { input: spec.input };
  }
  if ('node' in spec) {
    knownFields(spec, path, ['node', 'output']);
    if (typeof spec.node !== 'string') throw invalidParameter(`${path}.node must be a node id`);
    if (typeof spec.output !== 'string') throw invalidParameter(`${path}.output must be an output name`);
    return { node: spec.node, output: spec.output };
  }
  if ('list' in spec) {
    knownFields(spec, path, ['list']);
    return {
      list: listOf(spec.list, `${path}.list`, WORKFLOW_LIMITS.maxStaticNodes, (item, at) =>
        parseBinding(item, at, depth + 1),
      ),
    };
  }
  if ('record' in spec) {
    knownFields(spec, path, ['record']);
    const fields = objectAt(spec.record, `${path}.record`, 'an object of field → binding');
    const record: Record<string, Binding> = {};
    for (const [name, field] of Object.entries(fields)) {
      checkInterfaceName(name, `${path}.record.${name}`);
      record[name] = parseBinding(field, `${path}.record.${name}`, depth + 1);
    }
    return { record };
  }
  throw invalidParameter(
    `${path} must be a binding: { literal }, { input }, { node, output }, { list } or { record }`,
  );
}

function parseCondition(value: unknown, path: string, depth: number): Condition {
  if (depth > WORKFLOW_LIMITS.maxTypeDepth) {
    throw invalidParameter(`${path} nests conditions deeper than ${WORKFLOW_LIMITS.maxTypeDepth} levels`);
  }
  const spec = objectAt(value, path, 'a condition object { op, … }');
  const comparison = COMPARISONS.find((op) => op === spec.op);
  if (comparison !== undefined) {
    knownFields(spec, path, ['op', 'left', 'right']);
    return {
      op: comparison,
      left: parseBinding(spec.left, `${path}.left`, 0),
      right: parseBinding(spec.right, `${path}.right`, 0),
    };
  }
  switch (spec.op) {
    case 'and':
    case 'or': {
      knownFields(spec, path, ['op', 'conditions']);
      const conditions = listOf(
        spec.conditions,
        `${path}.conditions`,
        WORKFLOW_LIMITS.maxInterfaceFields,
        (c, at) => parseCondition(c, at, depth + 1),
      );
      if (conditions.length === 0) throw invalidParameter(`${path}.conditions must not be empty`);
      return { op: spec.op, conditions };
    }
    case 'not':
      knownFields(spec, path, ['op', 'condition']);
      return { op: 'not', condition: parseCondition(spec.condition, `${path}.condition`, depth + 1) };
    case 'isTrue':
    case 'isNull':
      knownFields(spec, path, ['op', 'value']);
      return { op: spec.op, value: parseBinding(spec.value, `${path}.value`, 0) };
    default:
      throw invalidParameter(
        `${path}.op must be one of ${[...COMPARISONS, 'and', 'or', 'not', 'isTrue', 'isNull'].join(', ')}`,
      );
  }
}
