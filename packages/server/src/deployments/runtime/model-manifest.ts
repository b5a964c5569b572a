/**
 * The manifest kept next to each materialized model folder: what the folder holds (digest, files and
 * sizes) and which artifact-store folders it is a copy of, so that a later load — in this process or
 * another one sharing the cache — can reuse the folder without copying or hashing it again.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One file of a model folder, by `/`-separated relative path. */
export interface ManifestFile {
  readonly path: string;
  readonly size: number;
}

/** A file as the artifact store lists it: the size is absent when the store does not tell it. */
export interface StoreFile {
  readonly path: string;
  readonly size: number | undefined;
}

/** The content of `<version>-<digest>.manifest.json`. */
export interface ModelManifest {
  /** Layout of this file; only 1 exists. */
  readonly format: 1;
  /** Registered model name and version (as given, before reducing them to folder names). */
  readonly name: string;
  readonly version: string;
  /** sha256 of the files, as `materializeModel` computes it; also the folder's name suffix. */
  readonly digest: string;
  /** Artifact-store folders known to hold exactly these files. */
  readonly sources: readonly string[];
  /** Every file of the folder, sorted by path. */
  readonly files: readonly ManifestFile[];
}

const MANIFEST_SUFFIX = '.manifest.json';
const DIGEST = /^[0-9a-f]{64}$/;

/** Path of the manifest of folder `<parent>/<folder>`. */
export function manifestPath(parent: string, folder: string): string {
  return join(parent, `${folder}${MANIFEST_SUFFIX}`);
}

/**
 * The manifest under `parent` (a model's cache folder) of a copy of `source` whose files are exactly
 * `listed` (paths and sizes) and whose folder `<prefix><digest>` still holds every file at its
 * recorded size; `undefined` when there is none. File contents are not read: sizes stand for them.
 */
export async function findCachedCopy(
  parent: string,
  prefix: string,
  source: string,
  listed: readonly StoreFile[],
): Promise<ModelManifest | undefined> {
  for (const manifest of await readManifests(parent, prefix)) {
    if (!manifest.sources.includes(source) || !sameFiles(manifest.files, listed)) continue;
    if (await holdsFiles(join(parent, `${prefix}${manifest.digest}`), manifest.files)) return manifest;
  }
  return undefined;
}

/** Whether folder `dir` holds every one of `files` at its size (extra files are not looked for). */
export async function holdsFiles(dir: string, files: readonly ManifestFile[]): Promise<boolean> {
  for (const file of files) {
    const info = await stat(join(dir, ...file.path.split('/'))).catch(() => undefined);
    if (info === undefined || !info.isFile() || info.size !== file.size) return false;
  }
  return true;
}

/**
 * Writes the manifest of folder `<parent>/<folder>`, adding `manifest.sources` to those an existing
 * manifest of the same files lists. Atomic: readers see the old file or the new one, never half.
 */
export async function writeManifest(parent: string, folder: string, manifest: ModelManifest): Promise<void> {
  const path = manifestPath(parent, folder);
  const existing = await readManifest(path);
  const sources =
    existing !== undefined && existing.digest === manifest.digest && sameFiles(existing.files, manifest.files)
      ? [...new Set([...existing.sources, ...manifest.sources])]
      : manifest.sources;
  const partial = join(parent, `.partial-${randomUUID()}${MANIFEST_SUFFIX}`);
  try {
    await writeFile(partial, `${JSON.stringify({ ...manifest, sources }, null, 2)}\n`, { flag: 'wx' });
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
}

/** The well-formed manifests under `parent` whose folder name starts with `prefix`. */
async function readManifests(parent: string, prefix: string): Promise<ModelManifest[]> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const manifests: ModelManifest[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(MANIFEST_SUFFIX)) continue;
    const manifest = await readManifest(join(parent, name));
    if (manifest !== undefined && name === `${prefix}${manifest.digest}${MANIFEST_SUFFIX}`) {
      manifests.push(manifest);
    }
  }
  return manifests;
}

/** The manifest at `path`; `undefined` when it is missing or not a manifest (it is then rewritten). */
async function readManifest(path: string): Promise<ModelManifest | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
  return isManifest(parsed) ? parsed : undefined;
}

function isManifest(value: unknown): value is ModelManifest {
  const m = value as Partial<ModelManifest> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.format === 1 &&
    typeof m.digest === 'string' &&
    DIGEST.test(m.digest) &&
    Array.isArray(m.sources) &&
    m.sources.every((s) => typeof s === 'string') &&
    Array.isArray(m.files) &&
    m.files.every(
      (f: Partial<ManifestFile> | null) =>
        typeof f?.path === 'string' && Number.isSafeInteger(f.size) && (f.size as number) >= 0,
    )
  );
}

function sameFiles(a: readonly ManifestFile[], b: readonly StoreFile[]): boolean {
  return a.length === b.length && a.every((f, i) => f.path === b[i]?.path && f.size === b[i]?.size);
}
