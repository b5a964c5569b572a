import type { Transaction } from 'kysely';
import type { Actor } from '../changes/change.js';
import type { Database, KeyValueRow, RunRow } from './schema.js';

/** A run to create with its tags and params; nothing of it is stored yet. */
export interface NewTrackedRun {
  row: RunRow;
  /** Distinct keys. */
  tags: readonly KeyValueRow[];
  /** Distinct keys. */
  params: readonly KeyValueRow[];
  actor: Actor;
}

/**
 * A run to end: a compare-and-set from `previousStatus`, the status its writer gave it (recorded
 * as `before`; the run is not read). A run whose status changed meanwhile, or was deleted, is left
 * alone, and nothing is recorded for it.
 */
export interface TrackedRunEnd {
  runId: string;
  status: string;
  endTime: number;
  previousStatus: string;
  actor: Actor;
}

/**
 * Tracking writes collected while a caller works (the workflow scheduler: during one turn), then
 * stored together in one transaction by a {@link TrackingBatchWriter}: runs created with their
 * tags and params, and runs ended, each recorded (`run.created`, `run.updated`) as the
 * one-at-a-time run API records it.
 *
 * @example
 * const batch = new TrackingBatch();
 * batch.create({ row, tags, params, actor }, executionId);
 * batch.end({ runId, status: 'FINISHED', endTime: Date.now(), previousStatus: 'RUNNING', actor }, executionId);
 * await db.transaction().execute((trx) => runStore.writeBatch(trx, batch));
 */
export class TrackingBatch {
  readonly created: NewTrackedRun[] = [];
  readonly ended: TrackedRunEnd[] = [];
  /** Whom the writes are for (the scheduler: execution ids), to name them when writing fails. */
  readonly sources = new Set<string>();

  /** Whether there is nothing to write. */
  get empty(): boolean {
    return this.created.length === 0 && this.ended.length === 0;
  }

  /** Adds a run to create, on behalf of `source`. */
  create(run: NewTrackedRun, source: string): void {
    this.created.push(run);
    this.sources.add(source);
  }

  /** Adds a run to end, on behalf of `source`. */
  end(end: TrackedRunEnd, source: string): void {
    this.ended.push(end);
    this.sources.add(source);
  }
}

/** Stores a {@link TrackingBatch} inside the caller's transaction (the run store does). */
export interface TrackingBatchWriter {
  writeBatch(trx: Transaction<Database>, batch: TrackingBatch): Promise<void>;
}

/** Writing a {@link TrackingBatch} failed; the transaction it was part of was rolled back. */
export class TrackingWriteError extends Error {
  override readonly name = 'TrackingWriteError';

  constructor(
    /** The batch's {@link TrackingBatch.sources}. */
    readonly sources: readonly string[],
    cause: unknown,
  ) {
    super(`Writing tracking runs failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}
