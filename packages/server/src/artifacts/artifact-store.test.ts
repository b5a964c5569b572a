// One suite for every artifact store: the local folder and S3 (s3rver on loopback) must behave alike.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3TestServer } from '../testing/s3-test-server.js';
import type { ArtifactStore } from './artifact-store.js';
import { LocalArtifactStore } from './local/local-artifact-store.js';
import { openArtifactStore } from './open-artifact-store.js';
import { S3ArtifactStore } from './s3/s3-artifact-store.js';

const s3 = await startS3TestServer();
const tempDirs: string[] = [];
afterAll(async () => {
  await s3?.close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-artifacts-'));
  tempDirs.push(dir);
  return dir;
}

interface Backend {
  name: 'local' | 's3';
  open(): ArtifactStore;
}

let prefixes = 0;
const backends: Backend[] = [
  { name: 'local', open: () => new LocalArtifactStore(join(tempDir(), 'artifacts')) },
  ...(s3
    ? [{ name: 's3' as const, open: () => new S3ArtifactStore(s3.storeOptions(`suite-${++prefixes}`)) }]
    : []),
];

/** Deterministic bytes: `size` of them, different for each seed. */
function bytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.writeUInt32LE(x, i - (i + 4 > size ? i + 4 - size : 0));
  }
  return out;
}

