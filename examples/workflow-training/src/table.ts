import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { csvRows } from '@keel/sdk';

/**
 * The 30 features of the Wisconsin breast cancer data set, in scikit-learn's column order: the
 * mean, standard error and worst (largest) value over the nuclei of each image, of ten measurements.
 */
export const BREAST_CANCER_FEATURES: readonly string[] = ['mean', 'error', 'worst'].flatMap((stat) =>
  [
    'radius',
    'texture',
    'perimeter',
    'area',
    'smoothness',
    'compactness',
    'concavity',
    'concave_points',
    'symmetry',
    'fractal_dimension',
  ].map((measure) => (stat === 'error' ? `${measure}_error` : `${stat}_${measure}`)),
);

/** The column holding each row's class name in the tables the tasks pass on. */
export const TARGET_COLUMN = 'diagnosis';

/** A labelled table: feature columns and one class name per row. */
export interface Table {
  /** Feature names, in column order. */
  features: string[];
  /** One row of feature values per sample. */
  rows: number[][];
  /** The class name of each row. */
  labels: string[];
}

/** A table read from scikit-learn's CSV layout, with its class names in label order. */
export interface SklearnData extends Table {
  /** Class names by label index, from the header. */
  classes: string[];
}

/**
 * Reads scikit-learn's CSV layout: a first line `n_samples,n_features,class names…`, then one line
 * per sample with the features and the class index. Checks the counts the header promises.
 *
 * @example const { classes, rows } = await readSklearnCsv('data/breast_cancer.csv', BREAST_CANCER_FEATURES);
 */
export async function readSklearnCsv(path: string, features: readonly string[]): Promise<SklearnData> {
  const records = await readRecords(path);
  const [header = [], ...body] = records;
  const [samples, featureCount, ...classes] = header;
  if (Number(featureCount) !== features.length || Number(samples) !== body.length) {
    throw new Error(
      `${path}: header '${header.join(',')}' does not match ${body.length} rows of ${features.length} features`,
    );
  }
  const data: SklearnData = { features: [...features], classes, rows: [], labels: [] };
  body.forEach((fields, index) => {
    const values = numbers(fields, features.length + 1, `${path}:${index + 2}`);
    const label = classes[values[features.length] ?? -1];
    if (label === undefined) throw new Error(`${path}:${index + 2}: unknown class index '${fields.at(-1)}'`);
    data.rows.push(values.slice(0, features.length));
    data.labels.push(label);
  });
  return data;
}

/**
 * Writes a table as CSV: a header of the feature names and {@link TARGET_COLUMN}, then one line
 * per row with the class name last.
 */
export async function writeTable(path: string, table: Table): Promise<void> {
  const lines = [
    [...table.features, TARGET_COLUMN].join(','),
    ...table.rows.map((row, i) => [...row, table.labels[i]].join(',')),
  ];
  await writeFile(path, `${lines.join('\n')}\n`);
}

/** Reads a table {@link writeTable} wrote. */
export async function readTable(path: string): Promise<Table> {
  const [header = [], ...body] = await readRecords(path);
  if (header.at(-1) !== TARGET_COLUMN) {
    throw new Error(`${path}: the last column must be '${TARGET_COLUMN}', got '${header.at(-1)}'`);
  }
  const features = header.slice(0, -1);
  return {
    features,
    rows: body.map((fields, i) => numbers(fields.slice(0, -1), features.length, `${path}:${i + 2}`)),
    labels: body.map((fields) => fields.at(-1) ?? ''),
  };
}

/** The rows of `table` at `indices`, in that order. */
export function selectRows(table: Table, indices: readonly number[]): Table {
  return {
    features: table.features,
    rows: indices.map((i) => table.rows[i] as number[]),
    labels: indices.map((i) => table.labels[i] as string),
  };
}

async function readRecords(path: string): Promise<string[][]> {
  const records: string[][] = [];
  for await (const { fields } of csvRows(createReadStream(path, 'utf8'))) records.push(fields);
  return records;
}

function numbers(fields: readonly string[], count: number, where: string): number[] {
  const values = fields.map(Number);
  if (values.length !== count || values.some(Number.isNaN)) {
    throw new Error(`${where}: expected ${count} numbers, got '${fields.join(',')}'`);
  }
  return values;
}
