import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { type Dataset, LIMITS } from '@keel/core';
import { csvRows } from './csv-rows.js';

/**
 * An MLflow dataset with its schema and profile filled in, as {@link describeDataset} builds it;
 * pass it to `ActiveRun.logInput` or `KeelClient.logInputs`.
 */
export interface DescribedDataset extends Dataset {
  /** MLflow's colspec JSON: `{"mlflow_colspec":[{"type":"double","name":"x","required":true},…]}`. */
  schema: string;
  /** JSON: `{"num_rows", "num_elements", "columns": {name: {type, nulls, min?, max?, mean?}}, "targets"?}`. */
  profile: string;
}

/**
 * Options of {@link describeDataset}.
 * @example await describeDataset('iris.csv', { name: 'iris', columns: ['a', 'b', 'c', 'd', 'target'], targets: 'target' });
 */
export interface DescribeDatasetOptions {
  /** The dataset's name, e.g. `iris-train` (≤ 500 characters). */
  name: string;
  /**
   * Where the data lives, recorded as the dataset's source: `http(s)://…` (source type `http`),
   * `s3://…` (`s3`), a path or `file://…` (`local`), any other `scheme://…` (that scheme).
   * @default the CSV file's absolute path; for rows, a `code` source naming the entry script
   */
  sourceUri?: string;
  /** Name of the target (label) column; must be one of the columns. @default none */
  targets?: string;
  /**
   * CSV only: the column names. With `header: true` they replace the first line's names (useful
   * for files whose first line is not names, like scikit-learn's `150,4,setosa,…`).
   * @default the first line of the file
   */
  columns?: readonly string[];
  /** CSV only: whether the first line is a header (skipped as data). @default true */
  header?: boolean;
}

/** Schema type names, as MLflow's colspec writes them. */
export type ColumnType = 'long' | 'double' | 'boolean' | 'string' | 'datetime';

/** Per-column entry of a dataset profile. */
export interface ColumnProfile {
  type: ColumnType;
  nulls: number;
  min?: number;
  max?: number;
  mean?: number;
}

/** Hex characters of the sha256 kept as the digest (MLflow allows up to 36). */
const DIGEST_LENGTH = 16;

const NULL_TEXTS: ReadonlySet<string> = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None']);
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BOOLEAN_TEXT: Readonly<Record<string, boolean>> = {
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
};

/**
 * Describes a table as an MLflow dataset: a content digest, a colspec schema and a profile (row
 * count, and per column its type, null count, and min/max/mean for numbers). The table is a CSV
 * file (streamed, any size) or an array of row objects.
 *
 * The digest is the first 16 hex digits of a sha256 over the column names and every row's
 * values in canonical form (numbers as numbers, empty cells as null), so it is stable across
 * calls and changes whenever a value, a row or a column name changes.
 *
 * @example
 * const iris = await describeDataset('data/iris.csv', {
 *   name: 'iris',
 *   columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'target'],
 *   targets: 'target',
 * });
 * await run.logInput(iris, { context: 'training' });
 */
export async function describeDataset(
  source: string | readonly Record<string, unknown>[],
  options: DescribeDatasetOptions,
): Promise<DescribedDataset> {
  if (options.name === '' || options.name.length > LIMITS.maxDatasetNameLength) {
    throw new RangeError(`Invalid dataset name: 1 to ${LIMITS.maxDatasetNameLength} characters expected`);
  }
  const table = typeof source === 'string' ? await profileCsv(source, options) : profileRows(source);
  if (options.targets !== undefined && !table.columns.some((c) => c.name === options.targets)) {
    throw new RangeError(
      `Target column '${options.targets}' is not one of the columns: ${table.columns.map((c) => c.name).join(', ')}`,
    );
  }
  const schema = JSON.stringify({
    mlflow_colspec: table.columns.map((c) => ({ type: c.type(), name: c.name, required: c.nulls === 0 })),
  });
  const profile = JSON.stringify({
    num_rows: table.rows,
    num_elements: table.rows * table.columns.length,
    columns: Object.fromEntries(table.columns.map((c) => [c.name, c.profile()])),
    ...(options.targets === undefined ? {} : { targets: options.targets }),
  });
  const { sourceType, sourceJson } = sourceOf(
    options.sourceUri,
    typeof source === 'string' ? source : undefined,
  );
  return {
    name: options.name,
    digest: table.hash.digest('hex').slice(0, DIGEST_LENGTH),
    source_type: sourceType,
    source: sourceJson,
    schema,
    profile,
  };
}

interface Table {
  columns: ColumnStats[];
  rows: number;
  hash: Hash;
}

