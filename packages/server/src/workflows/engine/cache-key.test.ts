import type { TaskSpec } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { cacheKey } from './cache-key.js';

const fit: TaskSpec = {
  name: 'fit',
  kind: 'function',
  interface: {
    inputs: { train: { type: 'dataset' }, alpha: { type: 'float' } },
    outputs: { score: { type: 'float' } },
  },
  retries: 0,
  codeHash: 'a'.repeat(64),
};
const data = (path: string, sha256: string) => ({ $artifact: path, sha256, kind: 'file' as const });

describe('cacheKey', () => {
  it('counts file inputs by content, not by where they are stored', () => {
    const one = cacheKey(fit, { train: data('workflows/data/x', 'b'.repeat(64)), alpha: 0.1 });
    const sameContent = cacheKey(fit, {
      alpha: 0.1,
      train: data('runs/elsewhere/train.csv', 'b'.repeat(64)),
    });
    const otherContent = cacheKey(fit, { train: data('workflows/data/x', 'c'.repeat(64)), alpha: 0.1 });

    expect(one).toMatch(/^[0-9a-f]{64}$/);
    expect(sameContent).toBe(one);
    expect(otherContent).not.toBe(one);
  });

  it('changes with the code hash unless a cache version pins it', () => {
    const inputs = { alpha: 0.5 };
    const changedCode = { ...fit, codeHash: 'd'.repeat(64) };
    const pinned = { ...fit, cache: { version: '1' } };

    expect(cacheKey(changedCode, inputs)).not.toBe(cacheKey(fit, inputs));
    expect(cacheKey({ ...pinned, codeHash: 'd'.repeat(64) }, inputs)).toBe(cacheKey(pinned, inputs));
    expect(cacheKey({ ...pinned, cache: { version: '2' } }, inputs)).not.toBe(cacheKey(pinned, inputs));
  });

  it('changes with the interface and the task name', () => {
    const inputs = { alpha: 0.5 };
    const widened = {
      ...fit,
      interface: { ...fit.interface, outputs: { score: { type: 'json' as const } } },
    };

    expect(cacheKey(widened, inputs)).not.toBe(cacheKey(fit, inputs));
    expect(cacheKey({ ...fit, name: 'fit2' }, inputs)).not.toBe(cacheKey(fit, inputs));
  });

  it('replaces artifacts nested in arrays and records', () => {
    const nested = (path: string) => ({
      models: [data(path, 'e'.repeat(64))],
      cfg: { base: data(path, 'f'.repeat(64)) },
    });

    expect(cacheKey(fit, nested('p/1'))).toBe(cacheKey(fit, nested('p/2')));
  });
});
