import { describe, expect, it } from 'vitest';
import type { KeelError } from '../errors.js';
import { resolveParameters } from './parameters.js';
import type { EntryPointSpec } from './project-spec.js';

const entry: EntryPointSpec = {
  name: 'main',
  command: 'x',
  runtime: 'shell',
  parameters: [
    { name: 'alpha', type: 'float', default: '0.1' },
    { name: 'epochs', type: 'int' },
    { name: 'data', type: 'path', default: 'data/train.csv' },
    { name: 'model', type: 'uri', default: 'runs:/abc/model' },
    { name: 'note', type: 'string', default: '' },
  ],
};

function problems(given: Record<string, string>, resolvePath?: (value: string) => string): string {
  try {
    resolveParameters(entry, given, resolvePath === undefined ? {} : { resolvePath });
  } catch (error) {
    expect((error as KeelError).code).toBe('INVALID_PARAMETER_VALUE');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('resolveParameters', () => {
  it('takes given values, else defaults; undeclared values are extras in given order', () => {
    const resolved = resolveParameters(entry, { epochs: '5', zeta: 'z', alpha: '1e-3', beta: '2' });
    expect(resolved.declared).toEqual({
      alpha: '1e-3',
      epochs: '5',
      data: 'data/train.csv',
      model: 'runs:/abc/model',
      note: '',
    });
    expect(Object.keys(resolved.declared)).toEqual(['alpha', 'epochs', 'data', 'model', 'note']);
    expect(Object.entries(resolved.extra)).toEqual([
      ['zeta', 'z'],
      ['beta', '2'],
    ]);
  });

  it('passes path values through resolvePath with their origin', () => {
    const seen: string[] = [];
    const resolved = resolveParameters(
      entry,
      { epochs: '1' },
      {
        resolvePath: (value, origin) => {
          seen.push(`${origin}:${value}`);
          return `/abs/${value}`;
        },
      },
    );
    expect(resolved.declared.data).toBe('/abs/data/train.csv');
    expect(seen).toEqual(['default:data/train.csv']);
  });

  it('reports every problem at once, each naming its parameter', () => {
    expect(problems({ alpha: 'abc', model: 'not-a-uri', 'bad;key': '1' })).toBe(
      "Invalid parameters for entry point 'main': 'alpha' must be a float, got 'abc'; 'epochs' is required (no default); " +
        "'model' must be a URI with a scheme (such as s3:// or runs:/), got 'not-a-uri'; " +
        "Invalid parameter name 'bad;key': names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)",
    );
    expect(problems({ epochs: '1.5' })).toContain("'epochs' must be an int, got '1.5'");
    expect(
      problems({ epochs: '1', data: 'nope' }, (value) => {
        throw new Error(`no such file or directory: /x/${value}`);
      }),
    ).toBe("Invalid parameters for entry point 'main': 'data': no such file or directory: /x/nope");
    expect(problems({ epochs: '1', note: 'x'.repeat(6001) })).toContain("'note' is 6001 characters long");
  });

  it('accepts float spellings Python accepts', () => {
    for (const alpha of ['1', '-0.5', '.5', '5.', '1E+3', 'inf', '-Infinity', 'nan']) {
      expect(resolveParameters(entry, { epochs: '1', alpha }).declared.alpha).toBe(alpha);
    }
  });
});
