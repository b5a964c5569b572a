import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Tests only: a real server whose recorder the test feeds (the SDK never depends on the server).
import { buildApp, createServices, LocalArtifactStore } from '../../server/src/index.js';
import { createTestStore, type TestStore } from '../../server/src/testing/test-stores.js';
import { InvalidParameterError, KeelClient, NotFoundError } from './index.js';

let store: TestStore;
let dir: string;
let app: Awaited<ReturnType<typeof buildApp>>;
let keel: KeelClient;
const T0 = 1_760_000_000_000;

beforeAll(async () => {
  store = await createTestStore('sqlite');
  dir = mkdtempSync(join(tmpdir(), 'keel-sdk-predictions-'));
  const services = createServices(store.store, { artifacts: new LocalArtifactStore(dir) });
  app = await buildApp({
    store: store.store,
    config: { artifactsDestination: pathToFileURL(dir).href, logLevel: 'silent' },
    logger: false,
    services,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  keel = new KeelClient({
    trackingUri: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    retries: 0,
  });
  for (let i = 0; i < 25; i++) {
    services.predictionRecorder.record({
      requestId: `r${i}`,
      deployment: i < 20 ? 'fraud' : 'churn',
      deploymentRevision: 1,
      modelName: 'fraud',
      modelVersion: String(1 + (i % 2)),
      arm: 'stable',
      caller: 'alice',
      protocol: 'v2',
      receivedAt: T0 + i,
      completedAt: T0 + i + 1,
      status: 200,
      inputJson: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [i] }] }),
      outputJson: JSON.stringify({ outputs: [{ name: 'y', datatype: 'FP32', shape: [1], data: [i * 2] }] }),
      recording: { mode: 'full' },
    });
  }
  await services.predictionRecorder.flush();
});

afterAll(async () => {
  await app?.close();
  await store?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('keel.predictions', () => {
  it('searches one page, newest first, and iterates every page', async () => {
    const page = await keel.predictions.search({ deployment: 'fraud', modelVersion: 2, maxResults: 3 });
    expect(page.predictions.map((p) => p.request_id)).toEqual(['r19', 'r17', 'r15']);
    expect(page.predictions[0]?.output).toEqual({
      outputs: [{ data: [38], datatype: 'FP32', name: 'y', shape: [1] }],
    });
    expect(page.nextPageToken).toEqual(expect.any(String));
    const all = [];
    for await (const p of keel.predictions.iterate({ deployment: 'fraud', maxResults: 7 }))
      all.push(p.request_id);
    expect(all).toEqual(Array.from({ length: 20 }, (_, k) => `r${19 - k}`));
    const window = await keel.predictions.search({ from: T0 + 3, to: T0 + 4 });
    expect(window.predictions.map((p) => p.request_id)).toEqual(['r4', 'r3']);
    expect(window.nextPageToken).toBeUndefined();
  });

  it('streams an export as JSON lines or CSV', async () => {
    let text = '';
    for await (const chunk of keel.predictions.export({ deployment: 'churn' })) text += chunk;
    expect(
      text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).request_id),
    ).toEqual(['r24', 'r23', 'r22', 'r21', 'r20']);
    let csv = '';
    for await (const chunk of keel.predictions.export({ format: 'csv', maxResults: 2 })) csv += chunk;
    const lines = csv.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]?.startsWith('record_id,request_id,deployment,')).toBe(true);
    expect(lines[1]).toContain(',r24,churn,');
  });

  it('sends feedback by request id, with typed errors', async () => {
    await keel.predictions.feedback('r5', { fraud: true });
    const [labelled] = (await keel.predictions.search({ from: T0 + 5, to: T0 + 5 })).predictions;
    expect(labelled).toMatchObject({ request_id: 'r5', label: { fraud: true }, label_actor: 'anonymous' });
    await expect(keel.predictions.feedback('nope', 1)).rejects.toBeInstanceOf(NotFoundError);
    await expect(keel.predictions.search({ maxResults: 5000 })).rejects.toBeInstanceOf(InvalidParameterError);
  });
});
