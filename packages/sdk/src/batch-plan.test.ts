import { describe, expect, it } from 'vitest';
import { planLogBatches } from './index.js';

const metrics = (n: number) => Array.from({ length: n }, (_, step) => ({ key: 'm', value: step, step }));
const params = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, i]));
const tags = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `t${i}`, value: `v${i}` }));
const sizes = (plans: ReturnType<typeof planLogBatches>) =>
  plans.map((p) => [p.metrics.length, p.params.length, p.tags.length]);

describe('planLogBatches', () => {
  it('sends nothing for an empty batch', () => {
    expect(planLogBatches({})).toEqual([]);
  });

  it('splits metrics 1000 at a time', () => {
    expect(sizes(planLogBatches({ metrics: metrics(2001) }))).toEqual([
      [1000, 0, 0],
      [1000, 0, 0],
      [1, 0, 0],
    ]);
  });

  it('pairs param and tag chunks of 100 and tops each call up to 1000 entities with metrics', () => {
    expect(sizes(planLogBatches({ metrics: metrics(2500), params: params(150), tags: tags(250) }))).toEqual([
      [800, 100, 100],
      [850, 50, 100],
      [850, 0, 50],
    ]);
    expect(sizes(planLogBatches({ metrics: metrics(10), params: params(250) }))).toEqual([
      [10, 100, 0],
      [0, 100, 0],
      [0, 50, 0],
    ]);
  });

  it('keeps order within each kind and fills defaults', () => {
    const plans = planLogBatches(
      { metrics: [...metrics(1500), { key: 'nan', value: Number.NaN }], params: { lr: 0.1, deep: true } },
      42,
    );
    const flat = plans.flatMap((p) => p.metrics);
    expect(flat.map((m) => m.value).slice(0, 1500)).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    expect(flat.at(-1)).toEqual({ key: 'nan', value: 'NaN', timestamp: 42, step: 0 });
    expect(plans[0]?.params).toEqual([
      { key: 'lr', value: '0.1' },
      { key: 'deep', value: 'true' },
    ]);
  });
});
