/**
 * The syntax tree that `parseFilter` and `parseOrderBy` produce and stores translate to SQL.
 *
 * The tree is already validated against a {@link SearchSchema}: entities are canonical, attribute
 * aliases are resolved and every value has the type its field expects, so a store never re-checks.
 */

/** Every entity kind, in the order error messages list them. */
export const ENTITY_KINDS = ['metric', 'param', 'tag', 'attribute', 'dataset'] as const;

/** What an identifier refers to: `metrics.x` → metric, `params.x` → param, bare `status` → attribute. */
export type EntityKind = (typeof ENTITY_KINDS)[number];

/** Every comparison operator, in canonical (upper-case) spelling. */
export const COMPARISON_OPS = ['=', '!=', '<', '<=', '>', '>=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'] as const;

/** A comparison operator. `LIKE` is case-sensitive, `ILIKE` case-insensitive; both use `%` and `_`. */
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

/**
 * One `identifier op value` test.
 *
 * @example
 * // metrics.acc >= 0.9
 * { kind: 'comparison', entity: 'metric', key: 'acc', op: '>=', value: 0.9, position: 0 }
 */
export interface Comparison {
  kind: 'comparison';
  entity: EntityKind;
  /** Canonical key: attribute aliases resolved (`created` → `start_time`, `run name` → `run_name`). */
  key: string;
  op: ComparisonOp;
  /** A number for numeric fields, a string for string fields, a list for `IN` / `NOT IN`. */
  value: string | number | readonly string[];
  /** 0-based offset of the identifier in the filter text. */
  position: number;
}

/**
 * A parsed filter. Groups are never empty and never directly contain a group of the same kind
 * (`a AND (b AND c)` is `and[a, b, c]`); a single comparison is not wrapped in a group.
 */
export type FilterExpr =
  | { kind: 'and'; items: readonly FilterExpr[] }
  | { kind: 'or'; items: readonly FilterExpr[] }
  | Comparison;

/** One parsed `order_by` entry, e.g. `metrics.rmse DESC` → `{ entity: 'metric', key: 'rmse', ascending: false }`. */
export interface OrderByClause {
  entity: EntityKind;
  key: string;
  ascending: boolean;
}

/** Exhaustiveness check for switches over the unions of this module. */
export function unreachable(value: never): never {
  throw new Error(`Unexpected value: ${JSON.stringify(value)}`);
}
