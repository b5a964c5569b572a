/**
 * TensorBoard's scalar smoothing: an exponential moving average with its start-up bias removed, so
 * the first smoothed points are not dragged towards zero. `weight` 0 returns the values as they are;
 * 0.99 is very smooth. Missing and non-finite values (NaN, ±Infinity) are passed through and do not
 * enter the average.
 *
 * @example
 * emaSmooth([1, 1, 4], 0.5); // [1, 1, 2.714…] — TensorBoard draws the same curve
 */
export function emaSmooth(
  values: ArrayLike<number | null | undefined>,
  weight: number,
): (number | null | undefined)[] {
  const out: (number | null | undefined)[] = new Array(values.length);
  if (weight <= 0) {
    for (let i = 0; i < values.length; i++) out[i] = values[i];
    return out;
  }
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined || !Number.isFinite(value)) {
      out[i] = value;
      continue;
    }
    last = last * weight + (1 - weight) * value;
    count++;
    out[i] = last / (1 - weight ** count);
  }
  return out;
}
