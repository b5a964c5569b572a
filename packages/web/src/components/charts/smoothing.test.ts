import { describe, expect, it } from 'vitest';
import { emaSmooth } from './smoothing';

describe('emaSmooth', () => {
  it('returns the values unchanged at weight 0', () => {
    expect(emaSmooth([3, null, 1], 0)).toEqual([3, null, 1]);
  });

  it('removes the start-up bias as TensorBoard does (the first point is the value itself)', () => {
    const smoothed = emaSmooth([1, 1, 4], 0.5);
    expect(smoothed[0]).toBe(1);
    expect(smoothed[1]).toBeCloseTo(1);
    // last = ((0.5 * 0.5 + 0.5) * 0.5 + 0.5 * 4) = 2.375; debias by 1 - 0.5^3 = 0.875
    expect(smoothed[2]).toBeCloseTo(2.375 / 0.875);
  });

  it('keeps a constant series constant at any weight', () => {
    for (const value of emaSmooth(Array(50).fill(7), 0.99)) expect(value).toBeCloseTo(7);
  });

  it('passes missing and non-finite values through without letting them into the average', () => {
    expect(emaSmooth([2, null, Number.NaN, 2], 0.9)).toEqual([2, null, Number.NaN, 2]);
  });
});