/** A stream of `data` in chunks of `chunk` bytes, with no length attached. */
function streamOf(data: Buffer, chunk = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
    })(),
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe.each(backends)('ArtifactStore: $name', ({ name, open }) => {
  let store: ArtifactStore;
  beforeAll(() => {
    store = open();
  });
  afterAll(async () => {
    await store.close();
  });

  const put = (path: string, data: Buffer | string, withSize = true) => {
    const buffer = Buffer.from(data);
    return store.put(path, streamOf(buffer), withSize ? { size: buffer.length } : {});
  };
  const text = async (path: string) => (await readAll((await store.get(path)).stream)).toString();

  it('writes a file from a stream and reads the same bytes back, with its size', async () => {
    const data = bytes(300_000, 2);
    await put('run/artifacts/model.bin', data);
    const file = await store.get('run/artifacts/model.bin');
    expect(file.size).toBe(data.length);
    expect(sha(await readAll(file.stream))).toBe(sha(data));
  });

  it('streams a body of unknown length larger than one S3 part (multipart under the hood)', async () => {
    const data = bytes(12 * 1024 * 1024 + 17, 3);
    await put('unknown/big.bin', data, false);
    const file = await store.get('unknown/big.bin');
    expect(file.size).toBe(data.length);
    expect(sha(await readAll(file.stream))).toBe(sha(data));
  });

  it('stores empty files', async () => {
    await put('empty/zero.txt', '');
    const file = await store.get('empty/zero.txt');
    expect(file.size).toBe(0);
    expect((await readAll(file.stream)).length).toBe(0);
  });

  it('replaces a file written twice', async () => {
    await put('replace/a.txt', 'first version');
    await put('replace/a.txt', 'second');
    expect(await text('replace/a.txt')).toBe('second');
  });

  it('answers RESOURCE_DOES_NOT_EXIST for a missing file and for a folder', async () => {
    await expect(store.get('nope/missing.txt')).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
    await put('folder/inside/f.txt', 'x');
    await expect(store.get('folder/inside')).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
  });

  it('lists one level, sorted, folders without a size and files with theirs', async () => {
    await put('list/b.txt', 'bb');
    await put('list/a.txt', 'a');
    await put('list/sub/deep/c.txt', 'ccc');
    await put('list/sub/d.txt', 'dddd');
    expect(await store.list('list')).toEqual([
      { name: 'a.txt', is_dir: false, file_size: 1 },
      { name: 'b.txt', is_dir: false, file_size: 2 },
      { name: 'sub', is_dir: true },
    ]);
    expect(await store.list('list/sub')).toEqual([
      { name: 'd.txt', is_dir: false, file_size: 4 },
      { name: 'deep', is_dir: true },
    ]);
  });

  it('lists nothing for a missing folder or a file, and the top level for the root', async () => {
    await put('rootlist/x.txt', 'x');
    expect(await store.list('no/such/folder')).toEqual([]);
    expect(await store.list('rootlist/x.txt')).toEqual([]);
    expect(await store.list('')).toContainEqual({ name: 'rootlist', is_dir: true });
  });

  it('deletes a file, or a folder with everything below it, and nothing that merely shares a prefix', async () => {
    await put('del/one.txt', '1');
    await put('del/dir/two.txt', '2');
    await put('del/dir/sub/three.txt', '3');
    await put('del/dirty.txt', 'keep');
    await put('del/dir2/keep.txt', 'keep');
    await store.delete('del/one.txt');
    await expect(store.get('del/one.txt')).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
    await store.delete('del/dir');
    expect(await store.list('del/dir')).toEqual([]);
    await expect(store.get('del/dir/sub/three.txt')).rejects.toMatchObject({
      code: 'RESOURCE_DOES_NOT_EXIST',
    });
    expect(await text('del/dirty.txt')).toBe('keep');
    expect(await text('del/dir2/keep.txt')).toBe('keep');
    await store.delete('del/never-existed'); // absent is fine
  });

  it('deletePrefix removes a run folder for gc and keeps its neighbours', async () => {
    await put('7/run1/artifacts/a.txt', 'a');
    await put('7/run1/artifacts/m/b.txt', 'b');
    await put('7/run10/artifacts/c.txt', 'c');
    await store.deletePrefix('7/run1');
    expect(await store.list('7')).toEqual([{ name: 'run10', is_dir: true }]);
    expect(await text('7/run10/artifacts/c.txt')).toBe('c');
  });

  it('refuses to delete the store root', async () => {
    await expect(store.delete('')).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
    await expect(store.deletePrefix('')).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
  });

  it('fails the write, leaving no file behind, when the body fails halfway', async () => {
    const failing = Readable.from(
      (async function* () {
        yield bytes(64 * 1024, 4);
        throw new Error('client went away');
      })(),
    );
    await expect(store.put('broken/half.bin', failing, { size: 1024 * 1024 })).rejects.toThrow(
      'client went away',
    );
    // S3 itself discards a PUT whose body stops short of its length; s3rver keeps what it got, so
    // the "nothing visible" half is checked where Keel's own code guarantees it.
    if (name === 'local') {
      await expect(store.get('broken/half.bin')).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
      expect(await store.list('broken')).toEqual([]);
    }
  });

  if (name === 'local') {
    it('answers NOT_IMPLEMENTED (501) to multipart uploads, with the message MLflow clients match', async () => {
      const expected = {
        code: 'NOT_IMPLEMENTED',
        status: 501,
        message: expect.stringMatching(
          /^Multipart upload is not supported for the current artifact repository/,
        ),
      };
      await expect(store.createMultipartUpload('m/x.bin', 2)).rejects.toMatchObject(expected);
      await expect(
        store.completeMultipartUpload('m/x.bin', 'id', [{ part_number: 1, etag: 'e' }]),
      ).rejects.toMatchObject(expected);
      await expect(store.abortMultipartUpload('m/x.bin', 'id')).rejects.toMatchObject(expected);
    });
  } else {
    it('does real multipart uploads through presigned part URLs', async () => {
      const part1 = bytes(5 * 1024 * 1024, 5);
      const part2 = bytes(1000, 6);
      const upload = await store.createMultipartUpload('mpu/model.bin', 2);
      expect(upload.uploadId).not.toBe('');
      expect(upload.credentials.map((c) => c.part_number)).toEqual([1, 2]);
      const parts = [];
      // Uploaded out of order on purpose: completion orders them by number.
      for (const credential of [...upload.credentials].reverse()) {
        expect(credential.url).toContain(`partNumber=${credential.part_number}`);
        const response = await fetch(credential.url, {
          method: 'PUT',
          headers: credential.headers,
          body: credential.part_number === 1 ? part1 : part2,
        });
        expect(response.status).toBe(200);
        parts.push({ part_number: credential.part_number, etag: response.headers.get('etag') ?? '' });
      }
      await expect(store.get('mpu/model.bin')).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
      await store.completeMultipartUpload('mpu/model.bin', upload.uploadId, parts);
      const file = await store.get('mpu/model.bin');
      expect(file.size).toBe(part1.length + part2.length);
      expect(sha(await readAll(file.stream))).toBe(sha(Buffer.concat([part1, part2])));
    });

    it('aborts a multipart upload: no file appears and the upload id is gone', async () => {
      const upload = await store.createMultipartUpload('mpu/aborted.bin', 1);
      const credential = upload.credentials[0];
      expect(credential).toBeDefined();
      await fetch(credential?.url ?? '', { method: 'PUT', body: bytes(100, 7) });
      await store.abortMultipartUpload('mpu/aborted.bin', upload.uploadId);
      await expect(store.get('mpu/aborted.bin')).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
      await expect(store.abortMultipartUpload('mpu/aborted.bin', upload.uploadId)).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
    });

    it('refuses part counts outside 1..10000', async () => {
      await expect(store.createMultipartUpload('mpu/x', 0)).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
      await expect(store.createMultipartUpload('mpu/x', 10_001)).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
    });
  }
});

