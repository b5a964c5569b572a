import { describe, expect, it } from 'vitest';
import { parseCompareView, withCompareView } from './compare-view-state';

describe('compare view state', () => {
  it('reads runs, the diff toggle and the plot selections', () => {
    expect(
      parseCompareView(new URLSearchParams('runs=a, b,,a&diff=1&pc=loss&sx=params.lr&sy=metrics.acc')),
    ).toEqual({
      runIds: ['a', 'b'],
      onlyDifferences: true,
      parallelMetric: 'loss',
      scatterX: 'params.lr',
      scatterY: 'metrics.acc',
    });
    expect(parseCompareView(new URLSearchParams(''))).toEqual({
      runIds: [],
      onlyDifferences: false,
      parallelMetric: '',
      scatterX: '',
      scatterY: '',
    });
  });

  it('writes only what is set and keeps the chart controls', () => {
    const query = withCompareView(new URLSearchParams('log=1&diff=1&sx=params.lr'), {
      runIds: ['a', 'b'],
      onlyDifferences: false,
      parallelMetric: 'acc',
      scatterX: '',
      scatterY: 'metrics.acc',
    });
    expect([...query.entries()]).toEqual([
      ['log', '1'],
      ['runs', 'a,b'],
      ['pc', 'acc'],
      ['sy', 'metrics.acc'],
    ]);
  });
});
