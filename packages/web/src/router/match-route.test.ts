import { describe, expect, it } from 'vitest';
import { buildPath, matchPath } from './match-route';

describe('matchPath', () => {
  it('matches static and parameter segments, decoding parameters', () => {
    expect(matchPath('/', '/')).toEqual({});
    expect(matchPath('/experiments', '/experiments/')).toEqual({});
    expect(matchPath('/experiments/:id', '/experiments/12')).toEqual({ id: '12' });
    expect(matchPath('/models/:name/versions/:version', '/models/a%2Fb/versions/3')).toEqual({
      name: 'a/b',
      version: '3',
    });
  });

  it('rejects other lengths, other static segments and undecodable parameters', () => {
    expect(matchPath('/experiments/:id', '/experiments')).toBeUndefined();
    expect(matchPath('/experiments/:id', '/experiments/1/x')).toBeUndefined();
    expect(matchPath('/runs/:id', '/models/1')).toBeUndefined();
    expect(matchPath('/runs/:id', '/runs/%E0%A4%A')).toBeUndefined();
  });
});

describe('buildPath', () => {
  it('encodes each parameter and round-trips through matchPath', () => {
    const path = buildPath('/models/:name/versions/:version', { name: 'churn/model v2', version: '3' });
    expect(path).toBe('/models/churn%2Fmodel%20v2/versions/3');
    expect(matchPath('/models/:name/versions/:version', path)).toEqual({
      name: 'churn/model v2',
      version: '3',
    });
  });
});
