import { type JsonValue, type TypedInterface, WORKFLOW_NAME_PATTERN, type WorkflowSpec } from '@keel/core';
import { invalidOption } from '../models/sdk-error.js';
import type { AnyWorkflow } from './dsl-types.js';
import { currentBuilder, type DerivedWorkflow, deriveWorkflowGraph } from './graph-builder.js';
import type { Args, Ref, Refs } from './ref.js';
import type { Fields, ValueOf } from './type-builders.js';
import { checkInterface, checkTyped, isPlainObject } from './type-rules.js';

/** The inputs' default values a workflow may declare. */
export type WorkflowDefaults<I> = { [K in keyof I]?: ValueOf<I[K]> };

/** Options of {@link workflow}. */
export interface WorkflowOptions<I extends Fields, D extends WorkflowDefaults<I>> {
  /** Letters, digits, `_`, `.` and `-`. */
  name: string;
  /** The inputs' types. @default none */
  inputs?: I;
  /** Values used for inputs a launch (or a sub-workflow call) leaves out. @default none */
  defaults?: D;
  /** @default none */
  description?: string;
}

/** What a workflow body returns: its outputs as references, or nothing. */
// biome-ignore lint/suspicious/noConfusingVoidType: a body written as a block with no return statement returns void
export type WorkflowResult = Readonly<Record<string, Ref<unknown>>> | undefined | void;

/** The references a call of a workflow returns, from what its body returns. */
export type WorkflowOutputs<R> =
  R extends Readonly<Record<string, Ref<unknown>>> ? { readonly [K in keyof R]: R[K] } : Record<never, never>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The inputs of a call of a workflow: inputs with a default may be left out. */
export type WorkflowArgs<I, D> = Simplify<
  Omit<Args<I>, keyof D> & Partial<Pick<Args<I>, keyof D & keyof Args<I>>>
>;

/**
 * A workflow made by {@link workflow}. Its graph is derived when first needed (reading `spec`,
 * `interface`, `tasks` or `subworkflows`), by running the body once with references. Calling it
 * inside another workflow's body adds a sub-workflow node (inlined by value, as Flyte does).
 */
export interface Workflow<I extends Fields = Fields, R = WorkflowResult, D = Record<never, never>>
  extends AnyWorkflow {
  (
    ...inputs: Record<never, never> extends WorkflowArgs<I, D>
      ? [inputs?: WorkflowArgs<I, D>]
      : [inputs: WorkflowArgs<I, D>]
  ): WorkflowOutputs<R>;
  readonly description: string | undefined;
  /** The inputs' types, as declared. */
  readonly inputs: I;
  /** The body, as given. */
  readonly body: (inputs: Refs<I>) => R;
}

const WORKFLOW_OPTIONS = ['name', 'inputs', 'defaults', 'description'];

/**
 * Defines a workflow: a body that wires tasks together. The body runs once, when the workflow is
 * registered, with references in place of values; task calls return references to their outputs
 * and passing them on makes the graph. Plain TypeScript control flow runs at that time only: use
 * `map` to fan out over a list and `when` to branch on a value known only when the workflow runs.
 *
 * @throws InvalidParameterError for a bad name, input type or default (the graph's own errors
 *   come when it is derived).
 * @example
 * export const train = workflow(
 *   { name: 'train', inputs: { data: t.dataset(), alphas: t.array(t.float()) }, defaults: { alphas: [0.1, 1] } },
 *   ({ data, alphas }) => {
 *     const parts = split({ data });
 *     const fits = map(fit, { train: parts.train, alpha: alphas }, { over: ['alpha'] });
 *     const best = pick({ scores: fits.score, models: fits.model });
 *     return { model: best.model, score: best.score };
 *   },
 * );
 */
export function workflow<
  I extends Fields = Record<never, never>,
  R extends WorkflowResult = undefined,
  const D extends WorkflowDefaults<I> = Record<never, never>,
>(options: WorkflowOptions<I, D>, body: (inputs: Refs<I>) => R): Workflow<I, R, D> {
  const { name, inputs, defaults, description } = checkOptions(options);
  if (typeof body !== 'function') throw invalidOption(`workflow '${name}': the body is missing`);
  let derived: DerivedWorkflow | undefined;
  let deriving = false;
  const derive = (): DerivedWorkflow => {
    if (derived !== undefined) return derived;
    if (deriving) throw invalidOption(`workflow '${name}' calls itself through a sub-workflow`);
    deriving = true;
    try {
      derived = deriveWorkflowGraph({
        name,
        inputs,
        defaults,
        body: body as (inputs: Record<string, Ref>) => unknown,
        self,
      });
      return derived;
    } finally {
      deriving = false;
    }
  };
  const call = (args?: unknown) =>
    currentBuilder(`workflow '${name}'`, 'register it, or call it from another workflow').callWorkflow(
      self,
      args,
    );
  const self = Object.defineProperties(call, {
    name: { value: name },
    kind: { value: 'keel.workflow', enumerable: true },
    description: { value: description, enumerable: true },
    inputs: { value: inputs, enumerable: true },
    body: { value: body, enumerable: true },
    spec: { get: (): WorkflowSpec => derive().spec, enumerable: true },
    interface: { get: (): TypedInterface => derive().spec.interface, enumerable: true },
    tasks: { get: () => derive().tasks, enumerable: true },
    subworkflows: { get: () => derive().subworkflows, enumerable: true },
  }) as unknown as Workflow<I, R, D>;
  return self;
}

function checkOptions<I extends Fields>(options: WorkflowOptions<I, WorkflowDefaults<I>>) {
  if (!isPlainObject(options)) throw invalidOption('workflow options must be an object');
  const { name, description } = options;
  if (typeof name !== 'string' || !WORKFLOW_NAME_PATTERN.test(name)) {
    throw invalidOption(
      `invalid workflow name ${JSON.stringify(name)}: letters, digits, _, . and -, at most 128`,
    );
  }
  const where = `workflow '${name}'`;
  const unknown = Object.keys(options).find((key) => !WORKFLOW_OPTIONS.includes(key));
  if (unknown !== undefined) throw invalidOption(`${where}: unknown option '${unknown}'`);
  if (description !== undefined && typeof description !== 'string') {
    throw invalidOption(`${where}: description must be a string`);
  }
  const inputs = Object.freeze(checkInterface(options.inputs, {}, where).inputs) as I;
  return { name, inputs, defaults: checkDefaults(options.defaults, inputs, where), description };
}

function checkDefaults(
  defaults: unknown,
  inputs: Fields,
  where: string,
): Record<string, JsonValue> | undefined {
  if (defaults === undefined) return undefined;
  if (!isPlainObject(defaults)) throw invalidOption(`${where}: defaults must be an object`);
  for (const [name, value] of Object.entries(defaults)) {
    const spec = inputs[name];
    if (spec === undefined) throw invalidOption(`${where}: defaults.${name} is not an input`);
    checkTyped(spec, value, `${where}, defaults.${name}`, 'launch');
  }
  return Object.freeze(JSON.parse(JSON.stringify(defaults)) as Record<string, JsonValue>);
}
