import type { AnyTask } from './dsl-types.js';
import { currentBuilder } from './graph-builder.js';
import type { Args, Ref } from './ref.js';
import type { Fields } from './type-builders.js';

/** Options of {@link map}. */
export interface MapOptions<K extends string> {
  /** The inputs mapped over: each is bound to an array; item i of the map gets element i of each. */
  over: readonly K[];
  /** Items running at the same time. @default no limit (the executor's capacity) */
  concurrency?: number;
}

/** The inputs of a map: those in `over` are arrays of the task's input type. */
export type MapArgs<I, K extends PropertyKey> = Args<{
  [P in keyof I]: P extends K ? { type: 'array'; items: I[P] } : I[P];
}>;

/** The outputs of a map: arrays of the task's outputs, in the order of the items. */
export type MapOutputs<O> = { readonly [K in keyof O]: Ref<{ type: 'array'; items: O[K] }> };

/**
 * Runs a task once per element of one or more array inputs (a map node: one node in the graph
 * however many items, as Flyte's map tasks); the other inputs are passed to every item. The
 * outputs are arrays, in the order of the items. Arrays mapped together must have the same length.
 *
 * @throws InvalidParameterError when called outside a workflow body, when `over` names no input of
 *   the task, or when an input's type does not match.
 * @example
 * const fits = map(fit, { train: parts.train, alpha: alphas }, { over: ['alpha'], concurrency: 4 });
 * const best = pick({ scores: fits.score, models: fits.model }); // number[] and string[] in pick
 */
export function map<I extends Fields, O extends Fields, K extends keyof I & string>(
  task: AnyTask & { readonly inputs: I; readonly outputs: O },
  inputs: MapArgs<I, K>,
  options: MapOptions<K>,
): MapOutputs<O> {
  const builder = currentBuilder(`map(${(task as AnyTask | undefined)?.name ?? '?'})`);
  return builder.mapTask(task, inputs, {
    over: options?.over ?? [],
    concurrency: options?.concurrency,
  }) as unknown as MapOutputs<O>;
}
