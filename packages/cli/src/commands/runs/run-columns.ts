import {
  type EntityKind,
  type KeyValue,
  type OrderByClause,
  parseOrderBy,
  RUN_SEARCH_SCHEMA,
  type Run,
} from '@keel/core';
import { CliError } from '../../cli-error.js';
import { formatNumber, formatTime } from '../../format.js';

/** An extra column of `keel runs list`: a metric, param, tag or attribute of each run. */
export interface RunColumn {
  entity: EntityKind;
  key: string;
  /** The header, in filter spelling: `metrics.acc`, `params.lr`, `tags.team`, `end_time`. */
  header: string;
}

/** Attributes every `runs list` table shows already; naming them again adds no column. */
const ALWAYS_SHOWN: ReadonlySet<string> = new Set(['run_id', 'run_name', 'status', 'start_time']);

const PREFIX: Readonly<Record<EntityKind, string>> = {
  metric: 'metrics.',
  param: 'params.',
  tag: 'tags.',
  attribute: '',
  dataset: 'datasets.',
};

/**
 * The extra columns `keel runs list` shows: the fields named in `--order-by` clauses, then those in
 * `--columns`, each once, in that order. Identifiers are read with the search grammar itself, so
 * `metric.acc`, ``metrics.`val loss` `` and `created` mean what they mean in a filter.
 *
 * @throws the grammar's INVALID_PARAMETER_VALUE error for a malformed `--order-by` clause, and a
 *   CliError naming a `--columns` entry that is not a run field.
 *
 * @example
 * runColumns(['metrics.acc DESC'], ['params.lr']); // metrics.acc, params.lr
 */
export function runColumns(orderBy: readonly string[], columns: readonly string[]): RunColumn[] {
  const fromOrderBy = parseOrderBy(orderBy, RUN_SEARCH_SCHEMA);
  const fromColumns = columns.map((column): OrderByClause => {
    try {
      const [clause] = parseOrderBy([column], RUN_SEARCH_SCHEMA);
      if (clause === undefined || /\s(asc|desc)\s*$/i.test(column)) throw new Error('not a field');
      return clause;
    } catch (error) {
      throw new CliError(
        `Invalid --columns entry '${column}': expected a run field such as metrics.acc, params.lr, tags.team or end_time`,
        { cause: error },
      );
    }
  });
  const seen = new Set<string>();
  const result: RunColumn[] = [];
  for (const { entity, key } of [...fromOrderBy, ...fromColumns]) {
    const header = `${PREFIX[entity]}${key}`;
    if ((entity === 'attribute' && ALWAYS_SHOWN.has(key)) || seen.has(header)) continue;
    seen.add(header);
    result.push({ entity, key, header });
  }
  return result;
}

/** The cell of `column` for `run`; `-` when the run has no such metric, param or tag. */
export function runCell(run: Run, column: RunColumn): string {
  switch (column.entity) {
    case 'metric': {
      const metric = run.data.metrics?.find((item) => item.key === column.key);
      return metric === undefined ? '-' : formatNumber(metric.value);
    }
    case 'param':
      return keyValue(run.data.params, column.key);
    case 'tag':
      return keyValue(run.data.tags, column.key);
    case 'attribute':
      return attributeCell(run, column.key);
    case 'dataset':
      return '-';
    default: {
      const unknown: never = column.entity;
      throw new Error(`Unknown entity ${String(unknown)}`);
    }
  }
}

function keyValue(items: readonly KeyValue[] | undefined, key: string): string {
  return items?.find((item) => item.key === key)?.value ?? '-';
}

function attributeCell(run: Run, key: string): string {
  const { info } = run;
  if (key === 'end_time' || key === 'start_time') return formatTime(info[key]);
  const value = (info as unknown as Record<string, unknown>)[key];
  return value === undefined || value === null ? '-' : String(value);
}
