import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { proxiedArtifactPath } from '../artifacts/proxied-uri.js';
import { type Actor, systemActor } from '../changes/change.js';
import type { ExperimentStore } from '../store/experiment-store.js';
import type { RegistryStore } from '../store/registry-store.js';
import type { RunStore } from '../store/run-store.js';
import type { Clock } from './clock.js';
import { REGISTRY_STORAGE_PREFIX, registryCopyTime } from './registry/registry-storage.js';

/**
 * How old a registry copy that no model version uses must be before gc deletes it (24 hours): a
 * version's files are copied before its row is written, so a younger copy may belong to a version
 * being created right now.
 */
export const REGISTRY_COPY_MIN_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * What `keel gc` should remove. Without ids, every deleted run and experiment is a candidate, and
 * so is every registry copy no model version uses.
 */
export interface GcOptions {
  /** Only items deleted (registry copies: made) at least this many milliseconds ago. */
  olderThanMs?: number;
  /** Only these runs (each must be deleted). */
  runIds?: readonly string[];
  /** Only these experiments (each must be deleted); their runs go with them. */
  experimentIds?: readonly string[];
}

/** The outcome for one run or experiment: gc never stops halfway on one bad item. */
export interface GcItemResult {
  kind: 'run' | 'experiment' | 'registry-copy';
  /** A run id, an experiment id, or a registry copy's folder (`registry/<name>`). */
  id: string;
  status: 'removed' | 'skipped' | 'failed';
  reason?: string;
}

/** Collaborators of {@link GcService}. */
export interface GcServiceOptions {
  experiments: ExperimentStore;
  runs: RunStore;
  /** Which registry copies model versions use. */
  registry: Pick<RegistryStore, 'storageLocations'>;
  /** Where the artifacts of removed runs, and unused registry copies, are deleted from. */
  artifacts: ArtifactStore;
  clock: Clock;
}

/**
 * Permanently removes soft-deleted runs and experiments, everything logged to them, and their
 * artifacts in Keel's artifact store; and, when no ids are named, the registry copies no model
 * version uses (left when deleting a version could not delete its files, or when a server stopped
 * between copying a new version's files and writing its row), once they are
 * {@link REGISTRY_COPY_MIN_AGE_MS} old. Returns one result per item instead of throwing halfway.
 *
 * Artifacts go first: when they cannot be deleted the item is reported `failed` with the reason
 * and its metadata is kept, so the next gc tries again instead of leaving orphaned files.
 * Only artifacts under `mlflow-artifacts:` URIs are Keel's to delete; runs logging elsewhere
 * keep their files.
 */
export class GcService {
  constructor(private readonly options: GcServiceOptions) {}

  /** Each purge is recorded (`run.purged`, `experiment.purged`) under `actor`. */
  async collect(options: GcOptions = {}, actor: Actor = systemActor('keel gc')): Promise<GcItemResult[]> {
    const before = options.olderThanMs === undefined ? undefined : this.options.clock() - options.olderThanMs;
    const results: GcItemResult[] = [];
    const everything = options.runIds === undefined && options.experimentIds === undefined;
    // An experiment's purge cascades to its runs, so naming experiments alone needs no run pass.
    const runIds = options.runIds ?? (everything ? await this.options.runs.deletedIds(before) : []);
    const experimentIds =
      options.experimentIds?.map(Number) ??
      (everything ? await this.options.experiments.deletedIds(before) : []);
    for (const runId of runIds) results.push(await this.collectRun(runId, before, actor));
    for (const id of experimentIds) results.push(await this.collectExperiment(id, before, actor));
    if (everything) results.push(...(await this.collectRegistryCopies(before)));
    return results;
  }

  /**
   * Deletes the folders of registry storage that no model version's `storage_location` lies in
   * and whose name ({@link registryCopyTime}) says they were made before `before` and at least
   * {@link REGISTRY_COPY_MIN_AGE_MS} ago. Copies too young are left out of the results (like runs
   * deleted too recently); a folder whose name carries no time is reported skipped.
   */
  private async collectRegistryCopies(before: number | undefined): Promise<GcItemResult[]> {
    const kind = 'registry-copy';
    const cutoff = Math.min(
      before ?? Number.POSITIVE_INFINITY,
      this.options.clock() - REGISTRY_COPY_MIN_AGE_MS,
    );
    let folders: string[];
    let used: Set<string>;
    try {
      // Listed before the versions are read: a copy whose version is written in between is then
      // young, and skipped.
      folders = (await this.options.artifacts.list(REGISTRY_STORAGE_PREFIX))
        .filter((entry) => entry.is_dir)
        .map((entry) => entry.name);
      used = new Set(
        (await this.options.registry.storageLocations()).map((location) => location.split('/')[1] ?? ''),
      );
    } catch (error) {
      return [{ kind, id: REGISTRY_STORAGE_PREFIX, status: 'failed', reason: (error as Error).message }];
    }
    const results: GcItemResult[] = [];
    for (const folder of folders) {
      if (used.has(folder)) continue;
      const id = `${REGISTRY_STORAGE_PREFIX}/${folder}`;
      const made = registryCopyTime(folder);
      if (made === undefined) {
        results.push({
          kind,
          id,
          status: 'skipped',
          reason: 'no model version uses it, but its name does not say when it was made; delete it by hand',
        });
        continue;
      }
      if (made >= cutoff) continue;
      const failure = await this.deleteArtifacts([id]);
      results.push(
        failure ? { kind, id, status: 'failed', reason: failure } : { kind, id, status: 'removed' },
      );
    }
    return results;
  }

