import { describe, expect, it } from 'vitest';
import { resolveServerConfig } from '../config.js';
import { timeOrderedId } from './prediction-recorder.js';

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
});
