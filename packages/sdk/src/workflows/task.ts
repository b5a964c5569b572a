import { rm } from 'node:fs/promises';
import { NODE_ID_PATTERN, type TaskSpec, type TypeSpec, WORKFLOW_LIMITS } from '@keel/core';
import { invalidOption } from '../models/sdk-error.js';
import type { AnyTask, TaskDefinition } from './dsl-types.js';
import { currentBuilder } from './graph-builder.js';
import type { Args, Refs } from './ref.js';
import { localTaskContext, type TaskContext } from './task-context.js';
import type { Fields, InputValues, OutputValues } from './type-builders.js';
import { checkInterface, checkTyped, isPlainObject } from './type-rules.js';

/** Options shared by {@link task} and `command`. */
export interface TaskOptions<I extends Fields, O extends Fields> {
  /** Unique within a workflow: letters, digits, `_` and `-`. */
  name: string;
  /** The inputs' types. @default none */
  inputs?: I;
  /** The outputs' types. @default none */
  outputs?: O;
  /**
   * Cache the outputs by inputs: a call with the same inputs (files compared by content) reuses
   * earlier outputs. Bump `version` when the task's behaviour changes. @default not cached
   */
  cache?: { version: string };
  /** Attempts after the first for retryable failures (`RetryableError`, crash, timeout), 0..10. @default 0 */
  retries?: number;
  /** Time allowed per attempt; the attempt is killed after it. @default no limit */
  timeoutMs?: number;
  /** @default none */
  description?: string;
}

/** A task's function: inputs in, outputs out (files as local paths). */
export type TaskFunction<I, O> = (
  inputs: InputValues<I>,
  ctx: TaskContext,
) => OutputValues<O> | PromiseLike<OutputValues<O>>;

/** A call inside a workflow body; the inputs may be left out when every one is optional. */
export type TaskCall<I, R> = (
  ...inputs: Record<never, never> extends Args<I> ? [inputs?: Args<I>] : [inputs: Args<I>]
) => R;

/**
 * A typed task, made by {@link task} or `command`. Inside a workflow body, calling it adds a node
 * and returns references to its outputs; `run()` runs the function directly (tests, scripts).
 */
export interface Task<I extends Fields = Fields, O extends Fields = Fields>
  extends AnyTask,
    TaskCall<I, Refs<O>> {
  /** The inputs' types, as declared. */
  readonly inputs: I;
  /** The outputs' types, as declared. */
  readonly outputs: O;
  readonly fn: TaskFunction<I, O>;
  readonly description: string | undefined;
  /**
   * Runs the task here, now: checks the inputs, calls the function with a local context (see
   * {@link localTaskContext}; `ctx` overrides any part) and checks the outputs (optional ones left
   * out come back `null`).
   *
   * @example const { score } = await fit.run({ train: 'data/train.csv', alpha: 0.1 });
   */
  run(inputs: InputValues<I>, ctx?: Partial<TaskContext>): Promise<OutputValues<O>>;
}

const TASK_OPTIONS = ['name', 'inputs', 'outputs', 'cache', 'retries', 'timeoutMs', 'description'];

/**
 * Defines a task: a typed function the workflow engine runs in a worker process, with its own
 * retries, timeout and cache. File, folder and dataset inputs arrive as local paths; returned
 * paths of such outputs are uploaded to the artifact store.
 *
 * @throws InvalidParameterError for a bad name, type, `retries` (0..10), `timeoutMs` or `cache`.
 * @example
 * export const fit = task(
 *   { name: 'fit', inputs: { train: t.dataset(), alpha: t.float() }, outputs: { model: t.file(), score: t.float() },
 *     cache: { version: '1' }, retries: 2 },
 *   async ({ train, alpha }, ctx) => {
 *     const model = ctx.outputPath('model.onnx');
 *     return { model, score: await fitModel(train, alpha, model) };
 *   },
 * );
 */
export function task<I extends Fields = Record<never, never>, O extends Fields = Record<never, never>>(
  options: TaskOptions<I, O>,
  fn: (
    inputs: InputValues<I>,
    ctx: TaskContext,
  ) => NoInfer<OutputValues<O>> | PromiseLike<NoInfer<OutputValues<O>>>,
): Task<I, O> {
  const definition = defineTask(options, 'function', TASK_OPTIONS);
  if (typeof fn !== 'function')
    throw invalidOption(`task '${definition.name}': the task function is missing`);
  return makeTask<I, O>(definition, fn, [], options.description);
}

/**
 * Checks task options and returns the task's definition.
 * @throws InvalidParameterError naming the task and the option.
 */
