/**
 * Copies a registered model version's files out of the artifact store into a local folder a model
 * flavor can load, and fingerprints them on the way (the digest prediction records carry).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { invalidParameter, KeelError } from '@keel/core';
import { joinArtifactPath } from '../../artifacts/artifact-path.js';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';

/** A model version's files on local disk. */
export interface MaterializedModel {
  /** Absolute folder holding the files: `<cacheDir>/<name>/<version>-<digest>`. */
  readonly dir: string;
  /** {@link MODEL_DIGEST_ALGORITHM} hex digest of the files (see {@link materializeModel}). */
  readonly digest: string;
  /** Relative paths of the files, sorted. */
  readonly files: readonly string[];
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
 * Downloads every file below `storageLocation` (sorted by relative path, `/`-separated) into a fresh
 * folder, hashing as it streams, then renames the folder to `<cacheDir>/<name>/<version>-<digest>`.
 *
 * The digest is SHA-256 over, for each file in path order, the line `<path>\n<size>\n` followed by
 * the file's bytes: it changes when any file's content, name or presence changes, and two folders
 * with the same digest hold the same files. The final folder is content-addressed, so a folder
 * already there (from an earlier load, or another process sharing `cacheDir`) is kept and the fresh
 * copy discarded. Readers never see a half-written folder: files land in `.partial-<uuid>` first.
 * The model name is reduced to `[A-Za-z0-9_.-]` for the folder name (collisions are harmless: the
 * digest tells the contents apart).
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
  const files = (await listFiles(store, storageLocation, '')).sort(comparePaths);
  if (files.length === 0) {
    throw invalidParameter(
      `Model version (name=${input.name}, version=${input.version}) has no files at '${storageLocation}' in the artifact store`,
    );
  }
  const parent = join(input.cacheDir, safeSegment(input.name));
  await mkdir(parent, { recursive: true });
  const partial = join(parent, `.partial-${randomUUID()}`);
  try {
    const hash = createHash(MODEL_DIGEST_ALGORITHM);
    for (const path of files) {
      const object = await store.get(joinArtifactPath(storageLocation, path));
      const target = join(partial, ...path.split('/'));
      await mkdir(dirname(target), { recursive: true });
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
        createWriteStream(target, { flags: 'wx' }),
      );
      if (written !== object.size) {
        throw new KeelError(
          'INTERNAL_ERROR',
          `Model file '${path}' of ${input.name} version ${input.version} is ${written} bytes, the store announced ${object.size}`,
        );
      }
    }
    const digest = hash.digest('hex');
    const dir = join(parent, `${safeSegment(input.version)}-${digest}`);
    await moveIntoPlace(partial, dir);
    return { dir, digest, files };
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

/** Relative paths of every file below `dir` (`prefix` is the part already walked). */
async function listFiles(store: ArtifactStore, dir: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await store.list(joinArtifactPath(dir, prefix))) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.is_dir) out.push(...(await listFiles(store, dir, path)));
    else out.push(path);
  }
  return out;
}

/** Code-unit order, so the digest does not depend on the locale. */
function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Renames `from` to `to`, or keeps `to` when it already exists (same digest, same files). */
async function moveIntoPlace(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const exists = await stat(to).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!exists || (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'EPERM')) throw error;
  }
}

/** A name usable as one path segment on every platform (never `.` or `..`). */
function safeSegment(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^\.*$/.test(safe) || safe.startsWith('.') ? `_${safe}` : safe;
}
