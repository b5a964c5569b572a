/**
 * A seeded pseudo-random generator (mulberry32): the same seed gives the same split and the same
 * initial weights on every machine, so a run can be reproduced from its logged params.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Row indices of the training and test sets. */
export interface Split {
  train: number[];
  test: number[];
}

/**
 * A stratified train/test split: each class contributes `round(count · testFraction)` rows to the
 * test set, chosen by a Fisher–Yates shuffle driven by `random`.
 */
export function stratifiedSplit(
  labels: readonly number[],
  testFraction: number,
  random: () => number,
): Split {
  const byClass = new Map<number, number[]>();
  labels.forEach((label, row) => {
    byClass.set(label, [...(byClass.get(label) ?? []), row]);
  });
  const split: Split = { train: [], test: [] };
  for (const rows of byClass.values()) {
    for (let i = rows.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j] as number, rows[i] as number];
    }
    const testCount = Math.round(rows.length * testFraction);
    split.test.push(...rows.slice(0, testCount));
    split.train.push(...rows.slice(testCount));
  }
  split.train.sort((a, b) => a - b);
  split.test.sort((a, b) => a - b);
  return split;
}

/** Per-feature mean and standard deviation, measured on the training rows only. */
export interface Standardization {
  mean: number[];
  std: number[];
}

/** Measures {@link Standardization} on `rows` (a constant feature gets std 1 to avoid dividing by 0). */
export function fitStandardization(rows: readonly number[][]): Standardization {
  const width = rows[0]?.length ?? 0;
  const mean = Array.from(
    { length: width },
    (_, j) => rows.reduce((sum, row) => sum + (row[j] ?? 0), 0) / rows.length,
  );
  const std = mean.map((m, j) => {
    const variance = rows.reduce((sum, row) => sum + ((row[j] ?? 0) - m) ** 2, 0) / rows.length;
    return variance > 0 ? Math.sqrt(variance) : 1;
  });
  return { mean, std };
}

/** Applies a {@link Standardization}: `(x - mean) / std` per feature. */
export function standardize(rows: readonly number[][], { mean, std }: Standardization): number[][] {
  return rows.map((row) => row.map((value, j) => (value - (mean[j] ?? 0)) / (std[j] ?? 1)));
}
