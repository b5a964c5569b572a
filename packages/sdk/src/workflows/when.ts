import type { JsonValue, TypeSpec } from '@keel/core';
import type { BranchHandle, CompareOp, ConditionExpr } from './dsl-types.js';
import { currentBuilder } from './graph-builder.js';
import type { Ref } from './ref.js';

/** The literal a value of type `S` may be compared with. */
export type Comparable<S> = TypeSpec extends S
  ? JsonValue // any type at all: checked when the graph is built
  : S extends { type: 'optional'; of: infer O }
    ? Comparable<O> | null
    : S extends { type: 'int' | 'float' }
      ? number
      : S extends { type: 'string' }
        ? string
        : S extends { type: 'boolean' }
          ? boolean
          : never;

/** What an arm of a branch returns: its outputs (references or literals), or nothing. */
// biome-ignore lint/suspicious/noConfusingVoidType: an arm written as a block with no return statement returns void
export type ArmResult = Readonly<Record<string, unknown>> | undefined | void;

/** The references a branch's outputs get: each typed by the reference an arm returns for it. */
export type BranchOutputs<T, E> = {
  readonly [K in keyof T & keyof E]: T[K] extends Ref<infer S>
    ? Ref<S>
    : E[K] extends Ref<infer S>
      ? Ref<S>
      : Ref<TypeSpec>;
};

/** What the else arm of a branch whose then arm returned `T` must return: the same names. */
export type SameOutputs<T> =
  T extends Readonly<Record<string, unknown>> ? { readonly [K in keyof T]: unknown } : ArmResult;

/** A branch whose else arm may still be given. */
export interface Branch<T> {
  /**
   * The arm run when the condition is false. Both arms must return the same output names; the
   * branch's outputs are references to the chosen arm's values.
   */
  otherwise<E extends SameOutputs<T>>(arm: () => E): BranchOutputs<T, E>;
}

/**
 * A condition on values known when the workflow runs, made by {@link when}; combine with
 * `and`/`or`/`not`, then branch with `then`.
 */
export class WhenCondition {
  /** The condition as recorded; the graph builder checks and binds it. */
  readonly expr: ConditionExpr;

  constructor(expr: ConditionExpr) {
    this.expr = expr;
  }

  /** Both conditions hold. */
  and(other: WhenCondition): WhenCondition {
    return this.join('and', other);
  }

  /** Either condition holds. */
  or(other: WhenCondition): WhenCondition {
    return this.join('or', other);
  }

  /** The condition does not hold. */
  not(): WhenCondition {
    return new WhenCondition({ op: 'not', condition: this.expr });
  }

  /**
   * Adds a branch node: `arm` runs (once, now) to wire the nodes that run when the condition holds
   * and returns their outputs. Follow with `.otherwise()` to give the other arm and get outputs.
   */
  // biome-ignore lint/suspicious/noThenProperty: `when(x).gt(1).then(…)` is the DSL's documented shape; conditions are never awaited
  then<T extends ArmResult>(arm: () => T): Branch<T> {
    const handle: BranchHandle = currentBuilder('when(…).then()').branch(this.expr, arm);
    return { otherwise: (otherwise) => handle.otherwise(otherwise) as never };
  }

  private join(op: 'and' | 'or', other: WhenCondition): WhenCondition {
    const parts = [this.expr, (other as Partial<WhenCondition> | undefined)?.expr].flatMap((expr) =>
      expr?.op === op ? expr.conditions : expr === undefined ? [] : [expr],
    );
    return new WhenCondition({ op, conditions: parts });
  }
}

/** The left side of a condition: pick the comparison. */
export interface WhenOperand<S> {
  eq(value: Comparable<S> | Ref<unknown>): WhenCondition;
  ne(value: Comparable<S> | Ref<unknown>): WhenCondition;
  lt(value: Exclude<Comparable<S>, null | boolean> | Ref<unknown>): WhenCondition;
  le(value: Exclude<Comparable<S>, null | boolean> | Ref<unknown>): WhenCondition;
  gt(value: Exclude<Comparable<S>, null | boolean> | Ref<unknown>): WhenCondition;
  ge(value: Exclude<Comparable<S>, null | boolean> | Ref<unknown>): WhenCondition;
  /** The (boolean) value is true. */
  isTrue(): WhenCondition;
  /** The (optional) value is absent. */
  isNull(): WhenCondition;
}

/**
 * Starts a condition on a value known only when the workflow runs (a workflow input or a task
 * output). Comparisons take a literal or another reference; `isTrue` takes a boolean, `isNull` an
 * optional. As in Flyte, only int, float, string and boolean values are compared.
 *
 * @example
 * const gate = when(best.score).gt(0.9).and(when(check.ok).isTrue());
 * const out = gate
 *   .then(() => ({ uri: register({ model: best.model }).uri }))
 *   .otherwise(() => ({ uri: report({ score: best.score }).uri }));
 */
export function when<S>(value: Ref<S>): WhenOperand<S> {
  const compare = (op: CompareOp) => (right: unknown) => new WhenCondition({ op, left: value, right });
  return {
    eq: compare('eq'),
    ne: compare('ne'),
    lt: compare('lt'),
    le: compare('le'),
    gt: compare('gt'),
    ge: compare('ge'),
    isTrue: () => new WhenCondition({ op: 'isTrue', value }),
    isNull: () => new WhenCondition({ op: 'isNull', value }),
  };
}
