import { describe, expect, it } from 'vitest';
import { resolveServerConfig } from '../config.js';
import { timeOrderedId } from './prediction-record.js';

describe('resolveServerConfig: predictionSpillDir', () => {
  it('defaults to predictions-spill beside the SQLite file, else under the data folder', () => {
    expect(resolveServerConfig({}, {}, '/srv').predictionSpillDir).toBe('/srv/keel-data/predictions-spill');
    expect(
      resolveServerConfig({ backendStoreUri: 'sqlite:///data/k.db' }, {}, '/srv').predictionSpillDir,
    ).toBe('/srv/data/predictions-spill');
    expect(
      resolveServerConfig({ backendStoreUri: 'sqlite:////var/lib/keel/k.db' }, {}, '/srv').predictionSpillDir,
    ).toBe('/var/lib/keel/predictions-spill');
    expect(
      resolveServerConfig({ backendStoreUri: 'postgresql://keel@db/keel' }, {}, '/srv').predictionSpillDir,
    ).toBe('/srv/keel-data/predictions-spill');
  });

  it('takes KEEL_PREDICTION_SPILL_DIR, and an explicit value over it', () => {
    const env = { KEEL_PREDICTION_SPILL_DIR: 'spill' };
    expect(resolveServerConfig({}, env, '/srv').predictionSpillDir).toBe('/srv/spill');
    expect(resolveServerConfig({ predictionSpillDir: '/tmp/s' }, env, '/srv').predictionSpillDir).toBe(
      '/tmp/s',
    );
  });
});

describe('timeOrderedId', () => {
  it('is a UUID version 7 whose first 48 bits are the time, so ids sort by time', () => {
    const id = timeOrderedId(0x0190_1234_5678);
    expect(id).toMatch(/^01901234-5678-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(timeOrderedId(1_000) < timeOrderedId(2_000)).toBe(true);
  });

  it('is strictly increasing and unique within a process, also within one millisecond', () => {
    const at = Date.now() + 60_000;
    const ids = Array.from({ length: 10_000 }, () => timeOrderedId(at));
    expect(new Set(ids).size).toBe(10_000);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Past 4 096 ids in a millisecond the counter borrows the next one.
    expect(Number.parseInt((ids.at(-1) as string).replace('-', '').slice(0, 12), 16)).toBeGreaterThan(at);
    // A clock that steps back does not make ids go back.
    expect(timeOrderedId(at - 5_000) > (ids.at(-1) as string)).toBe(true);
  });
});
