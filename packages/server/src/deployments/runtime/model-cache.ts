/**
 * Loaded registered model versions, shared by every deployment arm that serves them: each version is
 * downloaded, loaded and warmed once, counted while in use, and closed a while after its last user
 * let go.
 */
import { KeelError } from '@keel/core';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import { type LoadModelOptions, loadModelFromDirectory } from '../../models/load-model.js';
import type { Model } from '../../models/model.js';
import { materializeModel } from './model-materializer.js';
import { warmUpModel } from './warm-up.js';

/** How long an unused model stays loaded. @default 60 000 ms */
export const DEFAULT_IDLE_EVICT_MS = 60_000;

/** Options of {@link ModelCache}; resolved once and frozen. */
export interface ModelCacheOptions {
  /** Where registry copies of versions live. */
  artifacts: ArtifactStore;
  /** Local folder the versions' files are copied into (`<cacheDir>/<name>/<version>-<digest>`). */
  cacheDir: string;
  /** How long a model nobody uses stays loaded before it is closed. @default DEFAULT_IDLE_EVICT_MS */
  idleEvictMs?: number;
  /** Options for every load (`name` and `workers` are set per version). @default {} */
  loadOptions?: LoadModelOptions;
  /** Score each freshly loaded model's serving input example before handing it out. @default true */
  warmUp?: boolean;
}

/** Which version to load: as the registry resolved it. */
export interface ModelVersionRef {
  /** Registered model name. */
  name: string;
  /** Version number, as a string. */
  version: string;
  /** Artifact-store folder of the version's files (the registry's immutable copy). */
  storageLocation: string;
  /**
   * Worker threads of the loaded model (the flavor's default when absent). Part of the identity: two
   * users asking for different worker counts get separate loads.
   */
  workers?: number;
}

/** One user's hold on a loaded model; {@link release} when done. */
export interface CachedModel {
  readonly name: string;
  readonly version: string;
  /** Digest of the version's files (see `materializeModel`). */
  readonly digest: string;
  /** Local folder the model was loaded from. */
  readonly dir: string;
  readonly model: Model;
  /** Gives the hold back; idempotent. The last release starts the idle timer. */
  release(): void;
}

/** A loaded model as {@link ModelCache.loaded} lists it. */
export interface LoadedModelInfo {
  readonly name: string;
  readonly version: string;
  readonly digest: string;
  readonly workers: number | undefined;
  /** Holds not yet released. */
  readonly users: number;
}

interface Loaded {
  readonly digest: string;
  readonly dir: string;
  readonly model: Model;
}

interface Entry {
  readonly key: string;
  readonly ref: ModelVersionRef;
  readonly loading: Promise<Loaded>;
  loaded: Loaded | undefined;
  users: number;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Loads each registered model version once and shares it.
 *
 * - {@link acquire} materializes the version's files (`materializeModel`, which reuses a copy already
 *   in `cacheDir`, from this process or an earlier one, without downloading or hashing it), loads them with
 *   `loadModelFromDirectory` (named after the registered model) and warms the model (`warmUpModel`)
 *   — once, however many callers ask at the same time; they all get the same `Model`.
 * - Every acquire must be paired with one `release()`. When the last hold is released the model stays
 *   loaded for `idleEvictMs`, then is closed and forgotten; an acquire in between keeps it.
 * - A failed load rejects every waiting caller and is forgotten, so the next acquire tries again.
 * - Versions are identified by name, version, storage location and worker count; the storage
 *   location is the registry's per-version copy, so a model deleted and re-created under the same name
 *   never reuses another's load.
 *
 * @example
 * const cache = new ModelCache({ artifacts, cacheDir: '/var/cache/keel/models' });
 * const held = await cache.acquire({ name: 'fraud', version: '3', storageLocation: 'registry/ab12…' });
 * const output = await held.model.predict(input);
 * held.release();
 * await cache.close();
 */
