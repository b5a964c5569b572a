// End-to-end: the built `keel` CLI — `predictions list|export|feedback` through a running server,
// over records written into the server's store (SQLite and PostgreSQL) by a prediction recorder in
// this process, as a deployment's calls would be.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PredictionRecordInput } from '../packages/server/src/predictions/prediction-record.js';
import { PredictionRecorder } from '../packages/server/src/predictions/prediction-recorder.js';
import { PredictionStore } from '../packages/server/src/predictions/prediction-store.js';
import { createTestStore, type TestStore, testDialects } from '../packages/server/src/testing/test-stores.js';
import { type KeelServer, killAll, runKeel, startKeelServer } from './helpers/keel-process.js';

const dialects = await testDialects();
const now = Date.now();

function call(i: number): PredictionRecordInput {
  const failed = i % 4 === 3;
  return {
    requestId: `req-${i}`,
    deployment: i % 2 === 0 ? 'fraud' : 'churn',
    deploymentRevision: 3,
    modelName: i % 2 === 0 ? 'fraud' : 'churn',
    modelVersion: String(1 + (i % 3)),
    arm: i % 5 === 0 ? 'canary' : 'stable',
    caller: i < 6 ? 'alice' : 'bob',
    protocol: 'mlflow',
    // Ten minutes apart, the newest a minute ago; the oldest (req-0) 2.5 hours ago.
    receivedAt: now - 60_000 - (14 - i) * 600_000,
    completedAt: now - 60_000 - (14 - i) * 600_000 + 3.25,
    status: failed ? 503 : 200,
    ...(failed
      ? { errorCode: 'TEMPORARILY_UNAVAILABLE' }
      : { outputJson: JSON.stringify({ predictions: [i] }) }),
    inputJson: JSON.stringify({
      dataframe_split: { columns: ['amount', 'note'], data: [[i * 10, 'a, "quoted"']] },
    }),
    recording: { mode: 'full' },
  };
}

describe.each(dialects)('keel predictions (%s)', (dialect) => {
  let dir: string;
  let store: TestStore;
  let server: KeelServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-cli-predictions-'));
    store = await createTestStore(dialect);
    server = await startKeelServer([
      '--backend-store-uri',
      store.uri,
      '--artifacts-destination',
      join(dir, 'a'),
    ]);
    const recorder = new PredictionRecorder({
      store: new PredictionStore(store.store),
      spillDir: join(dir, 'spill'),
    });
    for (let i = 0; i < 15; i++) recorder.record(call(i));
    await recorder.close();
  });
  afterAll(async () => {
    await killAll();
    await store?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const keel = (...args: string[]) => runKeel([...args, '--tracking-uri', server.url]);

  it('lists the newest records as a table, filtered', async () => {
    const table = await keel('predictions', 'list', '--max-results', '3');
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^TIME\s+REQUEST ID\s+DEPLOYMENT\s+MODEL\s+ARM\s+CALLER\s+STATUS\s+LATENCY\s+LABEL$/,
    );
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(1, 7))).toEqual([
      ['req-14', 'fraud@3', 'fraud/3', 'stable', 'bob', '200'],
      ['req-13', 'churn@3', 'churn/2', 'stable', 'bob', '200'],
      ['req-12', 'fraud@3', 'fraud/1', 'stable', 'bob', '200'],
    ]);
    expect(lines[1]).toMatch(/\s3\.25ms$/);

    const failed = await keel('predictions', 'list', '--status', '503', '--deployment', 'churn', '--json');
    expect(failed.code).toBe(0);
    const records = JSON.parse(failed.stdout) as Record<string, unknown>[];
    expect(records.map((r) => r.request_id)).toEqual(['req-11', 'req-7', 'req-3']);
    expect(records[0]).toMatchObject({
      status: 503,
      error_code: 'TEMPORARILY_UNAVAILABLE',
      input: { dataframe_split: { columns: ['amount', 'note'], data: [[110, 'a, "quoted"']] } },
      recorded: 'full',
    });

    const version = await keel('predictions', 'list', '--model', 'fraud', '--version', '1', '--json');
    expect(JSON.parse(version.stdout).map((r: { request_id: string }) => r.request_id)).toEqual([
      'req-12',
      'req-6',
      'req-0',
    ]);
    const recent = await keel('predictions', 'list', '--since', '25m', '--caller', 'bob', '--json');
    expect(JSON.parse(recent.stdout).map((r: { request_id: string }) => r.request_id)).toEqual([
      'req-14',
      'req-13',
      'req-12',
    ]);
    const old = await keel('predictions', 'list', '--until', '2h', '--json');
    expect(JSON.parse(old.stdout).map((r: { request_id: string }) => r.request_id)).toEqual([
      'req-2',
      'req-1',
      'req-0',
    ]);

    const bad = await keel('predictions', 'list', '--since', 'yesterday');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Invalid --since 'yesterday'");
  });

  it('exports JSON lines to stdout and CSV to a file', async () => {
    const jsonl = await keel('predictions', 'export', '--deployment', 'fraud');
    expect(jsonl.stderr).toBe('');
    expect(jsonl.code).toBe(0);
    const lines = jsonl.stdout.trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line).request_id)).toEqual(
      [14, 12, 10, 8, 6, 4, 2, 0].map((i) => `req-${i}`),
    );

    const file = join(dir, 'out.csv');
    const csv = await keel(
      'predictions',
      'export',
      '--format',
      'csv',
      '--output',
      file,
      '--max-results',
      '2',
    );
    expect(csv.stderr).toBe('');
    expect(csv.stdout).toBe(`Exported prediction records to ${file}\n`);
    const text = readFileSync(file, 'utf8');
    const [header, ...rows] = text.trimEnd().split('\n');
    expect(header?.split(',').slice(0, 3)).toEqual(['record_id', 'request_id', 'deployment']);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain(',req-14,fraud,3,fraud,3,');
    expect(rows[0]).toContain(
      '"{""dataframe_split"":{""columns"":[""amount"",""note""],""data"":[[140,""a, \\""quoted\\""""]]}}"',
    );

    const badFormat = await keel('predictions', 'export', '--format', 'xml');
    expect(badFormat.code).not.toBe(0);
    expect(badFormat.stderr).toContain("'xml' is invalid");
  });

  it('sends feedback by request id', async () => {
    const sent = await keel('predictions', 'feedback', 'req-13', '{"churned": true}');
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toBe('Labelled req-13: {"churned":true}\n');
    const plain = await keel('predictions', 'feedback', 'req-12', 'spam');
    expect(plain.stdout).toBe('Labelled req-12: "spam"\n');

    const listed = await keel('predictions', 'list', '--max-results', '3', '--json');
    expect(JSON.parse(listed.stdout).map((r: { label?: unknown }) => r.label)).toEqual([
      undefined,
      { churned: true },
      'spam',
    ]);
    const table = await keel('predictions', 'list', '--max-results', '2');
    expect(table.stdout.trimEnd().split('\n')[2]).toMatch(/\{"churned":true\}$/);

    const unknown = await keel('predictions', 'feedback', 'no-such-request', '1');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      "error: No prediction with request id 'no-such-request' (RESOURCE_DOES_NOT_EXIST)\n",
    );
  });
});
