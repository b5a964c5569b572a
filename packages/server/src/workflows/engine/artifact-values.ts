/**
 * Files and directories as workflow values: content-addressed in the artifact store at
 * `workflows/data/<sha256>` (a directory's files below `workflows/data/<sha256>/…`), named by the
 * sha256 of their content, so equal outputs of different executions or users are stored once and
 * a file input's cache key depends on its bytes, not on where it came from.
 *
 * A directory's hash is the sha256 over its files' sorted `"relpath\0sha256(file)\n"` lines
 * (POSIX relative paths; empty folders do not count), the same rule code packages are hashed by.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type ArtifactValue, KeelError } from '@keel/core';
import { joinArtifactPath, validateArtifactPath } from '../../artifacts/artifact-path.js';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';

/** Artifact-store folder of workflow data. */
export const DATA_PREFIX = 'workflows/data';

/** One file of a hashed directory. */
export interface HashedFile {
  /** POSIX path relative to the directory. */
  path: string;
  sha256: string;
  size: number;
}

/** A directory's content hash, total size and files (sorted by path). */
export interface DirectoryDigest {
  sha256: string;
  size: number;
  files: HashedFile[];
}

/**
 * Raised when downloaded bytes do not hash to the value's `sha256`: the stored copy is corrupt or
 * was replaced, and downloading it again will not help.
 */
export class ArtifactIntegrityError extends Error {
  override readonly name = 'ArtifactIntegrityError';
}

/** sha256 (hex) and size of a local file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * The directory hash of files given by relative path and hash (any order).
 *
 * @example
 * directoryHash([{ path: 'b.txt', sha256: h1 }, { path: 'a/c.txt', sha256: h2 }]);
 * // sha256("a/c.txt\0<h2>\nb.txt\0<h1>\n")
 */
export function directoryHash(files: readonly { path: string; sha256: string }[]): string {
  const lines = files.map((file) => `${file.path}\0${file.sha256}\n`).sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line, 'utf8');
  return hash.digest('hex');
}

/** Relative POSIX paths of the regular files below `dir` (symbolic links followed), sorted. */
export async function listLocalFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      const info = entry.isSymbolicLink() ? await stat(full) : entry;
      if (info.isDirectory()) await walk(full, rel);
      else if (info.isFile()) found.push(rel);
    }
  };
  await walk(dir, '');
  return found.sort();
}

/** Hashes every file below `dir` and the directory as a whole. */
export async function hashDirectory(dir: string): Promise<DirectoryDigest> {
  const files: HashedFile[] = [];
  for (const path of await listLocalFiles(dir)) {
    files.push({ path, ...(await hashFile(join(dir, ...path.split('/')))) });
  }
  return { sha256: directoryHash(files), size: files.reduce((sum, f) => sum + f.size, 0), files };
}

/**
 * Uploads a local file or directory content-addressed and returns its value. Content already
 * stored (same path and size) is not uploaded again.
 *
 * @example
 * await uploadPath(store, '/tmp/work/outputs/model.onnx');
 * // { $artifact: 'workflows/data/3a7b…', sha256: '3a7b…', kind: 'file', size: 1024 }
 */
export async function uploadPath(store: ArtifactStore, localPath: string): Promise<ArtifactValue> {
  const info = await stat(localPath);
  return info.isDirectory() ? uploadDirectory(store, localPath) : uploadFile(store, localPath);
}

/** Uploads one local file to `workflows/data/<sha256>`; see {@link uploadPath}. */
export async function uploadFile(store: ArtifactStore, localPath: string): Promise<ArtifactValue> {
  const { sha256, size } = await hashFile(localPath);
  const path = joinArtifactPath(DATA_PREFIX, sha256);
  if ((await storedSize(store, path)) !== size) {
    await store.put(path, createReadStream(localPath), { size });
  }
  return { $artifact: path, sha256, kind: 'file', size };
}

/** Uploads a local directory below `workflows/data/<sha256>/`; see {@link uploadPath}. */
export async function uploadDirectory(store: ArtifactStore, localDir: string): Promise<ArtifactValue> {
  const digest = await hashDirectory(localDir);
  const root = joinArtifactPath(DATA_PREFIX, digest.sha256);
  const stored = new Map((await listStoredFiles(store, root)).map((f) => [f.path, f.size]));
  for (const file of digest.files) {
    if (stored.get(file.path) === file.size) continue;
    const path = validateArtifactPath(joinArtifactPath(root, file.path), { field: 'output file' });
    await store.put(path, createReadStream(join(localDir, ...file.path.split('/'))), { size: file.size });
  }
  return { $artifact: root, sha256: digest.sha256, kind: 'directory', size: digest.size };
}

/**
 * Downloads a value to `dest` (a file, or a folder created with the directory's files) and checks
 * its content against `value.sha256`.
 * @throws ArtifactIntegrityError when the content does not match (what was written is removed);
 *   the store's RESOURCE_DOES_NOT_EXIST when a file is missing.
 */
export async function downloadArtifact(
  store: ArtifactStore,
  value: ArtifactValue,
  dest: string,
): Promise<void> {
  try {
    const actual =
      value.kind === 'file'
        ? await downloadFile(store, value.$artifact, dest)
        : await downloadDirectory(store, value.$artifact, dest);
    if (actual !== value.sha256) {
      throw new ArtifactIntegrityError(
        `Artifact '${value.$artifact}' does not match its sha256: expected ${value.sha256}, got ${actual}`,
      );
    }
  } catch (error) {
    await rm(dest, { recursive: true, force: true });
    throw error;
  }
}

/** Every file below `dir` in the store, with its path relative to `dir`. */
export async function listStoredFiles(
  store: ArtifactStore,
  dir: string,
): Promise<{ path: string; size: number }[]> {
  const found: { path: string; size: number }[] = [];
  const walk = async (prefix: string): Promise<void> => {
    for (const entry of await store.list(joinArtifactPath(dir, prefix))) {
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.is_dir) await walk(rel);
      else found.push({ path: rel, size: entry.file_size ?? 0 });
    }
  };
  await walk('');
  return found;
}

async function downloadFile(store: ArtifactStore, path: string, dest: string): Promise<string> {
  const hash = createHash('sha256');
  const object = await store.get(path);
  await mkdir(dirname(dest), { recursive: true });
  await pipeline(
    object.stream,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(dest),
  );
  return hash.digest('hex');
}

async function downloadDirectory(store: ArtifactStore, path: string, dest: string): Promise<string> {
  await mkdir(dest, { recursive: true });
  const files: { path: string; sha256: string }[] = [];
  for (const file of await listStoredFiles(store, path)) {
    const sha256 = await downloadFile(
      store,
      joinArtifactPath(path, file.path),
      join(dest, ...file.path.split('/')),
    );
    files.push({ path: file.path, sha256 });
  }
  return directoryHash(files);
}

/** Size of the stored file at `path`, `undefined` when there is none. */
async function storedSize(store: ArtifactStore, path: string): Promise<number | undefined> {
  try {
    const object = await store.get(path);
    object.stream.destroy();
    return object.size;
  } catch (error) {
    if (error instanceof KeelError && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
    throw error;
  }
}
