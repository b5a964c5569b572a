import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SORT,
  orderByClauses,
  parseRunsView,
  type RunsViewState,
  runsViewQuery,
} from './runs-view-state';

function query(view: RunsViewState): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(runsViewQuery(view))) {
    if (value === undefined) continue;
    for (const item of typeof value === 'string' ? [value] : value) params.append(key, item);
  }
  return params;
}

describe('runs view state in the URL', () => {
  it('defaults to newest runs first, no filter, no extra columns', () => {
    expect(parseRunsView(new URLSearchParams())).toEqual({
      filter: '',
      sort: DEFAULT_SORT,
      descending: true,
      columns: [],
    });
    expect(query(parseRunsView(new URLSearchParams())).toString()).toBe('');
  });

  it('round-trips filter, sort and columns, keys with dots included', () => {
    const view: RunsViewState = {
      filter: "metrics.acc > 0.5 AND params.opt = 'adam'",
      sort: { kind: 'tags', key: 'mlflow.source.name' },
      descending: false,
      columns: [
        { kind: 'params', key: 'lr' },
        { kind: 'metrics', key: 'val.acc' },
      ],
    };
    expect(parseRunsView(query(view))).toEqual(view);
  });

  it('drops malformed and duplicate columns and unknown sort columns', () => {
    const view = parseRunsView(
      new URLSearchParams('col=params.lr&col=params.lr&col=nope.x&col=params.&sort=attributes.secret'),
    );
    expect(view.columns).toEqual([{ kind: 'params', key: 'lr' }]);
    expect(view.sort).toEqual(DEFAULT_SORT);
  });
});

describe('orderByClauses', () => {
  it('backticks keys the grammar cannot read bare and adds the run id as tie-breaker', () => {
    expect(orderByClauses({ kind: 'metrics', key: 'acc' }, true)).toEqual([
      'metrics.acc DESC',
      'attributes.run_id ASC',
    ]);
    expect(orderByClauses({ kind: 'params', key: 'my `key`' }, false)[0]).toBe('params.`my \\`key\\`` ASC');
    expect(orderByClauses({ kind: 'attributes', key: 'start_time' }, true)[0]).toBe(
      'attributes.start_time DESC',
    );
  });
});
