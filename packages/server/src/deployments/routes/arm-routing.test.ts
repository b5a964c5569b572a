import { KeelError } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { rng } from '../../../../sdk/src/testing/dense-reference.js';
import { armsServing, chooseArm, routingKeyPoint, weightedChoice } from './arm-routing.js';

const ARMS = [
  { name: 'main', weight: 90, modelVersion: '3' },
  { name: 'canary', weight: 10, modelVersion: '4' },
  { name: 'dark', weight: 0, modelVersion: '5' },
];

function counts(draw: () => string, n: number): Record<string, number> {
  const result: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = draw();
    result[name] = (result[name] ?? 0) + 1;
  }
  return result;
}

describe('weightedChoice', () => {
  it('lays the weights end to end in order, skipping arms of weight 0', () => {
    const arms = [
      { name: 'a', weight: 3 },
      { name: 'z', weight: 0 },
      { name: 'b', weight: 1 },
    ];
    expect(weightedChoice(arms, 0).name).toBe('a');
    expect(weightedChoice(arms, 0.7499).name).toBe('a');
    expect(weightedChoice(arms, 0.75).name).toBe('b');
    expect(weightedChoice(arms, 0.9999).name).toBe('b');
    expect(weightedChoice(arms, 1).name).toBe('b');
  });

  it('shares evenly when every arm weighs 0', () => {
    const arms = [
      { name: 'a', weight: 0 },
      { name: 'b', weight: 0 },
    ];
    expect(weightedChoice(arms, 0.2).name).toBe('a');
    expect(weightedChoice(arms, 0.7).name).toBe('b');
  });
});

describe('chooseArm', () => {
  it('splits a weighted draw in proportion to the weights (100 000 seeded draws) and never picks weight 0', () => {
    const random = rng(7);
    const n = 100_000;
    const got = counts(() => chooseArm('fraud', ARMS, {}, random).name, n);
    expect(got.dark).toBeUndefined();
    expect(Math.abs((got.canary ?? 0) / n - 0.1)).toBeLessThan(0.005);
    expect((got.main ?? 0) + (got.canary ?? 0)).toBe(n);
  });

  it('pins to the arm named by the route header, even at weight 0, and ignores an unknown name', () => {
    const random = rng(1);
    expect(counts(() => chooseArm('fraud', ARMS, { route: 'dark' }, random).name, 100)).toEqual({
      dark: 100,
    });
    expect(counts(() => chooseArm('fraud', ARMS, { route: 'canary' }, random).name, 100)).toEqual({
      canary: 100,
    });
    const fallback = counts(() => chooseArm('fraud', ARMS, { route: 'gone' }, random).name, 1000);
    expect((fallback.main ?? 0) + (fallback.canary ?? 0)).toBe(1000);
  });

  it('maps a routing key to one arm, the same every time, keys spread by weight', () => {
    const never = () => {
      throw new Error('a routing key must not draw');
    };
    const byKey = new Map<string, string>();
    for (let i = 0; i < 5000; i++) {
      const key = `user-${i}`;
      const arm = chooseArm('fraud', ARMS, { routingKey: key }, never).name;
      expect(chooseArm('fraud', ARMS, { routingKey: key }, never).name).toBe(arm);
      byKey.set(key, arm);
    }
    const canary = [...byKey.values()].filter((arm) => arm === 'canary').length;
    expect(Math.abs(canary / 5000 - 0.1)).toBeLessThan(0.02);
    // The route header wins over the key.
    expect(chooseArm('fraud', ARMS, { routingKey: 'user-1', route: 'dark' }, never).name).toBe('dark');
  });

  it('salts the key by deployment and keeps the point in [0, 1)', () => {
    expect(routingKeyPoint('a', 'k')).toBe(routingKeyPoint('a', 'k'));
    expect(routingKeyPoint('a', 'k')).not.toBe(routingKeyPoint('b', 'k'));
    for (let i = 0; i < 1000; i++) {
      const point = routingKeyPoint('d', String(i));
      expect(point).toBeGreaterThanOrEqual(0);
      expect(point).toBeLessThan(1);
    }
  });

  it('restricts a pinned version to the arms serving it, and answers 404 when none does', () => {
    const random = rng(3);
    expect(counts(() => chooseArm('fraud', ARMS, { version: '4' }, random).name, 200)).toEqual({
      canary: 200,
    });
    // An arm out of rotation still answers for its own version.
    expect(chooseArm('fraud', ARMS, { version: '5' }, random).name).toBe('dark');
    // The route header cannot leave the pinned version.
    expect(chooseArm('fraud', ARMS, { version: '4', route: 'main' }, random).name).toBe('canary');
    let error: unknown;
    try {
      chooseArm('fraud', ARMS, { version: '9' }, random);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KeelError);
    expect((error as KeelError).code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(() => armsServing('fraud', [], undefined)).toThrow(KeelError);
  });
});
