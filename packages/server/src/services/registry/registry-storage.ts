import { randomBytes } from 'node:crypto';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidParameter, KeelError } from '@keel/core';
import { baseName, joinArtifactPath, validateArtifactPath } from '../../artifacts/artifact-path.js';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import { PROXIED_ARTIFACT_SCHEME, proxiedArtifactPath } from '../../artifacts/proxied-uri.js';
import type { RunRow } from '../../store/schema.js';

/**
 * Folder of the artifact store that holds the immutable copies of registered model versions.
 * Experiments' default locations are numeric (`<experiment_id>/…`), so this never collides with
 * run artifacts; the artifact proxy refuses writes below it.
 */
export const REGISTRY_STORAGE_PREFIX = 'registry';

/** True when a store path lies in registry storage (see {@link REGISTRY_STORAGE_PREFIX}). */
export function isRegistryStoragePath(path: string): boolean {
  return path === REGISTRY_STORAGE_PREFIX || path.startsWith(`${REGISTRY_STORAGE_PREFIX}/`);
}

/**
 * A fresh folder name for a version's copy: a UUID version 7 (RFC 9562) without its dashes, whose
 * first 48 bits are `now` in epoch milliseconds, so `keel gc` can tell from the name alone how old
 * a copy that no version uses is (see {@link registryCopyTime}).
 *
 * @example
 * registryCopyFolder(Date.now()); // '019ab2c4f1e87a3c9d…' (32 hex digits)
 */
export function registryCopyFolder(now: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(Math.max(0, Math.trunc(now)) % 2 ** 48, 0, 6);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70; // version 7
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80; // the RFC variant, 10xx
  return bytes.toString('hex');
}

/**
 * The epoch milliseconds in a copy folder's name ({@link registryCopyFolder}); `undefined` for a
 * name that carries none: a random (version 4) UUID, which Keel used before copies were
 * time-stamped, or a folder Keel did not make.
 */
export function registryCopyTime(folder: string): number | undefined {
  if (!/^[0-9a-f]{12}7[0-9a-f]{19}$/.test(folder)) return undefined;
  return Number.parseInt(folder.slice(0, 12), 16);
}

/** The `mlflow-artifacts:` URI clients download a store path from (through the proxy). */
export function proxiedUriOf(storePath: string): string {
  return `${PROXIED_ARTIFACT_SCHEME}/${storePath}`;
}

/** Where a version source points, after validation. */
export interface ResolvedSource {
  /** Artifact-store path to copy from; absent for an external URI recorded as is. */
  readonly storePath?: string;
  /** The run the source belongs to (from `runs:/…`, or the request's `run_id`). */
  readonly runId?: string;
}

/** What source validation looks up. */
export interface SourceContext {
  readonly store: ArtifactStore;
  /** The stored run; RESOURCE_DOES_NOT_EXIST when unknown. */
  requireRun(runId: string): Promise<RunRow>;
  /** The store path of a registered version (for `models:/` sources), or undefined when external. */
  storageOfModelUri(uri: string): Promise<string | undefined>;
}

/** `<exp>/models/<model_id>/artifacts…`: where MLflow 3 logged models keep their files. */
const LOGGED_MODEL_PATH = /(?:^|\/)models\/(m-[\w-]+)\/artifacts(?:\/|$)/;

/**
 * Validates a model-version `source` as MLflow does and works out where its files are:
 *
 * - traversal is refused in every form (`..` segments, also percent-encoded once or several times);
 * - `runs:/<run_id>/<path>` → the run's artifacts (`run_id`, when also given, must match);
 * - `mlflow-artifacts:/<path>` → must lie inside the artifacts of the run `run_id` names (or,
 *   without `run_id`, of the run its path names), inside a logged model's artifacts (the path
 *   names the model, `<exp>/models/m-…/artifacts`), or inside registry storage;
 * - a local path or `file:` URI → only accepted with `run_id`, inside that run's artifacts; it is
 *   copied when it is a folder of Keel's own local artifact store;
 * - `models:/…` → the files of that registered version;
 * - any other URI (`s3://`, `https://`, `gs://`…) is not Keel's: recorded as is, not copied.
 */
