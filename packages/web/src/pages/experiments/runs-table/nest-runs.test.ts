import type { Run } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { nestRuns } from './nest-runs';

function run(id: string, parent?: string): Run {
  return {
    info: {
      run_id: id,
      run_uuid: id,
      run_name: id,
      experiment_id: '1',
      user_id: 'u',
      status: 'FINISHED',
      start_time: 1,
      artifact_uri: '',
      lifecycle_stage: 'active',
    },
    data: parent === undefined ? {} : { tags: [{ key: 'mlflow.parentRunId', value: parent }] },
    inputs: {},
    outputs: {},
  };
}

const shape = (rows: ReturnType<typeof nestRuns>) => rows.map((row) => `${row.run.info.run_id}:${row.depth}`);

describe('nestRuns', () => {
  it('puts loaded children right under their parent, depth first, keeping server order', () => {
    const rows = nestRuns([run('p'), run('q'), run('c1', 'p'), run('g', 'c1'), run('c2', 'p')], new Set());
    expect(shape(rows)).toEqual(['p:0', 'c1:1', 'g:2', 'c2:1', 'q:0']);
    expect(rows[0]?.childCount).toBe(2);
  });

  it('keeps children of unloaded parents at the top level', () => {
    expect(shape(nestRuns([run('c', 'missing'), run('p')], new Set()))).toEqual(['c:0', 'p:0']);
  });

  it('hides the children of collapsed runs but still counts them', () => {
    const rows = nestRuns([run('p'), run('c', 'p'), run('g', 'c')], new Set(['p']));
    expect(shape(rows)).toEqual(['p:0']);
    expect(rows[0]?.childCount).toBe(1);
  });

  it('shows every run of a parent cycle once, at the top level', () => {
    const rows = nestRuns([run('a', 'b'), run('b', 'a'), run('c', 'a')], new Set());
    expect(shape(rows).sort()).toEqual(['a:0', 'b:0', 'c:0']);
  });
});
