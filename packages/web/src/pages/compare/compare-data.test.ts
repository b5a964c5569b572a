import type { Run } from '@keel/core';
import { describe, expect, it } from 'vitest';
import {
  axisScaleOf,
  axisTicks,
  columnsOf,
  columnValues,
  metricKeysOf,
  metricRows,
  paramRows,
  parseColumnId,
  positionOn,
} from './compare-data';

function run(id: string, params: Record<string, string>, metrics: Record<string, number | 'NaN'>): Run {
  return {
    info: {
      run_id: id,
      run_uuid: id,
      run_name: id,
      experiment_id: '1',
      user_id: 'ada',
      status: 'FINISHED',
      start_time: 0,
      artifact_uri: '',
      lifecycle_stage: 'active',
    },
    data: {
      params: Object.entries(params).map(([key, value]) => ({ key, value })),
      metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: 0, step: 0 })),
    },
    inputs: {},
    outputs: {},
  };
}

const runs = [
  run('a', { lr: '0.1', optimizer: 'sgd', seed: '1' }, { acc: 0.5, loss: 1 }),
  run('b', { lr: '0.01', optimizer: 'adam', seed: '1' }, { acc: 0.9 }),
  run('c', { lr: '0.05', seed: '1', extra: 'x' }, { acc: 'NaN', loss: 0.5 }),
];

describe('diff rows', () => {
  it('lists every param by key with each run’s value and marks the differing ones', () => {
    expect(paramRows(runs)).toEqual([
      { key: 'extra', values: [undefined, undefined, 'x'], differs: true },
      { key: 'lr', values: ['0.1', '0.01', '0.05'], differs: true },
      { key: 'optimizer', values: ['sgd', 'adam', undefined], differs: true },
      { key: 'seed', values: ['1', '1', '1'], differs: false },
    ]);
  });

  it('lists latest metric values the same way', () => {
    expect(metricRows(runs).map((row) => [row.key, row.values, row.differs])).toEqual([
      ['acc', ['0.5', '0.9', 'NaN'], true],
      ['loss', ['1', undefined, '0.5'], true],
    ]);
  });

  it('orders metric keys by how many runs logged them, then by name', () => {
    expect(metricKeysOf(runs)).toEqual(['acc', 'loss']);
    expect(metricKeysOf([run('x', {}, { z: 1 }), run('y', {}, { b: 1, z: 2 })])).toEqual(['z', 'b']);
  });
});

describe('columns', () => {
  it('offers params, then metrics, by id', () => {
    expect(columnsOf(runs).map((column) => `${column.kind}.${column.key}`)).toEqual([
      'params.extra',
      'params.lr',
      'params.optimizer',
      'params.seed',
      'metrics.acc',
      'metrics.loss',
    ]);
    expect(parseColumnId('params.a.b')).toEqual({ kind: 'params', key: 'a.b' });
    expect(parseColumnId('tags.x')).toBeUndefined();
    expect(parseColumnId('metrics.')).toBeUndefined();
  });

  it('reads params as text and metrics as numbers', () => {
    expect(columnValues(runs, { kind: 'params', key: 'optimizer' })).toEqual(['sgd', 'adam', undefined]);
    expect(columnValues(runs, { kind: 'metrics', key: 'acc' })).toEqual([0.5, 0.9, Number.NaN]);
  });
});

describe('axis scales', () => {
  it('makes numeric text a numeric axis and places values on it', () => {
    const scale = axisScaleOf(['0.1', '0.01', '0.05', undefined]);
    expect(scale).toEqual({ kind: 'numeric', min: 0.01, max: 0.1 });
    expect(positionOn(scale, '0.01')).toBe(0);
    expect(positionOn(scale, 0.1)).toBe(1);
    expect(positionOn(scale, undefined)).toBeUndefined();
    expect(positionOn(scale, Number.NaN)).toBeUndefined();
  });

  it('makes a categorical axis when any value is not a number, numbers among them in numeric order', () => {
    const scale = axisScaleOf(['sgd', 'adam', 'sgd', '10', '9']);
    expect(scale).toEqual({ kind: 'categorical', categories: ['9', '10', 'adam', 'sgd'] });
    expect(positionOn(scale, 'sgd')).toBe(1);
    expect(positionOn(scale, '10')).toBeCloseTo(1 / 3);
    expect(positionOn(scale, 'rmsprop')).toBeUndefined();
  });

  it('centres a single value, and NaN metrics make the axis categorical', () => {
    expect(positionOn(axisScaleOf([3, 3]), 3)).toBe(0.5);
    expect(positionOn(axisScaleOf(['only']), 'only')).toBe(0.5);
    expect(axisScaleOf([0.5, Number.NaN]).kind).toBe('categorical');
  });

  it('spreads numeric ticks from min to max', () => {
    expect(axisTicks({ kind: 'numeric', min: 0, max: 1 }, 2)).toEqual([
      { position: 0, label: '0' },
      { position: 0.5, label: '0.5' },
      { position: 1, label: '1' },
    ]);
    expect(axisTicks({ kind: 'numeric', min: 50, max: 101 }).map((tick) => tick.label)).toEqual([
      '50',
      '60',
      '70',
      '80',
      '90',
      '101',
    ]);
    expect(axisTicks({ kind: 'numeric', min: 0.01, max: 0.1 }).map((tick) => tick.label)).toEqual([
      '0.01',
      '0.02',
      '0.04',
      '0.06',
      '0.08',
      '0.1',
    ]);
    expect(axisTicks({ kind: 'categorical', categories: ['a', 'b'] })).toEqual([
      { position: 0, label: 'a' },
      { position: 1, label: 'b' },
    ]);
  });
});
