import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../../artifacts/local/local-artifact-store.js';
import { countingArtifactStore } from '../../testing/counting-artifact-store.js';
import { ArtifactCache } from './artifact-cache.js';
import {
  ArtifactIntegrityError,
  directoryHash,
  downloadArtifact,
  hashDirectory,
  uploadDirectory,
  uploadFile,
} from './artifact-values.js';

let root: string;
let store: LocalArtifactStore;
let dirs = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-values-'));
  store = new LocalArtifactStore(join(root, 'artifacts'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function folder(files: Record<string, string>): Promise<string> {
  const dir = join(root, `dir-${dirs++}`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

describe('content hashes', () => {
  it('hashes a directory as sha256 over its sorted "relpath\\0sha256\\n" lines', async () => {
    const dir = await folder({ 'b.txt': 'B', 'a/c.txt': 'C' });
    await mkdir(join(dir, 'empty'));

    const digest = await hashDirectory(dir);

    const lines = `a/c.txt\0${sha256('C')}\nb.txt\0${sha256('B')}\n`;
    expect(digest).toEqual({
      sha256: sha256(lines),
      size: 2,
      files: [
        { path: 'a/c.txt', sha256: sha256('C'), size: 1 },
        { path: 'b.txt', sha256: sha256('B'), size: 1 },
      ],
    });
    expect(directoryHash([...digest.files].reverse())).toBe(digest.sha256);
  });
});

describe('upload and download', () => {
  it('stores a file at workflows/data/<sha256> once and downloads it verified', async () => {
    const dir = await folder({ 'x.txt': 'hello' });
    const counting = countingArtifactStore(store);
    const putSpy: string[] = [];
    const spied = new Proxy(counting.store, {
      get: (target, property) =>
        property === 'put'
          ? (path: string, body: Readable) => {
              putSpy.push(path);
              return target.put(path, body);
            }
          : Reflect.get(target, property),
    });

    const value = await uploadFile(spied, join(dir, 'x.txt'));
    const again = await uploadFile(spied, join(dir, 'x.txt'));
    await downloadArtifact(store, value, join(dir, 'copy.txt'));

    expect(value).toEqual({
      $artifact: `workflows/data/${sha256('hello')}`,
      sha256: sha256('hello'),
      kind: 'file',
      size: 5,
    });
    expect(again).toEqual(value);
    expect(putSpy).toEqual([value.$artifact]);
    expect(await readFile(join(dir, 'copy.txt'), 'utf8')).toBe('hello');
  });

  it('round-trips a directory', async () => {
    const dir = await folder({ 'a.txt': 'A', 'deep/er/b.bin': 'BB' });

    const value = await uploadDirectory(store, dir);
    await downloadArtifact(store, value, join(root, 'restored'));

    expect(value).toMatchObject({ kind: 'directory', size: 3, sha256: (await hashDirectory(dir)).sha256 });
    expect(await readFile(join(root, 'restored', 'deep', 'er', 'b.bin'), 'utf8')).toBe('BB');
  });

  it('refuses content that does not match its hash and leaves nothing behind', async () => {
    const dir = await folder({ 'x.txt': 'original' });
    const value = await uploadFile(store, join(dir, 'x.txt'));
    await store.put(value.$artifact, Readable.from(['tampered']));
    const dest = join(dir, 'bad.txt');

    await expect(downloadArtifact(store, value, dest)).rejects.toBeInstanceOf(ArtifactIntegrityError);
    await expect(readFile(dest)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('ArtifactCache', () => {
  it('downloads each value once, also for concurrent requests', async () => {
    const dir = await folder({ 'a.txt': 'cached' });
    const value = await uploadFile(store, join(dir, 'a.txt'));
    const counting = countingArtifactStore(store);
    const cache = new ArtifactCache(counting.store, join(root, 'cache'));

    const paths = await Promise.all([cache.fetch(value), cache.fetch(value)]);
    const later = await cache.fetch(value);

    expect(paths).toEqual([
      join(root, 'cache', 'file', value.sha256),
      join(root, 'cache', 'file', value.sha256),
    ]);
    expect(later).toBe(paths[0]);
    expect(counting.reads).toEqual([value.$artifact]);
    expect(await readFile(later, 'utf8')).toBe('cached');
  });

  it('refuses a sha256 that is not hex before touching the disk', async () => {
    const cache = new ArtifactCache(store, join(root, 'cache'));

    await expect(cache.fetch({ $artifact: 'x', sha256: '../../etc', kind: 'file' })).rejects.toBeInstanceOf(
      ArtifactIntegrityError,
    );
  });
});
