import type { Binding, DatasetFormat, JsonValue, TypeSpec } from '@keel/core';
import type { OptionalKeys } from './type-builders.js';

/**
 * Brand of references. `Symbol.for` so that a reference made by one copy of the SDK (e.g. the one
 * bundled into a workflow package) is recognised by another.
 */
export const REF: unique symbol = Symbol.for('keel.workflows.ref');

/**
 * A reference to a value that exists only when the workflow runs: a workflow input, a task's
 * output, a map's (array) output or a branch's output. Task calls inside a workflow body return
 * references; passing one to another call adds a data dependency (an edge of the graph).
 *
 * @example
 * const parts = split({ data });       // parts.train: Ref<{ type: 'dataset' }>
 * const fitted = fit({ train: parts.train, alpha: 0.1 });
 */
export interface Ref<S = TypeSpec> {
  /** The value's type. */
  readonly spec: S;
  /** How a node input bound to this reference is written in the workflow spec. */
  readonly binding: Binding;
  /** Where the value comes from, for messages: `output 'score' of node 'fit'`. */
  readonly source: string;
  /** The graph scope (workflow body or branch arm) that produced it. */
  readonly [REF]: object;
}

/** Whether a value is a {@link Ref} (made by any copy of the SDK). */
export function isRef(value: unknown): value is Ref {
  return typeof value === 'object' && value !== null && REF in value;
}

/** Whether a value is, or holds inside arrays and plain objects, a {@link Ref}. */
export function containsRef(value: unknown): boolean {
  if (isRef(value)) return true;
  if (Array.isArray(value)) return value.some(containsRef);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(containsRef);
  return false;
}

/** A reference per named type. */
export type Refs<F> = { readonly [K in keyof F]: Ref<F[K]> };

/**
 * The types whose values may be bound where `S` is expected, as core's `typeAccepts` rules (an
 * `int` for a `float`, a `model` for a `string`, a `dataset` for a `file`, `T` for `optional<T>`);
 * `json` takes any reference here and is checked when the graph is built.
 */
export type Accepts<S> = TypeSpec extends S
  ? TypeSpec // any type at all (not one built with `t`): stop here rather than expand every shape
  : S extends { type: 'optional'; of: infer O }
    ? { type: 'optional'; of: Accepts<O> } | Accepts<O>
    : S extends { type: 'float' }
      ? { type: 'int' } | { type: 'float' }
      : S extends { type: 'string' }
        ? { type: 'string' } | { type: 'model' }
        : S extends { type: 'file' }
          ? { type: 'file' } | { type: 'dataset'; format?: DatasetFormat }
          : S extends { type: 'json' }
            ? TypeSpec
            : S extends { type: 'array'; items: infer I }
              ? { type: 'array'; items: Accepts<I> }
              : S extends { type: 'record'; fields: infer F }
                ? { type: 'record'; fields: { [K in keyof F]: Accepts<F[K]> } }
                : S extends { type: 'dataset' }
                  ? { type: 'dataset'; format?: DatasetFormat }
                  : S extends { type: infer T }
                    ? { type: T }
                    : never;

/** A JSON value whose parts may be references. */
export type JsonArg = JsonValue | Ref | readonly JsonArg[] | { readonly [key: string]: JsonArg };

/**
 * What a workflow body may pass for an input of type `S`: a reference of a compatible type, or a
 * literal — a number, string, boolean, JSON value, or an array/record whose elements are themselves
 * references or literals. Files, folders and datasets only come as references.
 */
export type Arg<S> = TypeSpec extends S
  ? JsonArg // any type at all: checked when the graph is built
  :
      | Ref<Accepts<S>>
      | (S extends { type: 'optional'; of: infer O }
          ? Arg<O> | null
          : S extends { type: 'array'; items: infer I }
            ? readonly Arg<I>[]
            : S extends { type: 'record'; fields: infer F }
              ? Args<F>
              : S extends { type: 'json' }
                ? JsonArg
                : S extends { type: 'int' | 'float' }
                  ? number
                  : S extends { type: 'string' | 'model' }
                    ? string
                    : S extends { type: 'boolean' }
                      ? boolean
                      : never);

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The inputs of a call in a workflow body: each required input, optional ones may be left out. */
export type Args<F> = Simplify<
  { [K in Exclude<keyof F, OptionalKeys<F>>]: Arg<F[K]> } & { [K in OptionalKeys<F>]?: Arg<F[K]> }
>;
