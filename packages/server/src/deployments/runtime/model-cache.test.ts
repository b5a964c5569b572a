import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { KeelError, type ModelInput, serializeMLmodel } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportLinearModel } from '../../../../sdk/src/onnx/index.js';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import { LocalArtifactStore } from '../../artifacts/local/local-artifact-store.js';
import type { ModelOutput } from '../../models/model.js';
import { countingArtifactStore } from '../../testing/counting-artifact-store.js';
import { onnxModelFiles } from '../../testing/registered-models.js';
import { float32Tensors } from '../../testing/serving-fixtures.js';
import { ModelCache } from './model-cache.js';

/** `y = x0 + x1 + bias`: the bias tells versions apart. */
const linear = (bias: number) => exportLinearModel({ weights: [[1, 1]], bias: [bias], activation: 'none' });
const SIGNATURE = {
  inputs: float32Tensors({ input: [-1, 2] }),
  outputs: float32Tensors({ output: [-1, 1] }),
};
const input = (rows: number[][]): ModelInput => ({
  kind: 'tensors',
  tensors: { input: { data: rows.flat(), shape: [rows.length, 2] } },
});
const values = (output: ModelOutput) => {
  if (output.kind !== 'tensors') throw new Error('expected tensors');
  return output.tensors.output?.data.map((v) => Math.round(v * 1000) / 1000);
};

async function putFiles(store: ArtifactStore, prefix: string, files: Record<string, string | Uint8Array>) {
  for (const [path, content] of Object.entries(files)) {
    const bytes = Buffer.from(content);
    await store.put(`${prefix}/${path}`, Readable.from([bytes]), { size: bytes.length });
  }
}

