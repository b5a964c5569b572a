import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The CSV shipped with this example: scikit-learn's copy of Fisher's iris data (see README). */
export const IRIS_CSV = fileURLToPath(new URL('../data/iris.csv', import.meta.url));

/** Feature columns, in file order (all in centimetres). */
export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;

/** One flower: four measurements and its species. */
export type IrisRow = Record<(typeof IRIS_FEATURES)[number], number> & { species: string };

/** The parsed data set. */
export interface IrisData {
  /** Class names, indexed by label. */
  classes: string[];
  /** Feature vectors, one per row, in {@link IRIS_FEATURES} order. */
  features: number[][];
  /** Class index of each row. */
  labels: number[];
  /** The same rows as named records, for `describeDataset`. */
  rows: IrisRow[];
}

/**
 * Reads scikit-learn's iris CSV: a first line `n_samples,n_features,class names…`, then one line
 * per flower with the four features and the class index. Checks the counts the header promises.
 */
export async function loadIris(path: string = IRIS_CSV): Promise<IrisData> {
  const lines = (await readFile(path, 'utf8')).split(/\r?\n/).filter((line) => line.trim() !== '');
  const [header, ...body] = lines;
  const [samples, featureCount, ...classes] = (header ?? '').split(',');
  if (Number(featureCount) !== IRIS_FEATURES.length || Number(samples) !== body.length) {
    throw new Error(
      `${path}: header '${header}' does not match ${body.length} rows of ${IRIS_FEATURES.length} features`,
    );
  }
  const data: IrisData = { classes, features: [], labels: [], rows: [] };
  for (const [index, line] of body.entries()) {
    const values = line.split(',').map(Number);
    const label = values[IRIS_FEATURES.length];
    const features = values.slice(0, IRIS_FEATURES.length);
    if (values.length !== IRIS_FEATURES.length + 1 || values.some(Number.isNaN) || label === undefined) {
      throw new Error(`${path}:${index + 2}: expected ${IRIS_FEATURES.length} numbers and a class index`);
    }
    const species = classes[label];
    if (species === undefined) throw new Error(`${path}:${index + 2}: unknown class index ${label}`);
    data.features.push(features);
    data.labels.push(label);
    const row = { species } as IrisRow;
    IRIS_FEATURES.forEach((name, column) => {
      row[name] = features[column] ?? Number.NaN;
    });
    data.rows.push(row);
  }
  return data;
}