export function defineTask(
  options: TaskOptions<Fields, Fields>,
  kind: TaskSpec['kind'],
  known: readonly string[],
  command?: TaskSpec['command'],
): TaskDefinition {
  if (!isPlainObject(options)) throw invalidOption('task options must be an object');
  const { name } = options;
  // Stricter than core's task names: a task's name is also the id of the nodes that call it.
  if (typeof name !== 'string' || !NODE_ID_PATTERN.test(name)) {
    throw invalidOption(
      `invalid task name ${JSON.stringify(name)}: 1 to 128 letters, digits, _ and -, not starting with a digit or -`,
    );
  }
  const where = `task '${name}'`;
  const unknown = Object.keys(options).find((key) => !known.includes(key));
  if (unknown !== undefined) throw invalidOption(`${where}: unknown option '${unknown}'`);
  const retries = options.retries ?? 0;
  const { maxRetries } = WORKFLOW_LIMITS;
  if (!Number.isInteger(retries) || retries < 0 || retries > maxRetries) {
    throw invalidOption(`${where}: retries must be an integer from 0 to ${maxRetries}, got ${retries}`);
  }
  const { timeoutMs, cache, description } = options;
  const { maxTimeoutMs } = WORKFLOW_LIMITS;
  if (
    timeoutMs !== undefined &&
    !(Number.isSafeInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= maxTimeoutMs)
  ) {
    throw invalidOption(`${where}: timeoutMs must be an integer from 1 to ${maxTimeoutMs}, got ${timeoutMs}`);
  }
  if (
    cache !== undefined &&
    !(isPlainObject(cache) && typeof cache.version === 'string' && cache.version !== '')
  ) {
    throw invalidOption(`${where}: cache must be { version: '<non-empty string>' }`);
  }
  if (description !== undefined && typeof description !== 'string') {
    throw invalidOption(`${where}: description must be a string`);
  }
  return Object.freeze({
    name,
    kind,
    interface: checkInterface(options.inputs, options.outputs, where),
    retries,
    ...(cache === undefined ? {} : { cache: Object.freeze({ version: cache.version }) }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(command === undefined ? {} : { command }),
  });
}

/**
 * The task object: a function (a call in a workflow body) carrying the task's definition, its
 * function and `run()`.
 */
export function makeTask<I extends Fields, O extends Fields>(
  definition: TaskDefinition,
  fn: TaskFunction<I, O>,
  files: readonly string[],
  description: string | undefined,
): Task<I, O> {
  const { name } = definition;
  const call = (inputs?: unknown) =>
    currentBuilder(`task '${name}'`, `use ${name}.run(inputs) to run it directly`).callTask(self, inputs);
  const run = async (inputs: InputValues<I>, ctx?: Partial<TaskContext>) => {
    checkValues(inputs, definition.interface.inputs, `task '${name}'`, 'input');
    const context = await localTaskContext(name, ctx);
    try {
      const outputs = (await fn(inputs, context)) as unknown;
      return checkValues(
        outputs,
        definition.interface.outputs,
        `task '${name}'`,
        'output',
      ) as OutputValues<O>;
    } catch (error) {
      // A work folder made for this run holds nothing anyone will read once it failed.
      if (ctx?.workDir === undefined) await rm(context.workDir, { recursive: true, force: true });
      throw error;
    }
  };
  const self = Object.defineProperties(call, {
    name: { value: name },
    kind: { value: 'keel.task', enumerable: true },
    spec: { value: definition, enumerable: true },
    inputs: { value: definition.interface.inputs, enumerable: true },
    outputs: { value: definition.interface.outputs, enumerable: true },
    files: { value: Object.freeze([...files]), enumerable: true },
    fn: { value: fn, enumerable: true },
    description: { value: description, enumerable: true },
    run: { value: run },
  }) as unknown as Task<I, O>;
  return self;
}

/**
 * Checks a task's input or output values against their types; returns them with optional values
 * left out set to `null`.
 */
function checkValues(
  values: unknown,
  fields: Record<string, TypeSpec>,
  where: string,
  noun: 'input' | 'output',
): Record<string, unknown> {
  if (!isPlainObject(values)) throw invalidOption(`${where}: the ${noun}s must be an object`);
  const unknown = Object.keys(values).find((key) => !(key in fields));
  if (unknown !== undefined) throw invalidOption(`${where}: unknown ${noun} '${unknown}'`);
  const checked: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(fields)) {
    const value = values[name];
    if (value === undefined && spec.type !== 'optional')
      throw invalidOption(`${where}: missing ${noun} '${name}'`);
    checkTyped(spec, value ?? null, `${where}, ${noun} '${name}'`, 'launch');
    checked[name] = value ?? null;
  }
  return checked;
}
