import { KeelError, type ParamSpec } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { enforceParams } from './inference-params.js';

const spec = (
  name: string,
  type: ParamSpec['type'],
  value: unknown,
  shape: number[] | null = null,
): ParamSpec => ({
  name,
  type,
  default: value,
  shape,
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof KeelError ? error.code : 'not a KeelError';
  }
}

describe('enforceParams', () => {
  it('gives a model without a parameter schema no params', () => {
    expect(enforceParams({ a: 1 }, undefined)).toBeUndefined();
    expect(enforceParams(undefined, undefined)).toBeUndefined();
  });

  it('fills defaults, keeps given values and drops undeclared ones', () => {
    const specs = [spec('t', 'double', 0.5), spec('n', 'long', null), spec('s', 'string', 'x')];
    expect(enforceParams({ t: 1, extra: true }, specs)).toEqual({ t: 1, s: 'x' });
    expect(enforceParams(undefined, specs)).toEqual({ t: 0.5, s: 'x' });
    expect(enforceParams({ t: null, n: 3 }, specs)).toEqual({ t: 0.5, n: 3, s: 'x' });
  });

  it('checks every type and list parameters', () => {
    const ok: [ParamSpec['type'], unknown][] = [
      ['boolean', true],
      ['integer', -5],
      ['long', 2 ** 40],
      ['float', 1],
      ['double', 1.5],
      ['string', 'a'],
      ['binary', 'AQID'],
      ['datetime', '2024-01-02T03:04:05Z'],
    ];
    for (const [type, value] of ok)
      expect(enforceParams({ p: value }, [spec('p', type, null)])).toEqual({ p: value });
    expect(enforceParams({ p: [1, 2] }, [spec('p', 'long', null, [-1])])).toEqual({ p: [1, 2] });
  });

  it.each([
    ['boolean', 1, null],
    ['integer', 2 ** 31, null],
    ['long', 1.5, null],
    ['double', '1', null],
    ['string', 1, null],
    ['datetime', 'not a date', null],
    ['long', 1, [-1]],
    ['long', [1, 'x'], [-1]],
  ] as const)('refuses a %s parameter given %j (shape %j)', (type, value, shape) => {
    const specs = [spec('p', type, null, shape === null ? null : [...shape])];
    expect(codeOf(() => enforceParams({ p: value }, specs))).toBe('INVALID_PARAMETER_VALUE');
  });
});
