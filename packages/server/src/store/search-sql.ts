import type { Comparison, ComparisonOp, FilterExpr } from '@keel/core';
import { type RawBuilder, sql } from 'kysely';
import type { DialectName } from './dialect.js';

/**
 * Compiles a parsed filter (see `@keel/core` search) into one parameterised SQL boolean
 * expression. Values are always bound parameters; operators come from a closed set.
 * `target` says how each comparison of one search (runs, experiments…) maps onto its tables.
 */
export function compileFilter(
  expr: FilterExpr,
  target: (comparison: Comparison) => RawBuilder<boolean>,
): RawBuilder<boolean> {
  switch (expr.kind) {
    case 'comparison':
      return target(expr);
    case 'and':
    case 'or': {
      const parts = expr.items.map((item) => compileFilter(item, target));
      return sql<boolean>`(${sql.join(parts, sql.raw(expr.kind === 'and' ? ' and ' : ' or '))})`;
    }
    default: {
      const exhaustive: never = expr;
      throw new Error(`unknown filter node ${String(exhaustive)}`);
    }
  }
}

const SQL_OPERATORS: Record<Exclude<ComparisonOp, 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN'>, string> = {
  '=': '=',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};

/**
 * `column op value` for one dialect. LIKE is case-sensitive as in MLflow: PostgreSQL's LIKE
 * already is; SQLite's is not, so it becomes GLOB with the pattern translated. ILIKE is native on
 * PostgreSQL and `lower() like lower()` on SQLite.
 */
export function comparisonSql(
  column: RawBuilder<unknown>,
  op: ComparisonOp,
  value: string | number | readonly string[],
  dialect: DialectName,
): RawBuilder<boolean> {
  switch (op) {
    case 'IN':
    case 'NOT IN': {
      const values = (Array.isArray(value) ? value : [value]) as readonly (string | number)[];
      const list = sql.join(values.map((v) => sql`${v}`));
      return op === 'IN' ? sql<boolean>`${column} in (${list})` : sql<boolean>`${column} not in (${list})`;
    }
    case 'LIKE':
      return dialect === 'postgres'
        ? sql<boolean>`${column} like ${value}`
        : sql<boolean>`${column} glob ${likeToGlob(String(value))}`;
    case 'ILIKE':
      return dialect === 'postgres'
        ? sql<boolean>`${column} ilike ${value}`
        : sql<boolean>`lower(${column}) like lower(${value})`;
    default:
      return sql<boolean>`${column} ${sql.raw(SQL_OPERATORS[op])} ${value}`;
  }
}

/** Translates a SQL LIKE pattern (`%`, `_`) into a SQLite GLOB pattern, escaping GLOB's own specials. */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === '%') out += '*';
    else if (ch === '_') out += '?';
    else if (ch === '*' || ch === '?' || ch === '[') out += `[${ch}]`;
    else out += ch;
  }
  return out;
}

/**
 * `exists` a row of a key-value table (params, tags, latest metrics…) that belongs to the searched
 * row (`kv.<ownerColumn> = <owner>`), has the comparison's key, and whose value satisfies it.
 *
 * @example
 * keyValueExists('params', 'run_uuid', 'runs.run_uuid', comparison, dialect);
 */
export function keyValueExists(
  table: string,
  ownerColumn: string,
  owner: string,
  c: Comparison,
  dialect: DialectName,
): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from ${sql.table(table)} kv where ${sql.ref(`kv.${ownerColumn}`)} = ${sql.ref(owner)} and kv.key = ${c.key} and ${comparisonSql(sql.ref('kv.value'), c.op, c.value, dialect)})`;
}
