import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { ChangeRecorder, systemActor } from '../changes/change.js';
import { createTestStore, insertTestRun, type TestStore, testDialects } from '../testing/test-stores.js';
import type { BatchWriter, MetricPoint, RunBatch } from './batch-writer.js';
import { createBatchWriter } from './batch-writer-factory.js';

const dialects = await testDialects();

describe.each(dialects)('BatchWriter on %s', (dialect) => {
  let test: TestStore;
  let writer: BatchWriter;
  let runCount = 0;

  beforeAll(async () => {
    test = await createTestStore(dialect);
    const audit = new AuditLog({ db: test.store.db, dialect });
    writer = createBatchWriter(test.store, { recorder: new ChangeRecorder([audit]), audit });
  });
  afterAll(async () => {
    await test.dispose();
  });

  const writeBatch = (b: RunBatch) => writer.write(b, systemActor('batch-test'));

  async function newRun(): Promise<string> {
    runCount += 1;
    return insertTestRun(test.store, `run${runCount}`);
  }

  function batch(runId: string, parts: Partial<Omit<RunBatch, 'runId'>>): RunBatch {
    return { runId, metrics: [], params: [], tags: [], ...parts };
  }

  function point(key: string, step: number, timestamp: number, value: number): MetricPoint {
    return { key, step, timestamp, value };
  }

  async function snapshot(runId: string) {
    const db = test.store.db;
    const [params, tags, metrics, latest] = await Promise.all([
      db.selectFrom('params').select(['key', 'value']).where('run_uuid', '=', runId).orderBy('key').execute(),
      db.selectFrom('tags').select(['key', 'value']).where('run_uuid', '=', runId).orderBy('key').execute(),
      db
        .selectFrom('metrics')
        .select(['key', 'step', 'timestamp', 'value', 'is_nan'])
        .where('run_uuid', '=', runId)
        .orderBy('key')
        .orderBy('step')
        .orderBy('timestamp')
        .orderBy('value')
        .orderBy('is_nan')
        .execute(),
      db
        .selectFrom('latest_metrics')
        .select(['key', 'step', 'timestamp', 'value', 'is_nan'])
        .where('run_uuid', '=', runId)
        .orderBy('key')
        .execute(),
    ]);
    return { params, tags, metrics, latest };
  }

  it('writes params, tags, metric history and latest metrics of one batch', async () => {
    const runId = await newRun();
    const result = await writeBatch(
      batch(runId, {
        params: [
          { key: 'lr', value: '0.1' },
          { key: 'layers', value: '3' },
        ],
        tags: [{ key: 'team', value: 'vision' }],
        metrics: [point('loss', 0, 100, 0.9), point('loss', 1, 200, 0.5), point('acc', 0, 100, 0.7)],
      }),
    );
    expect(result).toEqual({ conflicts: [] });
    expect(await snapshot(runId)).toEqual({
      params: [
        { key: 'layers', value: '3' },
        { key: 'lr', value: '0.1' },
      ],
      tags: [{ key: 'team', value: 'vision' }],
      metrics: [
        { key: 'acc', step: 0, timestamp: 100, value: 0.7, is_nan: 0 },
        { key: 'loss', step: 0, timestamp: 100, value: 0.9, is_nan: 0 },
        { key: 'loss', step: 1, timestamp: 200, value: 0.5, is_nan: 0 },
      ],
      latest: [
        { key: 'acc', step: 0, timestamp: 100, value: 0.7, is_nan: 0 },
        { key: 'loss', step: 1, timestamp: 200, value: 0.5, is_nan: 0 },
      ],
    });
  });

  it('accepts a param logged again with the same value', async () => {
    const runId = await newRun();
    await writeBatch(batch(runId, { params: [{ key: 'lr', value: '0.1' }] }));
    const again = await writeBatch(
      batch(runId, {
        params: [
          { key: 'lr', value: '0.1' },
          { key: 'lr', value: '0.1' },
          { key: 'seed', value: '7' },
        ],
      }),
    );
    expect(again).toEqual({ conflicts: [] });
    expect((await snapshot(runId)).params).toEqual([
      { key: 'lr', value: '0.1' },
      { key: 'seed', value: '7' },
    ]);
  });

  it('rejects a whole batch that changes a stored param, writing nothing', async () => {
    const runId = await newRun();
    await writeBatch(
      batch(runId, {
        params: [{ key: 'lr', value: '0.1' }],
        tags: [{ key: 'team', value: 'vision' }],
        metrics: [point('loss', 0, 100, 0.9)],
      }),
    );
    const before = await snapshot(runId);
    const result = await writeBatch(
      batch(runId, {
        params: [
          { key: 'epochs', value: '10' },
          { key: 'lr', value: '0.2' },
        ],
        tags: [
          { key: 'team', value: 'nlp' },
          { key: 'new', value: 'x' },
        ],
        metrics: [point('loss', 5, 500, 0.1), point('acc', 0, 100, 0.3)],
      }),
    );
    expect(result).toEqual({ conflicts: [{ key: 'lr', oldValue: '0.1', newValue: '0.2' }] });
    expect(await snapshot(runId)).toEqual(before);
  });

  it('rejects a batch that gives one param two values, writing nothing', async () => {
    const runId = await newRun();
    const result = await writeBatch(
      batch(runId, {
        params: [
          { key: 'lr', value: '0.1' },
          { key: 'lr', value: '0.3' },
        ],
        tags: [{ key: 'team', value: 'vision' }],
        metrics: [point('loss', 0, 100, 0.9)],
      }),
    );
    expect(result).toEqual({ conflicts: [{ key: 'lr', oldValue: '0.1', newValue: '0.3' }] });
    expect(await snapshot(runId)).toEqual({ params: [], tags: [], metrics: [], latest: [] });
  });

  it('upserts tags, the last value in a batch winning', async () => {
    const runId = await newRun();
    await writeBatch(batch(runId, { tags: [{ key: 'stage', value: 'one' }] }));
    await writeBatch(
      batch(runId, {
        tags: [
          { key: 'stage', value: 'two' },
          { key: 'note', value: 'a' },
          { key: 'stage', value: 'three' },
        ],
      }),
    );
    expect((await snapshot(runId)).tags).toEqual([
      { key: 'note', value: 'a' },
      { key: 'stage', value: 'three' },
    ]);
  });

  it('stores an identical point once, within a batch and across batches', async () => {
    const runId = await newRun();
    await writeBatch(batch(runId, { metrics: [point('loss', 1, 100, 0.5), point('loss', 1, 100, 0.5)] }));
    await writeBatch(
      batch(runId, {
        metrics: [point('loss', 1, 100, 0.5), point('loss', 1, 100, 0.25), point('loss', 1, 101, 0.5)],
      }),
    );
    expect((await snapshot(runId)).metrics).toEqual([
      { key: 'loss', step: 1, timestamp: 100, value: 0.25, is_nan: 0 },
      { key: 'loss', step: 1, timestamp: 100, value: 0.5, is_nan: 0 },
      { key: 'loss', step: 1, timestamp: 101, value: 0.5, is_nan: 0 },
    ]);
  });

  it('keeps the greatest (step, timestamp, value) as latest, even when an older step arrives later', async () => {
    const runId = await newRun();
    const latestOf = async (key: string) =>
      (await snapshot(runId)).latest.find((row) => row.key === key) ?? { missing: key };

    // Within one batch the greatest point wins wherever it sits.
    await writeBatch(
      batch(runId, { metrics: [point('m', 3, 300, 1), point('m', 5, 100, 2), point('m', 4, 900, 3)] }),
    );
    expect(await latestOf('m')).toEqual({ key: 'm', step: 5, timestamp: 100, value: 2, is_nan: 0 });

    // An older step logged later (a backfill) does not replace it.
    await writeBatch(batch(runId, { metrics: [point('m', 2, 10_000, 99)] }));
    expect(await latestOf('m')).toEqual({ key: 'm', step: 5, timestamp: 100, value: 2, is_nan: 0 });

    // Same step: the later timestamp wins, then the larger value.
    await writeBatch(batch(runId, { metrics: [point('m', 5, 200, -1)] }));
    expect(await latestOf('m')).toEqual({ key: 'm', step: 5, timestamp: 200, value: -1, is_nan: 0 });
    await writeBatch(batch(runId, { metrics: [point('m', 5, 200, -2)] }));
    expect(await latestOf('m')).toEqual({ key: 'm', step: 5, timestamp: 200, value: -1, is_nan: 0 });
    await writeBatch(batch(runId, { metrics: [point('m', 5, 200, 7)] }));
    expect(await latestOf('m')).toEqual({ key: 'm', step: 5, timestamp: 200, value: 7, is_nan: 0 });

    // A greater step wins even with an earlier timestamp.
    await writeBatch(batch(runId, { metrics: [point('m', 6, 1, 0)] }));
    expect(await latestOf('m')).toEqual({ key: 'm', step: 6, timestamp: 1, value: 0, is_nan: 0 });
  });

  it('ranks NaN below every number when step and timestamp tie', async () => {
    const runId = await newRun();
    await writeBatch(batch(runId, { metrics: [point('a', 1, 10, Number.NaN)] }));
    expect((await snapshot(runId)).latest).toEqual([
      { key: 'a', step: 1, timestamp: 10, value: null, is_nan: 1 },
    ]);

    // A number replaces a stored NaN at the same step and time…
    await writeBatch(batch(runId, { metrics: [point('a', 1, 10, Number.NEGATIVE_INFINITY)] }));
    expect((await snapshot(runId)).latest).toEqual([
      { key: 'a', step: 1, timestamp: 10, value: Number.NEGATIVE_INFINITY, is_nan: 0 },
    ]);
    // …and a NaN does not replace a number.
    await writeBatch(batch(runId, { metrics: [point('a', 1, 10, Number.NaN)] }));
    expect((await snapshot(runId)).latest).toEqual([
      { key: 'a', step: 1, timestamp: 10, value: Number.NEGATIVE_INFINITY, is_nan: 0 },
    ]);
    // Inside one batch too, whichever comes first.
    await writeBatch(batch(runId, { metrics: [point('b', 0, 0, 3), point('b', 0, 0, Number.NaN)] }));
    await writeBatch(batch(runId, { metrics: [point('c', 0, 0, Number.NaN), point('c', 0, 0, 3)] }));
    const latest = (await snapshot(runId)).latest;
    expect(latest.filter((row) => row.key !== 'a')).toEqual([
      { key: 'b', step: 0, timestamp: 0, value: 3, is_nan: 0 },
      { key: 'c', step: 0, timestamp: 0, value: 3, is_nan: 0 },
    ]);
    // A later step wins even when its value is NaN.
    await writeBatch(batch(runId, { metrics: [point('b', 1, 0, Number.NaN)] }));
    expect((await snapshot(runId)).latest.find((row) => row.key === 'b')).toEqual({
      key: 'b',
      step: 1,
      timestamp: 0,
      value: null,
      is_nan: 1,
    });
  });

  it('round-trips NaN and ±Infinity in the history', async () => {
    const runId = await newRun();
    await writeBatch(
      batch(runId, {
        metrics: [
          point('x', 0, 1, Number.NaN),
          point('x', 1, 1, Number.POSITIVE_INFINITY),
          point('x', 2, 1, Number.NEGATIVE_INFINITY),
          point('x', 3, 1, 0),
          point('x', 3, 1, Number.NaN),
          point('x', 4, 1, Number.MAX_VALUE),
          point('x', 5, 1, -Number.MIN_VALUE),
        ],
      }),
    );
    expect((await snapshot(runId)).metrics).toEqual([
      { key: 'x', step: 0, timestamp: 1, value: 0, is_nan: 1 },
      { key: 'x', step: 1, timestamp: 1, value: Number.POSITIVE_INFINITY, is_nan: 0 },
      { key: 'x', step: 2, timestamp: 1, value: Number.NEGATIVE_INFINITY, is_nan: 0 },
      { key: 'x', step: 3, timestamp: 1, value: 0, is_nan: 0 },
      { key: 'x', step: 3, timestamp: 1, value: 0, is_nan: 1 },
      { key: 'x', step: 4, timestamp: 1, value: Number.MAX_VALUE, is_nan: 0 },
      { key: 'x', step: 5, timestamp: 1, value: -Number.MIN_VALUE, is_nan: 0 },
    ]);
    expect((await snapshot(runId)).latest).toEqual([
      { key: 'x', step: 5, timestamp: 1, value: -Number.MIN_VALUE, is_nan: 0 },
    ]);
    await writeBatch(batch(runId, { metrics: [point('y', 9, 1, Number.POSITIVE_INFINITY)] }));
    expect((await snapshot(runId)).latest.find((row) => row.key === 'y')).toEqual({
      key: 'y',
      step: 9,
      timestamp: 1,
      value: Number.POSITIVE_INFINITY,
      is_nan: 0,
    });
  });

  it('keeps epoch-millisecond timestamps and large steps exact', async () => {
    const runId = await newRun();
    const timestamp = 1_767_225_600_123;
    const step = 2 ** 40 + 1;
    await writeBatch(batch(runId, { metrics: [point('t', step, timestamp, 1)] }));
    expect((await snapshot(runId)).metrics).toEqual([{ key: 't', step, timestamp, value: 1, is_nan: 0 }]);
  });

  it('writes every point of a batch larger than one insert statement', async () => {
    const runId = await newRun();
    const metrics = Array.from({ length: 12_345 }, (_, i) => point(`k${i % 7}`, i, 1000 + i, i / 2));
    expect(await writeBatch(batch(runId, { metrics }))).toEqual({ conflicts: [] });
    const { metrics: stored, latest } = await snapshot(runId);
    expect(stored).toHaveLength(12_345);
    expect(new Set(stored.map((row) => `${row.key}/${row.step}`)).size).toBe(12_345);
    expect(latest).toHaveLength(7);
    expect(latest.find((row) => row.key === 'k0')).toEqual({
      key: 'k0',
      step: 12_341,
      timestamp: 13_341,
      value: 6170.5,
      is_nan: 0,
    });
  });

  it('rolls back everything when a statement fails mid-batch', async () => {
    const runId = await newRun();
    const bad = { key: null, step: 1, timestamp: 1, value: 1 } as unknown as MetricPoint;
    await expect(
      writeBatch(
        batch(runId, {
          params: [{ key: 'lr', value: '0.1' }],
          tags: [{ key: 'team', value: 'vision' }],
          metrics: [point('ok', 0, 0, 1), bad],
        }),
      ),
    ).rejects.toThrow();
    expect(await snapshot(runId)).toEqual({ params: [], tags: [], metrics: [], latest: [] });
  });

  it('rejects a batch for an unknown run without writing', async () => {
    await expect(
      writeBatch(batch('no-such-run', { tags: [{ key: 'a', value: 'b' }], metrics: [point('m', 0, 0, 1)] })),
    ).rejects.toThrow();
    expect(await snapshot('no-such-run')).toEqual({ params: [], tags: [], metrics: [], latest: [] });
  });

  it('does not write into, or get rolled back with, a transaction another caller has open', async () => {
    const runId = await newRun();
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inside = () => {};
    const started = new Promise<void>((resolve) => {
      inside = resolve;
    });
    const outer = test.store.db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('tags').values({ run_uuid: runId, key: 'outer', value: 'x' }).execute();
        inside();
        await gate;
        throw new Error('roll back the outer transaction');
      })
      .catch((error: unknown) => error);
    await started;
    const write = writeBatch(
      batch(runId, { tags: [{ key: 'batch', value: 'y' }], metrics: [point('m', 0, 0, 1)] }),
    );
    // Let the writer run as far as it can while the other transaction is still open.
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    expect(await outer).toBeInstanceOf(Error);
    expect(await write).toEqual({ conflicts: [] });
    const after = await snapshot(runId);
    expect(after.tags).toEqual([{ key: 'batch', value: 'y' }]);
    expect(after.metrics).toHaveLength(1);
  });
});
