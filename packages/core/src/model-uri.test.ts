import { describe, expect, it } from 'vitest';
import { KeelError } from './errors.js';
import { modelVersionUri, parseModelUri } from './model-uri.js';
import { canonicalStage, isReservedAlias, validateAliasName } from './registry.js';

describe('parseModelUri', () => {
  it.each([
    ['models:/churn/3', { kind: 'version', name: 'churn', version: 3 }],
    ['models:/churn@champion', { kind: 'alias', name: 'churn', alias: 'champion' }],
    ['models:/churn/Production', { kind: 'stage', name: 'churn', stage: 'Production' }],
    ['models:/churn/staging', { kind: 'stage', name: 'churn', stage: 'staging' }],
    ['models:/churn/latest', { kind: 'latest', name: 'churn' }],
    ['models:/churn/LATEST', { kind: 'latest', name: 'churn' }],
    ['models://registry-host/churn/2', { kind: 'version', name: 'churn', version: 2 }],
    ['models:/my%2Fmodel/1', { kind: 'version', name: 'my/model', version: 1 }],
    ['models:/a@b@c', { kind: 'alias', name: 'a@b', alias: 'c' }],
    ['models:/m-0123abcd', { kind: 'logged', modelId: 'm-0123abcd' }],
    ['runs:/0a1b2c/model', { kind: 'run', runId: '0a1b2c', path: 'model' }],
    ['runs:/0a1b2c/model/sub/dir/', { kind: 'run', runId: '0a1b2c', path: 'model/sub/dir' }],
    ['runs:/0a1b2c', { kind: 'run', runId: '0a1b2c', path: '' }],
  ])('parses %s', (uri, expected) => {
    expect(parseModelUri(uri)).toEqual(expected);
  });

  it.each([
    's3://bucket/model',
    'models:/',
    'models:/churn',
    'models:/churn/1/extra',
    'models:/@alias',
    'models:/churn@',
    'models:churn/1',
    'runs:/',
    'models:/churn/1?x=y',
    'models:/%E0%A4%A/1',
    'models:/churn/99999999999999999999',
  ])('refuses %s with INVALID_PARAMETER_VALUE', (uri) => {
    expect(() => parseModelUri(uri)).toThrowError(KeelError);
    try {
      parseModelUri(uri);
    } catch (error) {
      expect((error as KeelError).code).toBe('INVALID_PARAMETER_VALUE');
    }
  });

  it('formats a version URI that parses back', () => {
    const uri = modelVersionUri('a/b c', 7);
    expect(parseModelUri(uri)).toEqual({ kind: 'version', name: 'a/b c', version: 7 });
  });
});

describe('registry rules', () => {
  it('canonicalises stages case-insensitively', () => {
    expect(canonicalStage('production')).toBe('Production');
    expect(canonicalStage('NONE')).toBe('None');
    expect(() => canonicalStage('gold')).toThrowError(/stage/);
  });

  it('reserves latest and v<digits>', () => {
    expect(['latest', 'Latest', 'v1', 'V42'].every(isReservedAlias)).toBe(true);
    expect(['v', 'v1a', 'champion', 'latest1'].some(isReservedAlias)).toBe(false);
    expect(() => validateAliasName('has space')).toThrowError(KeelError);
    expect(() => validateAliasName('x'.repeat(256))).toThrowError(KeelError);
    expect(() => validateAliasName('')).toThrowError(KeelError);
    expect(() => validateAliasName('champion-2_b')).not.toThrow();
  });
});
