/**
 * Copies a registered model version's files out of the artifact store into a local folder a model
 * flavor can load, and fingerprints them on the way (the digest prediction records carry); a copy
 * made earlier, by this process or another sharing the cache, is reused as it is.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { invalidParameter, KeelError } from '@keel/core';
import { joinArtifactPath } from '../../artifacts/artifact-path.js';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import {
  findCachedCopy,
  holdsFiles,
  type ManifestFile,
  type StoreFile,
  writeManifest,
} from './model-manifest.js';

/** A model version's files on local disk. */
export interface MaterializedModel {
  /** Absolute folder holding the files: `<cacheDir>/<name>/<version>-<digest>`. */
  readonly dir: string;
  /** {@link MODEL_DIGEST_ALGORITHM} hex digest of the files (see {@link materializeModel}). */
  readonly digest: string;
  /** Relative paths of the files, sorted. */
  readonly files: readonly string[];
  /** Whether an earlier copy was reused (nothing was downloaded or hashed). */
  readonly reused: boolean;
}

/** Hash algorithm of model digests. */
export const MODEL_DIGEST_ALGORITHM = 'sha256';

/** What {@link materializeModel} copies. */
export interface MaterializeModelInput {
  store: ArtifactStore;
  /** Artifact-store folder of the version's files (the registry's immutable copy). */
  storageLocation: string;
  /** Registered model name and version, for the folder name. */
  name: string;
  version: string;
  /** Root of the local model cache. */
  cacheDir: string;
}

/**
 * Makes a local copy of every file below `storageLocation` (sorted by relative path, `/`-separated)
 * in `<cacheDir>/<name>/<version>-<digest>`, or reuses one made earlier.
 *
 * The digest is SHA-256 over, for each file in path order, the line `<path>\n<size>\n` followed by
 * the file's bytes: it changes when any file's content, name or presence changes, and two folders
 * with the same digest hold the same files. The folder is content-addressed, so processes may share
 * `cacheDir`. The model name is reduced to `[A-Za-z0-9_.-]` for the folder name (collisions are
 * harmless: the digest tells the contents apart).
 *
 * Reuse: beside each folder, `<version>-<digest>.manifest.json` records the digest, every file with
 * its size, and the storage locations it was copied from (see `ModelManifest`). When a manifest
 * names `storageLocation`, lists exactly the files (paths and sizes) the store lists there now, and
 * the folder still holds each file at that size, the folder is used as it is: nothing is downloaded
 * or hashed (contents are not re-read: sizes stand for them). Otherwise the files are downloaded
 * into `.partial-<uuid>`, hashed as they stream, and renamed into place — keeping a complete folder
 * already there (same digest, same files), replacing one with files missing or of the wrong size —
 * and the manifest is written. Readers never see a half-written folder or manifest.
 *
 * @throws INVALID_PARAMETER_VALUE when `storageLocation` holds no files; INTERNAL_ERROR when a file's
 *   length differs from what the store announced; whatever the store throws.
 *
 * @example
 * const { dir, digest } = await materializeModel({ store, storageLocation: 'registry/ab12…', name: 'fraud', version: '3', cacheDir });
 * const model = await loadModelFromDirectory(dir);
 */
export async function materializeModel(input: MaterializeModelInput): Promise<MaterializedModel> {
  const { store, storageLocation } = input;
  const listed = (await listFiles(store, storageLocation, '')).sort(comparePaths);
  if (listed.length === 0) {
    throw invalidParameter(
      `Model version (name=${input.name}, version=${input.version}) has no files at '${storageLocation}' in the artifact store`,
    );
  }
  const parent = join(input.cacheDir, safeSegment(input.name));
  const prefix = `${safeSegment(input.version)}-`;
  await mkdir(parent, { recursive: true });
  const cached = await findCachedCopy(parent, prefix, storageLocation, listed);
  if (cached !== undefined) {
    const dir = join(parent, `${prefix}${cached.digest}`);
    return { dir, digest: cached.digest, files: cached.files.map((f) => f.path), reused: true };
  }
  const partial = join(parent, `.partial-${randomUUID()}`);
  try {
    const { digest, files } = await downloadFiles(input, listed, partial);
    const folder = `${prefix}${digest}`;
    const dir = join(parent, folder);
    await moveIntoPlace(partial, dir, files);
    await writeManifest(parent, folder, {
      format: 1,
      name: input.name,
      version: input.version,
      digest,
      sources: [storageLocation],
      files,
    });
    return { dir, digest, files: files.map((f) => f.path), reused: false };
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

/** Downloads `listed` into folder `target`, hashing as it streams; returns the digest and the sizes read. */
async function downloadFiles(
  input: MaterializeModelInput,
  listed: readonly StoreFile[],
  target: string,
): Promise<{ digest: string; files: ManifestFile[] }> {
  const hash = createHash(MODEL_DIGEST_ALGORITHM);
  const files: ManifestFile[] = [];
  for (const { path } of listed) {
    const object = await input.store.get(joinArtifactPath(input.storageLocation, path));
    const file = join(target, ...path.split('/'));
    await mkdir(dirname(file), { recursive: true });
    hash.update(`${path}\n${object.size}\n`);
    let written = 0;
    await pipeline(
      object.stream,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          written += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(file, { flags: 'wx' }),
    );
    if (written !== object.size) {
      throw new KeelError(
        'INTERNAL_ERROR',
        `Model file '${path}' of ${input.name} version ${input.version} is ${written} bytes, the store announced ${object.size}`,
      );
    }
    files.push({ path, size: written });
  }
  return { digest: hash.digest('hex'), files };
}

/** Every file below `dir` with the size the store lists (`prefix` is the part already walked). */
async function listFiles(store: ArtifactStore, dir: string, prefix: string): Promise<StoreFile[]> {
  const out: StoreFile[] = [];
  for (const entry of await store.list(joinArtifactPath(dir, prefix))) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.is_dir) out.push(...(await listFiles(store, dir, path)));
    else out.push({ path, size: entry.file_size });
  }
  return out;
}

/** Code-unit order, so the digest does not depend on the locale. */
function comparePaths(a: StoreFile, b: StoreFile): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Puts the fresh copy `from` at `to`. A folder already at `to` (same digest) is kept when it holds
 * every file at its size, and replaced when it does not (a copy damaged or cut short on disk).
 */
async function moveIntoPlace(from: string, to: string, files: readonly ManifestFile[]): Promise<void> {
  if ((await renameUnlessTaken(from, to)) || (await holdsFiles(to, files))) return;
  const stale = join(dirname(to), `.stale-${randomUUID()}`);
  // Another process may be replacing it at the same time: whoever renames first wins.
  await rename(to, stale).catch(() => undefined);
  try {
    if (!(await renameUnlessTaken(from, to)) && !(await holdsFiles(to, files))) {
      throw new KeelError('INTERNAL_ERROR', `Cannot replace the damaged model folder '${to}'`);
    }
  } finally {
    await rm(stale, { recursive: true, force: true });
  }
}

/** Renames `from` to `to`; `false` when a folder is already at `to`. */
async function renameUnlessTaken(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const exists = await stat(to).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!exists || (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'EPERM')) throw error;
    return false;
  }
}

/** A name usable as one path segment on every platform (never `.` or `..`). */
function safeSegment(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^\.*$/.test(safe) || safe.startsWith('.') ? `_${safe}` : safe;
}
