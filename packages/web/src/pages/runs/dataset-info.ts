/**
 * Reads what MLflow packs into a dataset input as JSON strings — the source (`{"uri": …}`), the
 * profile (`{"num_rows": …}`) and the schema (`{"mlflow_colspec": […]}`) — for display. Pure; any
 * field that is not the JSON expected is shown raw instead of failing.
 */
import type { DatasetInput } from '@keel/core';
import { TAG_DATASET_CONTEXT } from '@keel/core';

/** One column of a dataset's schema. */
export interface DatasetColumn {
  name: string;
  type: string;
}

/** A dataset input as the run page shows it. */
export interface DatasetView {
  name: string;
  digest: string;
  /** `mlflow.data.context` of the input: `training`, `evaluation`… */
  context: string | undefined;
  sourceType: string;
  /** The source's `uri` (or `path`, `url`, `table_name`) when it has one, else the raw source text. */
  source: string;
  /** `num_rows` of the profile, when present. */
  rows: number | undefined;
  /** The columns of an `mlflow_colspec` schema; `undefined` when there is none or it is unreadable. */
  columns: DatasetColumn[] | undefined;
}

const SOURCE_KEYS = ['uri', 'url', 'path', 'table_name', 'delta_table_name'] as const;

/**
 * The display form of one dataset input.
 *
 * @example
 * datasetView({ dataset: { name: 'train', digest: 'd1', source_type: 'local',
 *   source: '{"uri": "/data/train.csv"}', profile: '{"num_rows": 120}' } }).source; // '/data/train.csv'
 */
export function datasetView(input: DatasetInput): DatasetView {
  const { dataset } = input;
  return {
    name: dataset.name,
    digest: dataset.digest,
    context: input.tags?.find((tag) => tag.key === TAG_DATASET_CONTEXT)?.value,
    sourceType: dataset.source_type,
    source: sourceText(dataset.source),
    rows: profileRows(dataset.profile),
    columns: schemaColumns(dataset.schema),
  };
}

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function sourceText(source: string): string {
  const parsed = parseObject(source);
  for (const key of SOURCE_KEYS) {
    const value = parsed?.[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return source;
}

function profileRows(profile: string | undefined): number | undefined {
  const rows = parseObject(profile)?.num_rows;
  return typeof rows === 'number' && Number.isFinite(rows) ? rows : undefined;
}

function schemaColumns(schema: string | undefined): DatasetColumn[] | undefined {
  const spec = parseObject(schema)?.mlflow_colspec;
  if (!Array.isArray(spec)) return undefined;
  return spec.map((column, index) => {
    const { name, type } = (column ?? {}) as { name?: unknown; type?: unknown };
    return {
      name: typeof name === 'string' ? name : `#${index}`,
      type: typeof type === 'string' ? type : 'unknown',
    };
  });
}