async function profileCsv(path: string, options: DescribeDatasetOptions): Promise<Table> {
  const hash = createHash('sha256');
  const header = options.header ?? true;
  let columns: ColumnStats[] | undefined = options.columns?.map((name) => new ColumnStats(name));
  if (columns) hash.update(`${JSON.stringify(columns.map((c) => c.name))}\n`);
  let rows = 0;
  let skipFirst = header;
  for await (const { fields, line } of csvRows(createReadStream(path, { encoding: 'utf8' }))) {
    if (skipFirst) {
      skipFirst = false;
      if (!columns) {
        columns = fields.map((name) => new ColumnStats(name));
        hash.update(`${JSON.stringify(fields)}\n`);
      }
      continue;
    }
    if (!columns) {
      // No header and no names: number the columns.
      columns = fields.map((_, index) => new ColumnStats(`column_${index}`));
      hash.update(`${JSON.stringify(columns.map((c) => c.name))}\n`);
    }
    if (fields.length !== columns.length) {
      throw new RangeError(`${path} line ${line}: expected ${columns.length} fields, found ${fields.length}`);
    }
    const values = fields.map((text, index) => (columns as ColumnStats[])[index]?.observeText(text) ?? null);
    hash.update(`${JSON.stringify(values)}\n`);
    rows += 1;
  }
  return { columns: columns ?? [], rows, hash };
}

function profileRows(rows: readonly Record<string, unknown>[]): Table {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (!seen.has(key)) {
        seen.add(key);
        names.push(key);
      }
    }
  }
  const columns = names.map((name) => new ColumnStats(name));
  const hash = createHash('sha256');
  hash.update(`${JSON.stringify(names)}\n`);
  for (const row of rows) {
    const values = columns.map((column) => column.observeValue(row[column.name]));
    hash.update(`${JSON.stringify(values)}\n`);
  }
  return { columns, rows: rows.length, hash };
}

type Canonical = number | string | boolean | null;

/** Running type, null count and numeric summary of one column. */
class ColumnStats {
  nulls = 0;
  private kind: ColumnType | undefined;
  private count = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;

  constructor(readonly name: string) {}

  /** A CSV cell: null markers, numbers (`1` long, `1.0` double), booleans, else text. */
  observeText(text: string): Canonical {
    if (NULL_TEXTS.has(text)) return this.observeNull();
    if (NUMBER_TEXT.test(text)) {
      const value = Number(text);
      return this.observeNumber(value, /^[+-]?\d+$/.test(text) && Number.isSafeInteger(value));
    }
    const bool = BOOLEAN_TEXT[text];
    if (bool !== undefined) return this.observeKind('boolean', bool);
    return this.observeKind('string', text);
  }

  /** A value of a row object. */
  observeValue(value: unknown): Canonical {
    if (value === undefined || value === null) return this.observeNull();
    if (typeof value === 'number') {
      if (Number.isNaN(value)) return this.observeNull();
      if (!Number.isFinite(value)) return this.observeKind('double', String(value));
      return this.observeNumber(value, Number.isSafeInteger(value));
    }
    if (typeof value === 'bigint') return this.observeNumber(Number(value), true);
    if (typeof value === 'boolean') return this.observeKind('boolean', value);
    if (value instanceof Date) return this.observeKind('datetime', value.toISOString());
    if (typeof value === 'string') return this.observeKind('string', value);
    return this.observeKind('string', JSON.stringify(value) ?? String(value));
  }

  type(): ColumnType {
    return this.kind ?? 'string';
  }

  profile(): ColumnProfile {
    const type = this.type();
    const numeric = (type === 'long' || type === 'double') && this.count > 0;
    return {
      type,
      nulls: this.nulls,
      ...(numeric ? { min: this.min, max: this.max, mean: this.sum / this.count } : {}),
    };
  }

  private observeNull(): null {
    this.nulls += 1;
    return null;
  }

  private observeNumber(value: number, integer: boolean): number {
    this.observeKind(integer ? 'long' : 'double', value);
    this.count += 1;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    return value;
  }

  private observeKind<T extends Canonical>(kind: ColumnType, value: T): T {
    if (this.kind === undefined || this.kind === kind) this.kind = kind;
    else if ((this.kind === 'long' && kind === 'double') || (this.kind === 'double' && kind === 'long')) {
      this.kind = 'double';
    } else this.kind = 'string';
    return value;
  }
}

function sourceOf(
  sourceUri: string | undefined,
  csvPath: string | undefined,
): { sourceType: string; sourceJson: string } {
  if (sourceUri === undefined) {
    if (csvPath !== undefined) {
      return { sourceType: 'local', sourceJson: JSON.stringify({ uri: resolve(csvPath) }) };
    }
    const entry = process.argv[1];
    return {
      sourceType: 'code',
      sourceJson: JSON.stringify({
        tags: { ...(entry ? { 'mlflow.source.name': entry } : {}), 'mlflow.source.type': 'LOCAL' },
      }),
    };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(sourceUri)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    return { sourceType: 'http', sourceJson: JSON.stringify({ url: sourceUri }) };
  }
  if (scheme === undefined)
    return { sourceType: 'local', sourceJson: JSON.stringify({ uri: resolve(sourceUri) }) };
  if (scheme === 'file') return { sourceType: 'local', sourceJson: JSON.stringify({ uri: sourceUri }) };
  return { sourceType: scheme, sourceJson: JSON.stringify({ uri: sourceUri }) };
}