export async function resolveSource(
  source: string,
  runId: string | undefined,
  context: SourceContext,
): Promise<ResolvedSource> {
  refuseTraversal(source);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(source)?.[1]?.toLowerCase();
  const local = scheme === undefined || scheme === 'file' || (scheme.length === 1 && isAbsolute(source));
  if (scheme === 'runs') {
    const match = /^runs:\/+([^/]+)(?:\/(.*))?$/i.exec(source);
    if (!match) throw badSource(source, "expected 'runs:/<run_id>/<path>'");
    const sourceRun = match[1] as string;
    if (runId !== undefined && runId !== sourceRun) {
      throw badSource(source, `it names run ${sourceRun} but run_id is ${runId}`);
    }
    const run = await context.requireRun(sourceRun);
    const root = proxiedArtifactPath(run.artifact_uri);
    const path = validateArtifactPath(match[2] ?? '', { field: 'source', allowRoot: true });
    return root === undefined
      ? { runId: sourceRun }
      : { storePath: joinArtifactPath(root, path), runId: sourceRun };
  }
  if (scheme === 'mlflow-artifacts') {
    const storePath = proxiedArtifactPath(source) ?? '';
    if (isRegistryStoragePath(storePath) && storePath !== REGISTRY_STORAGE_PREFIX) {
      return { storePath, ...(runId !== undefined ? { runId } : {}) };
    }
    const loggedModel = LOGGED_MODEL_PATH.exec(storePath)?.[1];
    if (loggedModel !== undefined) {
      // A path that only looks like a logged model's (inside a run's artifacts) is checked as a run's below.
      const root = await context.storageOfModelUri(`models:/${loggedModel}`).catch((error: unknown) => {
        if (error instanceof KeelError && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
        throw error;
      });
      if (root !== undefined && isInside(root, storePath)) {
        return { storePath, ...(runId !== undefined ? { runId } : {}) };
      }
    }
    const run = await context.requireRun(runId ?? runIdInPath(source, storePath));
    const root = proxiedArtifactPath(run.artifact_uri);
    if (root === undefined || !isInside(root, storePath)) {
      throw badSource(source, `it does not lie inside the artifacts of run ${run.run_uuid}`);
    }
    return { storePath, ...(runId !== undefined ? { runId } : {}) };
  }
  if (scheme === 'models') {
    const storePath = await context.storageOfModelUri(source);
    return { ...(storePath !== undefined ? { storePath } : {}), ...(runId !== undefined ? { runId } : {}) };
  }
  if (local) return resolveLocal(source, runId, context);
  return runId !== undefined ? { runId } : {};
}

/**
 * Copies the files at `storePath` (a folder, or one file) into a fresh folder of registry
 * storage named for `now` ({@link registryCopyFolder}), streaming each file, and returns the store
 * path of the copy (the folder, or the copied file). On any failure the partial copy is removed
 * and the error rethrown.
 */
export async function copyIntoRegistry(
  store: ArtifactStore,
  storePath: string,
  source: string,
  now: number,
): Promise<string> {
  const target = joinArtifactPath(REGISTRY_STORAGE_PREFIX, registryCopyFolder(now));
  try {
    const entries = storePath === '' ? [] : await store.list(storePath);
    if (entries.length > 0) {
      await copyFolder(store, storePath, target);
      return target;
    }
    let file: Awaited<ReturnType<ArtifactStore['get']>>;
    try {
      file = await store.get(storePath);
    } catch (error) {
      if (error instanceof KeelError && error.code === 'RESOURCE_DOES_NOT_EXIST') {
        throw badSource(source, 'there are no artifacts at that location');
      }
      throw error;
    }
    const copy = joinArtifactPath(target, baseName(storePath));
    await store.put(copy, file.stream, { size: file.size });
    return copy;
  } catch (error) {
    await store.deletePrefix(target).catch(() => undefined);
    throw error;
  }
}

async function copyFolder(store: ArtifactStore, from: string, to: string): Promise<void> {
  for (const entry of await store.list(from)) {
    const source = joinArtifactPath(from, entry.name);
    const target = joinArtifactPath(to, entry.name);
    if (entry.is_dir) {
      await copyFolder(store, source, target);
    } else {
      const file = await store.get(source);
      await store.put(target, file.stream, { size: file.size });
    }
  }
}

async function resolveLocal(source: string, runId: string | undefined, context: SourceContext) {
  const refuse = () =>
    badSource(
      source,
      "a local path is only accepted together with 'run_id', and must lie inside that run's artifact directory",
    );
  if (runId === undefined) throw refuse();
  const run = await context.requireRun(runId);
  const path = localPathOf(source);
  if (path === undefined) throw refuse();
  const runRoot = proxiedArtifactPath(run.artifact_uri);
  const storeRoot = context.store.uri.startsWith('file:') ? localPathOf(context.store.uri) : undefined;
  if (runRoot !== undefined && storeRoot !== undefined) {
    // The run's artifacts live in Keel's own local store: a path inside them is copied like any other.
    const within = relative(resolve(storeRoot, runRoot), path);
    if (within === '' || (!within.startsWith('..') && !isAbsolute(within))) {
      const rel = within
        .split(/[\\/]/)
        .filter((s) => s !== '')
        .join('/');
      return {
        storePath: joinArtifactPath(runRoot, validateArtifactPath(rel, { field: 'source', allowRoot: true })),
        runId,
      };
    }
  }
  const runDir = run.artifact_uri.startsWith('file:') ? localPathOf(run.artifact_uri) : undefined;
  if (runDir !== undefined) {
    const within = relative(runDir, path);
    if (within === '' || (!within.startsWith('..') && !isAbsolute(within))) return { runId };
  }
  throw refuse();
}

function localPathOf(uri: string): string | undefined {
  try {
    return resolve(uri.toLowerCase().startsWith('file:') ? fileURLToPath(uri) : uri);
  } catch {
    return undefined;
  }
}

/** `<experiment>/<run>/artifacts/…` names its run; anything else cannot be placed without `run_id`. */
function runIdInPath(source: string, storePath: string): string {
  const segments = storePath.split('/');
  if (segments.length >= 3 && segments[2] === 'artifacts' && segments[1]) return segments[1];
  throw badSource(source, "it is not inside a run's artifacts; pass 'run_id'");
}

function isInside(root: string, path: string): boolean {
  return root === '' || path === root || path.startsWith(`${root}/`);
}

/** Refuses `..` segments, also when hidden behind one or more rounds of percent-encoding. */
function refuseTraversal(source: string): void {
  let text = source;
  for (let round = 0; round < 5; round += 1) {
    if (text.split(/[\\/]/).some((segment) => segment === '..')) {
      throw badSource(source, "it contains a '..' path segment");
    }
    if (text.includes('\u0000')) throw badSource(source, 'it contains NUL');
    let decoded: string;
    try {
      decoded = decodeURIComponent(text);
    } catch {
      return;
    }
    if (decoded === text) return;
    text = decoded;
  }
  throw badSource(source, 'it is percent-encoded too many times');
}

function badSource(source: string, why: string): KeelError {
  return invalidParameter(`Invalid model version source '${source.slice(0, 300)}': ${why}`);
}