  private async collectRun(runId: string, before: number | undefined, actor: Actor): Promise<GcItemResult> {
    const item = { kind: 'run', id: runId } as const;
    try {
      const run = await this.options.runs.get(runId);
      if (!run) return { ...item, status: 'skipped', reason: 'no such run' };
      if (run.lifecycle_stage !== 'deleted')
        return { ...item, status: 'skipped', reason: 'run is not deleted' };
      if (before !== undefined && (run.deleted_time ?? 0) >= before) {
        return { ...item, status: 'skipped', reason: 'deleted too recently' };
      }
      const failure = await this.deleteArtifacts([runArtifactFolder(run.run_uuid, run.artifact_uri)]);
      if (failure) return { ...item, status: 'failed', reason: failure };
      await this.options.runs.purge(runId, actor);
      return { ...item, status: 'removed' };
    } catch (error) {
      return { ...item, status: 'failed', reason: (error as Error).message };
    }
  }

  private async collectExperiment(
    id: number,
    before: number | undefined,
    actor: Actor,
  ): Promise<GcItemResult> {
    const item = { kind: 'experiment', id: String(id) } as const;
    try {
      if (!Number.isSafeInteger(id)) return { ...item, status: 'skipped', reason: 'no such experiment' };
      const experiment = await this.options.experiments.get(id);
      if (!experiment) return { ...item, status: 'skipped', reason: 'no such experiment' };
      if (experiment.lifecycleStage !== 'deleted') {
        return { ...item, status: 'skipped', reason: 'experiment is not deleted' };
      }
      if (before !== undefined && experiment.lastUpdateTime >= before) {
        return { ...item, status: 'skipped', reason: 'deleted too recently' };
      }
      // The runs' rows vanish with the purge: their artifact folders are collected first.
      const folders: (string | undefined)[] = [];
      // Keel's default location `mlflow-artifacts:/<id>` is this experiment's alone; a location
      // chosen at creation may be shared, so only the runs' own folders are deleted there.
      const own = keelArtifactPath(experiment.artifactLocation);
      if (own === String(id)) folders.push(own);
      for (const run of await this.options.runs.artifactUris(id)) {
        const folder = runArtifactFolder(run.run_uuid, run.artifact_uri);
        if (folder !== undefined && own === String(id) && folder.startsWith(`${own}/`)) continue;
        folders.push(folder);
      }
      const failure = await this.deleteArtifacts(folders);
      if (failure) return { ...item, status: 'failed', reason: failure };
      await this.options.experiments.purge(id, actor);
      return { ...item, status: 'removed' };
    } catch (error) {
      return { ...item, status: 'failed', reason: (error as Error).message };
    }
  }

  /** Deletes each folder, carrying on past failures; returns the first failure's reason. */
  private async deleteArtifacts(folders: readonly (string | undefined)[]): Promise<string | undefined> {
    let failure: string | undefined;
    for (const folder of folders) {
      if (folder === undefined) continue;
      try {
        await this.options.artifacts.deletePrefix(folder);
      } catch (error) {
        failure ??= `could not delete artifacts at '${folder}': ${(error as Error).message}`;
      }
    }
    return failure;
  }
}

/**
 * The store folder holding a run's artifacts, or `undefined` when the run's URI is not Keel's
 * (or is unusable). Keel's runs live at `<exp>/<run_id>/artifacts`; the `<run_id>` folder goes too.
 */
function runArtifactFolder(runId: string, artifactUri: string): string | undefined {
  const path = keelArtifactPath(artifactUri);
  if (path === undefined || path === '') return undefined;
  const suffix = `/${runId}/artifacts`;
  if (path.endsWith(suffix)) return path.slice(0, -'/artifacts'.length);
  if (path === `${runId}/artifacts`) return runId;
  return path;
}

/** The store path of a `mlflow-artifacts:` URI; `undefined` for other URIs and for unusable ones. */
function keelArtifactPath(uri: string): string | undefined {
  try {
    return proxiedArtifactPath(uri);
  } catch {
    return undefined;
  }
}