export class ModelCache {
  readonly #options: Readonly<Required<ModelCacheOptions>>;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(options: ModelCacheOptions) {
    const idleEvictMs = options.idleEvictMs ?? DEFAULT_IDLE_EVICT_MS;
    if (!Number.isFinite(idleEvictMs) || idleEvictMs < 0) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `idleEvictMs must be a non-negative number, got ${idleEvictMs}`,
      );
    }
    this.#options = Object.freeze({
      artifacts: options.artifacts,
      cacheDir: options.cacheDir,
      idleEvictMs,
      loadOptions: Object.freeze({ ...options.loadOptions }),
      warmUp: options.warmUp ?? true,
    });
  }

  /**
   * Holds the loaded model of `ref`, loading it first when nobody holds it.
   * @throws TEMPORARILY_UNAVAILABLE after {@link close}; whatever materializing, loading or warming
   *   the version throws.
   */
  async acquire(ref: ModelVersionRef): Promise<CachedModel> {
    if (this.#closed) throw closedError();
    const key = keyOf(ref);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = this.#load(key, ref);
      this.#entries.set(key, entry);
    }
    entry.users++;
    if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    let loaded: Loaded;
    try {
      loaded = await entry.loading;
    } catch (error) {
      entry.users--;
      throw error;
    }
    const held = entry;
    let released = false;
    return {
      name: ref.name,
      version: ref.version,
      digest: loaded.digest,
      dir: loaded.dir,
      model: loaded.model,
      release: () => {
        if (released) return;
        released = true;
        this.#release(held);
      },
    };
  }

  /** The models loaded now, with how many holds each has. */
  loaded(): LoadedModelInfo[] {
    const out: LoadedModelInfo[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.loaded === undefined) continue;
      out.push({
        name: entry.ref.name,
        version: entry.ref.version,
        digest: entry.loaded.digest,
        workers: entry.ref.workers,
        users: entry.users,
      });
    }
    return out;
  }

  /**
   * Closes every model, held or not, and refuses new acquires; loads in progress are closed when
   * they finish. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(
      entries.map(async (entry) => {
        if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
        entry.idleTimer = undefined;
        const loaded = await entry.loading.catch(() => undefined);
        await loaded?.model.close();
      }),
    );
  }

  #load(key: string, ref: ModelVersionRef): Entry {
    const entry: Entry = {
      key,
      ref,
      loading: this.#materializeAndLoad(ref).then(
        (loaded) => {
          entry.loaded = loaded;
          return loaded;
        },
        (error: unknown) => {
          // Forget the failure so that the next acquire retries.
          if (this.#entries.get(key) === entry) this.#entries.delete(key);
          throw error;
        },
      ),
      loaded: undefined,
      users: 0,
      idleTimer: undefined,
    };
    return entry;
  }

  async #materializeAndLoad(ref: ModelVersionRef): Promise<Loaded> {
    const { dir, digest } = await materializeModel({
      store: this.#options.artifacts,
      storageLocation: ref.storageLocation,
      name: ref.name,
      version: ref.version,
      cacheDir: this.#options.cacheDir,
    });
    const model = await loadModelFromDirectory(dir, {
      ...this.#options.loadOptions,
      name: ref.name,
      ...(ref.workers !== undefined ? { workers: ref.workers } : {}),
    });
    try {
      if (this.#options.warmUp) await warmUpModel(model);
      if (this.#closed) throw closedError();
    } catch (error) {
      await model.close();
      throw error;
    }
    return { digest, dir, model };
  }

  #release(entry: Entry): void {
    entry.users--;
    if (entry.users > 0 || this.#entries.get(entry.key) !== entry) return;
    entry.idleTimer = setTimeout(() => {
      entry.idleTimer = undefined;
      if (entry.users > 0 || this.#entries.get(entry.key) !== entry) return;
      this.#entries.delete(entry.key);
      // Closing is best effort: the model is unreachable from here on either way.
      void entry.loaded?.model.close().catch(() => undefined);
    }, this.#options.idleEvictMs);
    entry.idleTimer.unref?.();
  }
}

function keyOf(ref: ModelVersionRef): string {
  return JSON.stringify([ref.name, ref.version, ref.storageLocation, ref.workers ?? null]);
}

function closedError(): KeelError {
  return new KeelError('TEMPORARILY_UNAVAILABLE', 'The model cache is shutting down');
}
