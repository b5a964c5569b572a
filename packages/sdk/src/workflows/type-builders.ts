import type { DatasetFormat, JsonValue, TypeSpec } from '@keel/core';

/**
 * The value a task function sees (and returns) for a type: `number` for `int`/`float`, a local path
 * (`string`) for `file`/`directory`/`dataset`, a `runs:/…`/`models:/…` URI for `model`, `T[]` for an
 * array, an object for a record, `T | null` for an optional.
 *
 * @example type V = ValueOf<ReturnType<typeof t.array<ReturnType<typeof t.float>>>>; // number[]
 */
export type ValueOf<S> = TypeSpec extends S
  ? JsonValue // any type at all (not one built with `t`): stop here rather than expand every shape
  : S extends { type: 'int' | 'float' }
    ? number
    : S extends { type: 'string' | 'file' | 'directory' | 'dataset' | 'model' }
      ? string
      : S extends { type: 'boolean' }
        ? boolean
        : S extends { type: 'array'; items: infer I }
          ? ValueOf<I>[]
          : S extends { type: 'record'; fields: infer F }
            ? { [K in keyof F]: ValueOf<F[K]> }
            : S extends { type: 'optional'; of: infer O }
              ? ValueOf<O> | null
              : JsonValue;

/** Named types: a task's or workflow's inputs or outputs. */
export type Fields = Record<string, TypeSpec>;

/** The names of `F` whose type is `optional`. */
export type OptionalKeys<F> = { [K in keyof F]: F[K] extends { type: 'optional' } ? K : never }[keyof F];

/** What a task function receives: every input, `null` for an optional one left out. */
export type InputValues<I> = { [K in keyof I]: ValueOf<I[K]> };

/** What a task function returns: every output; optional ones may be left out. */
export type OutputValues<O> = Simplify<
  { [K in Exclude<keyof O, OptionalKeys<O>>]: ValueOf<O[K]> } & { [K in OptionalKeys<O>]?: ValueOf<O[K]> }
>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

const freeze = <S extends TypeSpec>(spec: S): S => Object.freeze(spec);

/**
 * Builders of the types of task and workflow inputs and outputs. Each returns a plain
 * {@link TypeSpec}; TypeScript infers the values a task function handles from them (see
 * {@link ValueOf}).
 *
 * @example
 * const fit = task(
 *   { name: 'fit', inputs: { train: t.dataset(), alphas: t.array(t.float()) }, outputs: { model: t.file() } },
 *   async ({ train, alphas }) => ({ model: await fitModel(train, alphas) }), // train: string, alphas: number[]
 * );
 */
export const t = {
  /** An integer. */
  int: (): { type: 'int' } => freeze({ type: 'int' }),
  /** A number; an `int` may be bound to it. */
  float: (): { type: 'float' } => freeze({ type: 'float' }),
  /** A string. */
  string: (): { type: 'string' } => freeze({ type: 'string' }),
  /** `true` or `false`. */
  boolean: (): { type: 'boolean' } => freeze({ type: 'boolean' }),
  /** Any JSON value. */
  json: (): { type: 'json' } => freeze({ type: 'json' }),
  /** A file, stored in the artifact store by content; a task sees a local path. */
  file: (): { type: 'file' } => freeze({ type: 'file' }),
  /** A folder, stored in the artifact store by content; a task sees a local path. */
  directory: (): { type: 'directory' } => freeze({ type: 'directory' }),
  /**
   * A file holding a table (csv, parquet or jsonl), hashed by content; a task sees a local path.
   * @example t.dataset({ format: 'csv' })
   */
  dataset: (options: { format?: DatasetFormat } = {}): { type: 'dataset'; format?: DatasetFormat } =>
    freeze(options.format === undefined ? { type: 'dataset' } : { type: 'dataset', format: options.format }),
  /** A model URI (`runs:/…` or `models:/…`). */
  model: (): { type: 'model' } => freeze({ type: 'model' }),
  /**
   * A list of values of one type.
   * @example t.array(t.float()) // number[]
   */
  array: <I extends TypeSpec>(items: I): { type: 'array'; items: I } => freeze({ type: 'array', items }),
  /**
   * An object with named fields.
   * @example t.record({ accuracy: t.float(), model: t.file() })
   */
  record: <F extends Fields>(fields: F): { type: 'record'; fields: F } =>
    freeze({ type: 'record', fields: Object.freeze({ ...fields }) }),
  /**
   * A value that may be absent (`null`): an input of this type may be left out of a call.
   * @example t.optional(t.string()) // string | null
   */
  optional: <O extends TypeSpec>(of: O): { type: 'optional'; of: O } => freeze({ type: 'optional', of }),
} as const;
