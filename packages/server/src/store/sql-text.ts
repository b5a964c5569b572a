import { CompiledQuery, type Insertable, type Kysely, type QueryResult } from 'kysely';
import type { DialectName } from './dialect.js';
import type { Database } from './schema.js';

/**
 * SQL written as text for the store's hottest statements: the few-row inserts and
 * compare-and-sets of each workflow scheduler turn and its tracking runs and audit events. Kysely's
 * query builder spends longer building and compiling such a statement than SQLite spends running
 * it; here the text is concatenated and handed to Kysely as a compiled query (same connection,
 * same transaction). Only for statements whose SQL is the same in both dialects: identifiers are
 * quoted, values always bound, as `?` on SQLite and `$1, $2…` on PostgreSQL.
 *
 * @example
 * const params = new SqlParams(dialect);
 * const text = `update "runs" set ${params.assignments({ status: 'FINISHED' })} where "run_uuid" = ${params.bind(id)}`;
 * await executeSql(trx, text, params);
 */
export class SqlParams {
  /** The bound values, in placeholder order. */
  readonly values: unknown[] = [];

  constructor(private readonly dialect: DialectName) {}

  /** Binds `value`; returns its placeholder. */
  bind(value: unknown): string {
    this.values.push(value);
    return this.dialect === 'postgres' ? `$${this.values.length}` : '?';
  }

  /** Binds each value; returns their placeholders, comma-separated (for `in (…)`). */
  list(values: readonly unknown[]): string {
    return values.map((value) => this.bind(value)).join(', ');
  }

  /** `"a" = ?, "b" = ?` for the fields of `set`; undefined fields are left out, as Kysely's `set` does. */
  assignments(set: Readonly<Record<string, unknown>>): string {
    const parts: string[] = [];
    for (const [column, value] of Object.entries(set)) {
      if (value !== undefined) parts.push(`${quoteIdentifier(column)} = ${this.bind(value)}`);
    }
    if (parts.length === 0) throw new Error('An update must set at least one column');
    return parts.join(', ');
  }
}

/** `"name"`, with embedded double quotes doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Runs SQL text built with `params` on `db` (a transaction or the store's handle). */
export function executeSql<R = unknown>(
  db: Kysely<Database>,
  sql: string,
  params: SqlParams,
): Promise<QueryResult<R>> {
  return db.executeQuery<R>(CompiledQuery.raw(sql, params.values));
}

/**
 * One multi-row `insert into <table> (…) values (…), (…) [suffix]`, as Kysely's
 * `insertInto(table).values(rows)` writes it: the columns are the keys with a defined value in some
 * row, in order of first appearance; a row without one of them stores NULL there (Kysely would write
 * the column's default: keep the rows of one call alike). `suffix` is SQL both dialects accept, e.g.
 * `on conflict ("cache_key") do nothing`.
 *
 * @example
 * await insertRows(trx, 'sqlite', 'params', [{ run_uuid, key: 'alpha', value: '0.1' }]);
 */
export function insertRows<T extends keyof Database & string>(
  db: Kysely<Database>,
  dialect: DialectName,
  table: T,
  rows: readonly Insertable<Database[T]>[],
  suffix = '',
): Promise<QueryResult<unknown>> {
  const records = rows as readonly Record<string, unknown>[];
  const columns = columnsOf(records);
  const values: unknown[] = new Array(records.length * columns.length);
  let at = 0;
  for (const row of records) for (const column of columns) values[at++] = row[column] ?? null;
  return db.executeQuery(
    CompiledQuery.raw(insertText(dialect, table, columns, records.length, suffix), values),
  );
}

/** Texts of recent inserts by shape: the same string each time also spares hashing it again in the statement cache. */
const insertTexts = new Map<string, string>();
const INSERT_TEXTS_KEPT = 1000;

function insertText(
  dialect: DialectName,
  table: string,
  columns: readonly string[],
  rows: number,
  suffix: string,
): string {
  const key = `${dialect}\u0000${table}\u0000${rows}\u0000${suffix}\u0000${columns.join('\u0000')}`;
  let text = insertTexts.get(key);
  if (text === undefined) {
    text = `insert into ${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(', ')}) values ${valueTuples(dialect, rows, columns.length)}${suffix === '' ? '' : ` ${suffix}`}`;
    if (insertTexts.size >= INSERT_TEXTS_KEPT) insertTexts.clear();
    insertTexts.set(key, text);
  }
  return text;
}

/** `(?, ?), (?, ?)` on SQLite, `($1, $2), ($3, $4)` on PostgreSQL. */
function valueTuples(dialect: DialectName, rows: number, width: number): string {
  if (dialect === 'sqlite') return new Array(rows).fill(`(${'?, '.repeat(width - 1)}?)`).join(', ');
  const params = new SqlParams(dialect);
  return Array.from({ length: rows }, () => `(${params.list(new Array(width).fill(null))})`).join(', ');
}

/** The keys with a defined value in some row, in order of first appearance (Kysely's rule). */
function columnsOf(rows: readonly Record<string, unknown>[]): string[] {
  if (rows.length === 0) throw new Error('An insert needs at least one row');
  const columns = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) if (row[key] !== undefined) columns.add(key);
  if (columns.size === 0) throw new Error('An insert needs at least one column with a value');
  return [...columns];
}
