import type { ExperimentStore } from '../store/experiment-store.js';
import type { RunStore } from '../store/run-store.js';
import type { Clock } from './clock.js';

/** What `keel gc` should remove. Without ids, every deleted run and experiment is a candidate. */
export interface GcOptions {
  /** Only items deleted at least this many milliseconds ago. */
  olderThanMs?: number;
  /** Only these runs (each must be deleted). */
  runIds?: readonly string[];
  /** Only these experiments (each must be deleted); their runs go with them. */
  experimentIds?: readonly string[];
}

/** The outcome for one run or experiment: gc never stops halfway on one bad item. */
export interface GcItemResult {
  kind: 'run' | 'experiment';
  id: string;
  status: 'removed' | 'skipped' | 'failed';
  reason?: string;
}

/**
 * Permanently removes soft-deleted runs and experiments and everything logged to them.
 * Returns one result per item instead of throwing halfway.
 */
export class GcService {
  constructor(private readonly options: { experiments: ExperimentStore; runs: RunStore; clock: Clock }) {}

  async collect(options: GcOptions = {}): Promise<GcItemResult[]> {
    const before = options.olderThanMs === undefined ? undefined : this.options.clock() - options.olderThanMs;
    const results: GcItemResult[] = [];
    const everything = options.runIds === undefined && options.experimentIds === undefined;
    // An experiment's purge cascades to its runs, so naming experiments alone needs no run pass.
    const runIds = options.runIds ?? (everything ? await this.options.runs.deletedIds(before) : []);
    const experimentIds =
      options.experimentIds?.map(Number) ??
      (everything ? await this.options.experiments.deletedIds(before) : []);
    for (const runId of runIds) results.push(await this.collectRun(runId, before));
    for (const id of experimentIds) results.push(await this.collectExperiment(id, before));
    return results;
  }

  private async collectRun(runId: string, before: number | undefined): Promise<GcItemResult> {
    const item = { kind: 'run', id: runId } as const;
    try {
      const run = await this.options.runs.get(runId);
      if (!run) return { ...item, status: 'skipped', reason: 'no such run' };
      if (run.lifecycle_stage !== 'deleted')
        return { ...item, status: 'skipped', reason: 'run is not deleted' };
      if (before !== undefined && (run.deleted_time ?? 0) >= before) {
        return { ...item, status: 'skipped', reason: 'deleted too recently' };
      }
      await this.options.runs.purge(runId);
      return { ...item, status: 'removed' };
    } catch (error) {
      return { ...item, status: 'failed', reason: (error as Error).message };
    }
  }

  private async collectExperiment(id: number, before: number | undefined): Promise<GcItemResult> {
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
      await this.options.experiments.purge(id);
      return { ...item, status: 'removed' };
    } catch (error) {
      return { ...item, status: 'failed', reason: (error as Error).message };
    }
  }
}
