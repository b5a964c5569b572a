import { describe, expect, it } from 'vitest';
import { ancestorFolders, parseRunView, runViewQuery } from './run-view-state';

describe('parseRunView', () => {
  it('reads the tab and its state', () => {
    expect(parseRunView(new URLSearchParams('tab=artifacts&path=/model/MLmodel'))).toEqual({
      tab: 'artifacts',
      path: 'model/MLmodel',
      q: '',
      metric: '',
    });
    expect(parseRunView(new URLSearchParams('tab=params&q=lr')).q).toBe('lr');
  });

  it('falls back to the overview for a missing or unknown tab', () => {
    expect(parseRunView(new URLSearchParams('')).tab).toBe('overview');
    expect(parseRunView(new URLSearchParams('tab=charts')).tab).toBe('overview');
  });
});

describe('runViewQuery', () => {
  it('writes only what the tab uses, and nothing for the overview', () => {
    expect(runViewQuery({ tab: 'overview', path: 'x' })).toEqual({});
    expect(runViewQuery({ tab: 'artifacts', path: 'a/b.csv', q: 'lr' })).toEqual({
      tab: 'artifacts',
      path: 'a/b.csv',
    });
    expect(runViewQuery({ tab: 'metrics', metric: 'loss' })).toEqual({ tab: 'metrics', metric: 'loss' });
  });

  it('round-trips through the URL', () => {
    const view = { tab: 'params', path: '', q: 'optim', metric: '' } as const;
    expect(parseRunView(new URLSearchParams(runViewQuery(view)))).toEqual(view);
  });
});

describe('ancestorFolders', () => {
  it('lists the folders above a path, outermost first', () => {
    expect(ancestorFolders('a/b/c.txt')).toEqual(['a', 'a/b']);
    expect(ancestorFolders('top.txt')).toEqual([]);
    expect(ancestorFolders('')).toEqual([]);
  });
});