describe('LocalArtifactStore on disk', () => {
  let root: string;
  let outside: string;
  let store: LocalArtifactStore;
  beforeAll(() => {
    const base = tempDir();
    root = join(base, 'artifacts');
    outside = join(base, 'outside');
    mkdirSync(join(root, 'exp'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'top secret');
    // Links planted inside the store (by anyone with disk access) that lead out of it.
    symlinkSync(outside, join(root, 'exp', 'escape'));
    symlinkSync(join(outside, 'secret.txt'), join(root, 'exp', 'secret-link.txt'));
    store = new LocalArtifactStore(root);
  });

  it('refuses every operation through a symlink that points outside the root', async () => {
    const invalid = { code: 'INVALID_PARAMETER_VALUE' };
    await expect(store.get('exp/escape/secret.txt')).rejects.toMatchObject(invalid);
    await expect(store.get('exp/secret-link.txt')).rejects.toMatchObject(invalid);
    await expect(store.list('exp/escape')).rejects.toMatchObject(invalid);
    await expect(store.put('exp/escape/new.txt', Readable.from([Buffer.from('x')]))).rejects.toMatchObject(
      invalid,
    );
    await expect(
      store.put('exp/escape/sub/new.txt', Readable.from([Buffer.from('x')])),
    ).rejects.toMatchObject(invalid);
    await expect(store.delete('exp/escape/secret.txt')).rejects.toMatchObject(invalid);
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    expect(existsSync(join(outside, 'secret.txt'))).toBe(true);
  });

  it('does not list links that lead outside', async () => {
    await store.put('exp/real.txt', Readable.from([Buffer.from('r')]));
    expect(await store.list('exp')).toEqual([{ name: 'real.txt', is_dir: false, file_size: 1 }]);
  });

  it('follows a symlink that stays inside the root', async () => {
    await store.put('data/v1/table.csv', Readable.from([Buffer.from('a,b\n')]));
    symlinkSync(join(root, 'data', 'v1'), join(root, 'data', 'latest'));
    expect(await readAll((await store.get('data/latest/table.csv')).stream)).toEqual(Buffer.from('a,b\n'));
    expect(await store.list('data/latest')).toEqual([{ name: 'table.csv', is_dir: false, file_size: 4 }]);
  });

  it('creates no folder when reading or deleting in a store that does not exist yet', async () => {
    const missing = join(tempDir(), 'never-created');
    const empty = new LocalArtifactStore(missing);
    expect(await empty.list('')).toEqual([]);
    await expect(empty.get('a.txt')).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
    await empty.deletePrefix('0/abc');
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a path whose parent is a file', async () => {
    await store.put('clash/file', Readable.from([Buffer.from('f')]));
    await expect(store.put('clash/file/child.txt', Readable.from([Buffer.from('c')]))).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
    });
  });
});

describe('openArtifactStore', () => {
  it('opens a local store for file:// URIs and plain folders', () => {
    expect(openArtifactStore('file:///tmp/keel-a')).toBeInstanceOf(LocalArtifactStore);
    expect(openArtifactStore('file:///tmp/keel-a').uri).toBe('file:///tmp/keel-a');
    expect(openArtifactStore('/tmp/keel-b')).toBeInstanceOf(LocalArtifactStore);
  });

  it('opens an S3 store for s3://bucket/prefix', async () => {
    const store = openArtifactStore('s3://my-bucket/some/prefix/', { region: 'eu-west-1' });
    expect(store).toBeInstanceOf(S3ArtifactStore);
    expect(store.uri).toBe('s3://my-bucket/some/prefix');
    await store.close();
    expect(openArtifactStore('s3://only-bucket').uri).toBe('s3://only-bucket');
  });

  it('refuses other schemes with an error listing the known ones', () => {
    expect(() => openArtifactStore('gs://bucket/x')).toThrow(/file:\/\/.*s3:\/\//);
    expect(() => openArtifactStore('s3://')).toThrow(/s3:\/\/bucket/);
  });
});