/** The digest as `materializeModel` documents it, computed independently. */
function expectedDigest(files: Record<string, string | Uint8Array>): string {
  const hash = createHash('sha256');
  for (const path of Object.keys(files).sort()) {
    const bytes = Buffer.from(files[path] as string | Uint8Array);
    hash.update(`${path}\n${bytes.length}\n`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

async function rejection(promise: Promise<unknown>): Promise<KeelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeelError);
  return error as KeelError;
}

describe('ModelCache', () => {
  let root: string;
  let store: LocalArtifactStore;
  let cacheDir: string;
  const v1 = onnxModelFiles(linear(100), { signature: SIGNATURE });
  const nested: Record<string, string | Uint8Array> = {
    ...onnxModelFiles(linear(200)),
    'data/extra/notes.txt': 'hello',
    'data/a.bin': 'a',
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'keel-cache-test-'));
    store = new LocalArtifactStore(join(root, 'artifacts'));
    cacheDir = join(root, 'cache');
    await putFiles(store, 'registry/v1', v1);
    await putFiles(store, 'registry/nested', nested);
  });
  afterAll(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  it('copies the files into <cacheDir>/<name>/<version>-<digest> and loads them', async () => {
    const cache = new ModelCache({ artifacts: store, cacheDir });
    const held = await cache.acquire({
      name: 'nested model',
      version: '7',
      storageLocation: 'registry/nested',
    });
    const digest = expectedDigest(nested);
    expect(held.digest).toBe(digest);
    expect(held.dir).toBe(join(cacheDir, 'nested_model', `7-${digest}`));
    expect(await readFile(join(held.dir, 'data', 'extra', 'notes.txt'), 'utf8')).toBe('hello');
    expect(await readFile(join(held.dir, 'model.onnx'))).toEqual(
      Buffer.from(nested['model.onnx'] as Uint8Array),
    );
    // No partial folders are left behind; the manifest sits beside the folder.
    expect((await readdir(join(cacheDir, 'nested_model'))).sort()).toEqual([
      `7-${digest}`,
      `7-${digest}.manifest.json`,
    ]);
    expect(held.model.metadata.name).toBe('nested model');
    expect(values(await held.model.predict(input([[1, 2]])))).toEqual([203]);
    held.release();
    await cache.close();
  });

  it('loads a version once for concurrent users and shares the model', async () => {
    const cache = new ModelCache({ artifacts: store, cacheDir, idleEvictMs: 60_000 });
    const ref = { name: 'fraud', version: '1', storageLocation: 'registry/v1' };
    const held = await Promise.all([cache.acquire(ref), cache.acquire(ref), cache.acquire(ref)]);
    expect(new Set(held.map((h) => h.model)).size).toBe(1);
    expect(cache.loaded()).toEqual([
      { name: 'fraud', version: '1', digest: expectedDigest(v1), workers: undefined, users: 3 },
    ]);
    // Another worker count is another load.
    const twoWorkers = await cache.acquire({ ...ref, workers: 1 });
    expect(twoWorkers.model).not.toBe(held[0]?.model);
    expect(twoWorkers.model.workerCount).toBe(1);
    expect(cache.loaded().map((m) => m.users)).toEqual([3, 1]);
    held[0]?.release();
    held[0]?.release(); // idempotent
    expect(cache.loaded()[0]?.users).toBe(2);
    for (const h of [...held, twoWorkers]) h.release();
    await cache.close();
    expect(cache.loaded()).toEqual([]);
    expect((await rejection(cache.acquire(ref))).code).toBe('TEMPORARILY_UNAVAILABLE');
  });

  it('closes a model idleEvictMs after its last user, unless someone takes it back in time', async () => {
    const cache = new ModelCache({ artifacts: store, cacheDir, idleEvictMs: 150 });
    const ref = { name: 'fraud', version: '1', storageLocation: 'registry/v1' };
    const first = await cache.acquire(ref);
    first.release();
    // Taken back within the idle window: the same model, still loaded.
    const again = await cache.acquire(ref);
    expect(again.model).toBe(first.model);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cache.loaded()).toHaveLength(1);
    expect(values(await again.model.predict(input([[1, 1]])))).toEqual([102]);
    again.release();
    await vi.waitFor(() => expect(cache.loaded()).toEqual([]), { timeout: 5000, interval: 20 });
    await expect(again.model.predict(input([[1, 1]]))).rejects.toThrow();
    // The next user gets a fresh load.
    const fresh = await cache.acquire(ref);
    expect(fresh.model).not.toBe(first.model);
    expect(values(await fresh.model.predict(input([[0, 0]])))).toEqual([100]);
    fresh.release();
    await cache.close();
  });

  it('rejects every waiter of a failed load and retries on the next acquire', async () => {
    const cache = new ModelCache({ artifacts: store, cacheDir });
    await putFiles(store, 'registry/later', {
      MLmodel: serializeMLmodel({ flavors: { sklearn: { pickled_model: 'model.pkl' } } }),
    });
    const ref = { name: 'later', version: '1', storageLocation: 'registry/later' };
    const errors = await Promise.all([rejection(cache.acquire(ref)), rejection(cache.acquire(ref))]);
    expect(errors.map((e) => e.code)).toEqual(['INVALID_PARAMETER_VALUE', 'INVALID_PARAMETER_VALUE']);
    expect(errors[0]).toBe(errors[1]);
    expect(cache.loaded()).toEqual([]);
    await putFiles(store, 'registry/later', onnxModelFiles(linear(5)));
    const held = await cache.acquire(ref);
    expect(values(await held.model.predict(input([[1, 1]])))).toEqual([7]);
    held.release();

    const empty = await rejection(
      cache.acquire({ name: 'none', version: '1', storageLocation: 'registry/none' }),
    );
    expect(empty.code).toBe('INVALID_PARAMETER_VALUE');
    expect(empty.message).toContain('has no files');
    await cache.close();
  });

  it('warms a model once with its serving input example, and refuses one that fails it', async () => {
    const log = join(root, 'predict-calls.log');
    const module = `
import { appendFileSync } from 'node:fs';
export function predict(input) {
  appendFileSync(${JSON.stringify(log)}, JSON.stringify(input.columns.x) + '\\n');
  return input.columns.x.map((x) => x * 2);
}`;
    const example = { dataframe_split: { columns: ['x'], data: [[21]] } };
    const mlmodel = (withExample: boolean) =>
      serializeMLmodel({
        flavors: { js: { entry: 'code/model.mjs' } },
        ...(withExample
          ? { saved_input_example_info: { artifact_path: 'x.json', serving_input_path: 'serving.json' } }
          : {}),
      });
    await putFiles(store, 'registry/js', {
      MLmodel: mlmodel(true),
      'code/model.mjs': module,
      'serving.json': JSON.stringify(example),
    });
    const cache = new ModelCache({ artifacts: store, cacheDir });
    const ref = { name: 'js', version: '1', storageLocation: 'registry/js' };
    const held = await Promise.all([cache.acquire(ref), cache.acquire(ref)]);
    expect(held[0]?.model.metadata.servingInputExample).toEqual(example);
    // One warm-up prediction, made before anyone got the model.
    expect(await readFile(log, 'utf8')).toBe('[21]\n');
    for (const h of held) h.release();

    // An ONNX model whose example does not fit its signature is not handed out.
    await putFiles(
      store,
      'registry/bad-example',
      onnxModelFiles(linear(1), { signature: SIGNATURE, servingInputExample: { inputs: [[1, 2, 3]] } }),
    );
    const bad = await rejection(
      cache.acquire({ name: 'bad', version: '1', storageLocation: 'registry/bad-example' }),
    );
    expect(bad.code).toBe('INVALID_PARAMETER_VALUE');
    expect(bad.message).toContain('warm-up');
    expect(cache.loaded().map((m) => m.name)).toEqual(['js']);
    // Warming can be turned off.
    const cold = new ModelCache({ artifacts: store, cacheDir, warmUp: false });
    const unwarmed = await cold.acquire({
      name: 'bad',
      version: '1',
      storageLocation: 'registry/bad-example',
    });
    expect(values(await unwarmed.model.predict(input([[1, 2]])))).toEqual([4]);
    unwarmed.release();
    await Promise.all([cache.close(), cold.close()]);
  });

  it('reuses a complete copy across caches and processes, and copies again one damaged or changed', async () => {
    await putFiles(store, 'registry/reused', v1);
    const reuseDir = join(root, 'reuse-cache');
    const ref = { name: 'reused', version: '1', storageLocation: 'registry/reused' };
    /** Acquires `ref` through a fresh cache (as a new process would) and returns the paths it downloaded. */
    const loadOnce = async () => {
      const counting = countingArtifactStore(store);
      const cache = new ModelCache({ artifacts: counting.store, cacheDir: reuseDir });
      const held = await cache.acquire(ref);
      expect(values(await held.model.predict(input([[1, 1]])))).toEqual([102]);
      held.release();
      await cache.close();
      return {
        reads: counting.reads.map((path) => path.split('/').pop()),
        dir: held.dir,
        digest: held.digest,
      };
    };
    const digest = expectedDigest(v1);
    const first = await loadOnce();
    expect(first.reads).toEqual(['MLmodel', 'model.onnx']);
    const manifestFile = join(reuseDir, 'reused', `1-${digest}.manifest.json`);
    expect(JSON.parse(await readFile(manifestFile, 'utf8'))).toEqual({
      format: 1,
      name: 'reused',
      version: '1',
      digest,
      sources: ['registry/reused'],
      files: Object.keys(v1)
        .sort()
        .map((path) => ({ path, size: Buffer.from(v1[path] as string | Uint8Array).length })),
    });
    const onnxFile = join(first.dir, 'model.onnx');
    const copiedAt = (await stat(onnxFile)).mtimeMs;

    // A second cache over the same folder trusts the copy: nothing downloaded, nothing rewritten.
    expect(await loadOnce()).toEqual({ reads: [], dir: first.dir, digest });
    expect((await stat(onnxFile)).mtimeMs).toBe(copiedAt);

    // A file cut short on disk: the copy is made again, in place.
    await truncate(onnxFile, 10);
    expect((await loadOnce()).reads).toEqual(['MLmodel', 'model.onnx']);
    expect((await stat(onnxFile)).size).toBe((v1['model.onnx'] as Uint8Array).length);
    // No manifest: copied again, and the manifest is back.
    await rm(manifestFile);
    expect((await loadOnce()).reads).toEqual(['MLmodel', 'model.onnx']);
    expect((await loadOnce()).reads).toEqual([]);

    // The store's folder changed: a new copy under the new digest; the old folder stays.
    await putFiles(store, 'registry/reused', { 'notes.txt': 'hello' });
    const changed = await loadOnce();
    expect(changed.reads).toEqual(['MLmodel', 'model.onnx', 'notes.txt']);
    expect(changed.digest).toBe(expectedDigest({ ...v1, 'notes.txt': 'hello' }));
    expect((await readdir(join(reuseDir, 'reused'))).sort()).toEqual(
      [
        `1-${digest}`,
        `1-${digest}.manifest.json`,
        `1-${changed.digest}`,
        `1-${changed.digest}.manifest.json`,
      ].sort(),
    );
  });
});
