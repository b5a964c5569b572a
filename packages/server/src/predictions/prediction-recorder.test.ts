import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../audit/audit-log.js';
import { openStore, type StoreConnection } from '../store/database.js';
import type { DialectName } from '../store/dialect.js';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import {
  canonicalPayloadJson,
  inSample,
  type PredictionRecordInput,
  predictionRowFromLine,
  sha256,
  toPredictionLine,
  toPredictionRow,
} from './prediction-record.js';
import { PredictionRecorder, type PredictionRecorderOptions } from './prediction-recorder.js';
import { PredictionStore } from './prediction-store.js';
import { withPayloadHashes } from './prediction-wire.js';
import { SqliteInsertWorker } from './sqlite-insert-worker.js';

const dialects = await testDialects();
/** Each dialect through its store; SQLite also through the worker-thread writer `createServices` uses. */
const sinks: [DialectName, 'store' | 'worker'][] = dialects.flatMap(
  (dialect): [DialectName, 'store' | 'worker'][] =>
    dialect === 'sqlite'
      ? [
          ['sqlite', 'store'],
          ['sqlite', 'worker'],
        ]
      : [[dialect, 'store']],
);

/** One answered call; `i` makes the request id and the payload distinct. */
function call(i: number, overrides: Partial<PredictionRecordInput> = {}): PredictionRecordInput {
  const receivedAt = 1_700_000_000_000 + i;
  return {
    requestId: `req-${i}`,
    deployment: 'fraud',
    deploymentRevision: 2,
    modelName: 'fraud-model',
    modelVersion: '7',
    modelDigest: 'abc123',
    arm: 'route-0',
    caller: 'alice',
    protocol: 'mlflow',
    receivedAt,
    completedAt: receivedAt + 1.25,
    status: 200,
    inputJson: JSON.stringify({ inputs: [[i, 2, 3]] }),
    outputJson: JSON.stringify({ predictions: [i * 0.5] }),
    recording: { mode: 'full' },
    ...overrides,
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

/** Takes the table away (or gives it back): every insert fails meanwhile, on both dialects. */
async function setTableOnline(store: StoreConnection, online: boolean): Promise<void> {
  const [from, to] = online
    ? ['prediction_records_offline', 'prediction_records']
    : ['prediction_records', 'prediction_records_offline'];
  await sql.raw(`alter table ${from} rename to ${to}`).execute(store.db);
}

describe('record lines', () => {
  it('carry a row as an array of its values, read back to the same row', () => {
    const input = call(1, { inputJson: '{"a":"\\n\\"",\n"b":[NaN]}', outputJson: '[1]' });
    const row = toPredictionRow(input, 'r1');
    const line = toPredictionLine(input, 'r1');
    expect(line.startsWith('[1,"r1","req-1",')).toBe(true);
    expect(line).not.toContain('\n');
    expect(predictionRowFromLine(line)).toEqual(row);
  });

  it('read back to what toPredictionRow makes, in every recording mode', () => {
    const calls: PredictionRecordInput[] = [
      call(1),
      call(2, { recording: { mode: 'hash' } }),
      call(3, { recording: { mode: 'sample', sampleRate: 0.5 } }),
      call(4, { status: 400, errorCode: 'BAD_REQUEST', errorMessage: 'no', outputJson: undefined }),
    ];
    for (const input of calls) {
      expect(predictionRowFromLine(toPredictionLine(input, 'r'))).toEqual(toPredictionRow(input, 'r'));
    }
  });

  it('read the object lines of earlier versions, filling absent columns, and refuse unknown layouts', () => {
    const row = predictionRowFromLine('{"record_id":"r1","request_id":"q1","deployment":"d"}');
    expect(row).toMatchObject({ record_id: 'r1', request_id: 'q1', deployment: 'd', status: 0, input: null });
    expect(() => predictionRowFromLine('[2,"r1","q1"]')).toThrow(/layout/);
    expect(() => predictionRowFromLine('{"record_id":"r1"}')).toThrow(/not a prediction record/);
  });
});

describe('toPredictionRow: recording modes', () => {
  it('keeps the payloads exactly as sent in full mode; their sha256 is computed when read', () => {
    const sent = '{"b": 1,\n "a": [1, NaN]}';
    const row = toPredictionRow(call(1, { inputJson: sent, outputJson: '{"z":"x","y":{"q":2}}' }), 'r1');
    expect(row).toMatchObject({
      record_id: 'r1',
      request_id: 'req-1',
      recorded: 'full',
      input: sent,
      output: '{"z":"x","y":{"q":2}}',
      input_hash: null,
      output_hash: null,
      received_at: 1_700_000_000_001,
      completed_at: 1_700_000_000_002,
      latency_ms: 1.25,
      label: null,
    });
    expect(withPayloadHashes(row)).toMatchObject({
      input_hash: sha256(sent),
      output_hash: sha256('{"z":"x","y":{"q":2}}'),
    });
  });

  it('keeps only hashes in hash mode, and no output hash for an error answer', () => {
    const row = toPredictionRow(
      call(2, {
        recording: { mode: 'hash' },
        outputJson: undefined,
        status: 503,
        errorCode: 'TEMPORARILY_UNAVAILABLE',
        errorMessage: 'overloaded',
      }),
      'r2',
    );
    expect(row).toMatchObject({
      recorded: 'hash',
      input: null,
      output: null,
      input_hash: sha256(call(2).inputJson),
      output_hash: null,
      status: 503,
      error_code: 'TEMPORARILY_UNAVAILABLE',
    });
  });

  it('keeps the payloads of a deterministic sample of request ids in sample mode', () => {
    const rows = Array.from({ length: 400 }, (_, i) =>
      toPredictionRow(call(i, { recording: { mode: 'sample', sampleRate: 0.25 } }), `r${i}`),
    );
    for (const row of rows) {
      const kept = inSample(row.request_id, 0.25);
      expect(row.recorded).toBe(kept ? 'sample' : 'hash');
      expect(row.input !== null).toBe(kept);
      // A hash stands in for each payload not kept; a kept one is hashed when read.
      expect(row.input_hash === null).toBe(kept);
      expect(withPayloadHashes(row).input_hash).toMatch(/^[0-9a-f]{64}$/);
    }
    const sampled = rows.filter((r) => r.recorded === 'sample').length;
    expect(sampled).toBeGreaterThan(60);
    expect(sampled).toBeLessThan(140);
    // The shadow call of a request is kept or hashed with it.
    const shadow = toPredictionRow(
      call(7, { arm: 'shadow', recording: { mode: 'sample', sampleRate: 0.25 } }),
      's',
    );
    expect(shadow.recorded).toBe(rows[7]?.recorded);
  });

  it('records an oversized payload by its hash only, and drops NUL characters from text fields', () => {
    const big = JSON.stringify({ x: 'y'.repeat(200) });
    const row = toPredictionRow(call(3, { inputJson: big, caller: 'a\u0000b' }), 'r3', 100);
    expect(row).toMatchObject({ recorded: 'hash', input: null, output: null, caller: 'ab' });
    expect(row.input_hash).toBe(sha256(big));
  });

  it("writes the audit log's canonical JSON", () => {
    const value = {
      z: [1, 2.5, -0, 1e21, 'a"b', null, true, [3, { k: 'v', a: [] }]],
      a: { y: null, x: undefined, w: '\u2028\u0000' },
      m: [],
    };
    expect(canonicalPayloadJson(value)).toBe(canonicalJson(value));
  });
});

describe.each(sinks)('PredictionRecorder (%s, through its %s)', (dialect, sink) => {
  let test: TestStore;
  let store: PredictionStore;
  let spillDir: string;
  const recorders: PredictionRecorder[] = [];

  const recorderOf = (options: Partial<PredictionRecorderOptions> = {}): PredictionRecorder => {
    const recorder = new PredictionRecorder({
      store: sink === 'worker' ? new SqliteInsertWorker({ path: test.store.sqlite?.name ?? '' }) : store,
      spillDir,
      flushIntervalMs: 2,
      retryBaseMs: 5,
      retryMaxMs: 40,
      ...options,
    });
    recorders.push(recorder);
    return recorder;
  };
  const files = () => (existsSync(spillDir) ? readdirSync(spillDir).sort() : []);
  /** Spill files (the live recorders' journals aside: see {@link journalLines}). */
  const spillFiles = () => files().filter((name) => !name.startsWith('journal-'));
  /** Lines in the journal files of live recorders. */
  const journalLines = () =>
    files()
      .filter((name) => name.startsWith('journal-'))
      .flatMap((name) => readFileSync(join(spillDir, name), 'utf8').split('\n'))
      .filter((line) => line !== '');

  beforeAll(async () => {
    test = await createTestStore(dialect);
    store = new PredictionStore(test.store);
  });
  beforeEach(async () => {
    await Promise.all(recorders.splice(0).map((r) => r.close()));
    await test.store.db.deleteFrom('prediction_records').execute();
    spillDir = mkdtempSync(join(tmpdir(), 'keel-spill-test-'));
  });
  afterAll(async () => {
    await Promise.all(recorders.map((r) => r.close()));
    await test?.dispose();
  });

  it('stores one row per record() call from many concurrent callers (20 000 records)', async () => {
    const recorder = recorderOf();
    const callers = Array.from({ length: 40 }, async (_, c) => {
      for (let i = 0; i < 500; i++) {
        recorder.record(call(c * 500 + i));
        if (i % 7 === 0) await nextTurn();
      }
    });
    await Promise.all(callers);
    await recorder.flush();
    expect(await store.count()).toBe(20_000);
    expect(recorder.stats()).toMatchObject({ recorded: 20_000, stored: 20_000, dropped: 0, buffered: 0 });
    const [row] = await store.search({}, undefined, 1);
    expect(row).toMatchObject({
      request_id: 'req-19999',
      deployment: 'fraud',
      model_version: '7',
      status: 200,
    });
  });

  it('stores each record with its own deployment, arm, model, caller and mode when one batch mixes them', async () => {
    const variants: Partial<PredictionRecordInput>[] = [
      {},
      { arm: 'route-1', modelVersion: '8', modelDigest: 'def456' },
      { deployment: 'churn', deploymentRevision: 5, modelName: 'churn-model', caller: 'bob' },
      { recording: { mode: 'hash' }, protocol: 'v2' },
      {
        status: 503,
        errorCode: 'TEMPORARILY_UNAVAILABLE',
        errorMessage: 'queue full',
        outputJson: undefined,
      },
      { modelDigest: undefined, caller: 'anonymous' },
    ];
    // Runs of 1 to 4 calls alike, so runs of shared columns start and end anywhere in a batch.
    const inputs = Array.from({ length: 600 }, (_, i) =>
      call(i, variants[Math.floor(i / (1 + (i % 4))) % variants.length]),
    );
    const recorder = recorderOf({ flushIntervalMs: 50 });
    for (const input of inputs) recorder.record(input);
    await recorder.flush();
    const stored = new Map((await store.search({}, undefined, 1000)).map((row) => [row.request_id, row]));
    expect(stored.size).toBe(inputs.length);
    for (const input of inputs) {
      const row = stored.get(input.requestId);
      expect(row).toEqual(toPredictionRow(input, row?.record_id ?? ''));
    }
  });

  it('inserts array lines and the object lines of earlier versions mixed in one batch', async () => {
    const sinkStore =
      sink === 'worker' ? new SqliteInsertWorker({ path: test.store.sqlite?.name ?? '' }) : store;
    const inputs = Array.from({ length: 9 }, (_, i) => call(i, i % 3 === 0 ? { arm: 'route-1' } : {}));
    const lines = inputs.map((input, i) => {
      const id = `record-${i}`;
      return i % 2 === 0 ? toPredictionLine(input, id) : JSON.stringify(toPredictionRow(input, id));
    });
    try {
      expect(await sinkStore.insertLines(lines)).toBe(9);
      expect(await sinkStore.insertLines(lines)).toBe(0);
    } finally {
      if (sinkStore instanceof SqliteInsertWorker) await sinkStore.close();
    }
    const rows = await store.search({}, undefined, 100);
    expect(rows.map((row) => row.record_id).sort()).toEqual(inputs.map((_, i) => `record-${i}`).sort());
    for (const row of rows) {
      expect(row).toEqual(
        toPredictionRow(inputs[Number(row.record_id.slice(7))] as PredictionRecordInput, row.record_id),
      );
    }
  });

  it('spills what the buffer cannot hold and drains it back into the store', async () => {
    const recorder = recorderOf({ maxBufferedRecords: 300, batchSize: 100 });
    for (let i = 0; i < 20_000; i++) recorder.record(call(i));
    await recorder.flush();
    expect(await store.count()).toBe(20_000);
    const stats = recorder.stats();
    expect(stats.spilled).toBeGreaterThan(10_000);
    expect(stats).toMatchObject({ recorded: 20_000, stored: 20_000, dropped: 0 });
    expect(spillFiles()).toEqual([]);
  });

  it('keeps every record while the store rejects writes, and catches up after', async () => {
    const recorder = recorderOf({ batchSize: 200 });
    for (let i = 0; i < 2000; i++) recorder.record(call(i));
    await recorder.flush();
    expect(await store.count()).toBe(2000);

    await setTableOnline(test.store, false);
    try {
      for (let i = 2000; i < 5000; i++) {
        recorder.record(call(i));
        if (i % 100 === 0) await nextTurn();
      }
      await waitFor(() => recorder.stats().spilled >= 1000, 'records to spill');
      expect(spillFiles().length).toBeGreaterThan(0);
      for (let i = 5000; i < 6000; i++) recorder.record(call(i));
    } finally {
      await setTableOnline(test.store, true);
    }
    for (let i = 6000; i < 7000; i++) recorder.record(call(i));
    await recorder.flush();
    expect(await store.count()).toBe(7000);
    expect(recorder.stats()).toMatchObject({ recorded: 7000, dropped: 0 });
    expect(spillFiles()).toEqual([]);
  });

  it('flush() waits for records recorded before it, through an outage', async () => {
    const recorder = recorderOf();
    await setTableOnline(test.store, false);
    for (let i = 0; i < 100; i++) recorder.record(call(i));
    let flushed = false;
    const flushing = recorder.flush().then(() => {
      flushed = true;
    });
    await waitFor(() => recorder.stats().spilled === 100, 'the batch to spill');
    await new Promise((r) => setTimeout(r, 50));
    expect(flushed).toBe(false);
    await setTableOnline(test.store, true);
    await flushing;
    expect(await store.count()).toBe(100);
  });

  it('keeps records across a restart: closed without a store, replayed by the next recorder', async () => {
    const connection = openStore(test.uri);
    const first = recorderOf({ store: new PredictionStore(connection), closeTimeoutMs: 30_000 });
    for (let i = 0; i < 500; i++) first.record(call(i));
    await first.flush();
    expect(await store.count()).toBe(500);

    await connection.close(); // the store goes away under the recorder
    for (let i = 500; i < 2000; i++) {
      first.record(call(i));
      if (i % 250 === 0) await nextTurn();
    }
    await first.close();
    first.record(call(2000)); // after close: straight to a released spill file
    expect(first.stats()).toMatchObject({ recorded: 2001, dropped: 0 });
    const left = spillFiles();
    expect(left.length).toBeGreaterThan(0);
    for (const name of left) expect(name).toMatch(/^released-[0-9a-f]+-\d+\.jsonl$/);
    const copy = left.map((name) => readFileSync(join(spillDir, name), 'utf8')).join('');
    expect(copy.trimEnd().split('\n')).toHaveLength(1501);
    expect(await store.count()).toBe(500);

    const reopened = openStore(test.uri);
    try {
      const second = recorderOf({ store: new PredictionStore(reopened) });
      second.start();
      await second.flush();
      expect(await store.count()).toBe(2001);
      expect(second.stats()).toMatchObject({ recorded: 0, stored: 1501 });
      expect(spillFiles()).toEqual([]);
      await second.close();

      // Replaying the same records again stores nothing twice.
      writeFileSync(join(spillDir, 'released-0123abcd-1.jsonl'), copy);
      const third = recorderOf({ store: new PredictionStore(reopened) });
      await third.flush();
      expect(third.stats()).toMatchObject({ stored: 0, dropped: 0 });
      expect(await store.count()).toBe(2001);
      expect(spillFiles()).toEqual([]);
      await third.close();
    } finally {
      await reopened.close();
    }
  });

  it("replays the files of a dead process, skipping a line cut short, and leaves a live process's files alone", async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    // Spill files written by an earlier version hold rows as JSON objects: they replay too.
    const rows = Array.from({ length: 10 }, (_, i) =>
      i % 2 === 0
        ? JSON.stringify(toPredictionRow(call(i), randomUUID()))
        : toPredictionLine(call(i), randomUUID()),
    );
    mkdirSync(spillDir, { recursive: true });
    writeFileSync(
      join(spillDir, `predictions-${dead}-1700000000000-a1b2c3-1.jsonl`),
      `${rows.join('\n')}\n{"record_id":"cut-sh`,
    );
    const live = `predictions-${process.ppid}-1700000000000-d4e5f6-1.jsonl`;
    writeFileSync(join(spillDir, live), `${rows[0]}\n`);

    const recorder = recorderOf();
    recorder.start();
    await recorder.flush();
    expect(await store.count()).toBe(10);
    expect(recorder.stats()).toMatchObject({ stored: 10, dropped: 1 });
    expect(spillFiles()).toEqual([live]);
    rmSync(join(spillDir, live));
  });

  it('journals each record before anything queued after record() runs, and forgets it once stored', async () => {
    const recorder = recorderOf();
    for (let i = 0; i < 100; i++) recorder.record(call(i));
    // On disk before any reaction queued after the calls (a reply that follows them): a process
    // killed once they are answered leaves all 100 behind.
    const journaled = await Promise.resolve().then(() => journalLines().map(predictionRowFromLine));
    expect(journaled.map((row) => row.request_id)).toEqual(Array.from({ length: 100 }, (_, i) => `req-${i}`));
    await recorder.flush();
    expect(await store.count()).toBe(100);
    expect(journalLines()).toEqual([]);
    await recorder.close();
    expect(files()).toEqual([]);

    const unjournaled = recorderOf({ journal: false });
    unjournaled.record(call(100));
    expect(files()).toEqual([]);
    await unjournaled.close();
  });

  it('starts a new journal file every 10 000 records and deletes full ones once stored', async () => {
    const recorder = recorderOf({ batchSize: 1000 });
    for (let i = 0; i < 25_000; i++) recorder.record(call(i));
    await Promise.resolve();
    expect(files().filter((name) => name.startsWith('journal-'))).toHaveLength(3);
    expect(journalLines()).toHaveLength(25_000);
    await recorder.flush();
    expect(await store.count()).toBe(25_000);
    expect(files().filter((name) => name.startsWith('journal-')).length).toBeLessThanOrEqual(1);
    expect(journalLines()).toEqual([]);
  });

  it('replays the journal a killed process left: records it held only in memory are stored', async () => {
    // A store that never answers: every record stays in memory (buffered or in flight).
    const stuck = recorderOf({
      store: { insertLines: () => new Promise<number>(() => undefined) },
      closeTimeoutMs: 20,
    });
    for (let i = 0; i < 300; i++) stuck.record(call(i));
    await new Promise((r) => setTimeout(r, 30));
    expect(stuck.stats()).toMatchObject({ recorded: 300, stored: 0, spilled: 0 });
    // What a SIGKILL leaves: the journal, under the name of a process that is gone.
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    const [journal] = files().filter((name) => name.startsWith('journal-'));
    const text = readFileSync(join(spillDir, journal as string), 'utf8');
    expect(text.trimEnd().split('\n')).toHaveLength(300);
    writeFileSync(join(spillDir, `journal-${dead}-1700000000000-0a1b2c-1.jsonl`), text);
    // …and a spill file holding some of the same records (a buffer spilled before the kill).
    const spilled = text.split('\n').slice(0, 50).join('\n');
    writeFileSync(join(spillDir, `predictions-${dead}-1700000000000-3d4e5f-1.jsonl`), `${spilled}\n`);

    const next = recorderOf();
    next.start();
    await next.flush();
    expect(await store.count()).toBe(300);
    expect(next.stats()).toMatchObject({ stored: 300, dropped: 0 });
    const stored = await test.store.db.selectFrom('prediction_records').select('request_id').execute();
    expect(new Set(stored.map((row) => row.request_id))).toEqual(
      new Set(Array.from({ length: 300 }, (_, i) => `req-${i}`)),
    );
    // The live recorder's own journal is not taken over.
    expect(spillFiles()).toEqual([]);
    expect(journalLines()).toHaveLength(300);
  });

  it('close() with the store gone returns, leaving everything in released spill files', async () => {
    const connection = openStore(test.uri);
    const recorder = recorderOf({ store: new PredictionStore(connection) });
    // Connected once: closing a Kysely that never connected leaves it able to connect again.
    await connection.db.selectFrom('prediction_records').select('record_id').limit(1).execute();
    await connection.close();
    for (let i = 0; i < 3000; i++) recorder.record(call(i));
    await recorder.close();
    const lines = spillFiles()
      .map((name) => readFileSync(join(spillDir, name), 'utf8'))
      .join('')
      .trimEnd()
      .split('\n');
    expect(new Set(lines.map((line) => predictionRowFromLine(line).request_id)).size).toBe(3000);
    expect(recorder.stats()).toMatchObject({ recorded: 3000, stored: 0, dropped: 0 });
  });
});
