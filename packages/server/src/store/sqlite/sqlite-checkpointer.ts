/**
 * WAL checkpoints of a SQLite file, from a worker thread with its own connection.
 *
 * In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back into the
 * database file and, with `synchronous=NORMAL`, fsyncs both files. SQLite runs it inside the
 * commit that takes the WAL past `wal_autocheckpoint` pages, so one commit in a few dozen stalled
 * the main thread for the copy and the two fsyncs (10–20 ms on a busy machine; 0.3–0.5 ms per
 * task of the workflow benchmark, whose scheduler commits once per turn). Here a worker copies the
 * pages as they come (a `PASSIVE` checkpoint: it never blocks the main connection, which goes on
 * reading and writing meanwhile); the main connection still checkpoints past
 * {@link CHECKPOINT_FALLBACK_PAGES}, which lets the WAL start over from its beginning (only a
 * writer can do that, once everything is copied) and which, the pages being copied already,
 * costs it little. Durability is unchanged: a commit is in the WAL before it returns, whoever
 * copies it later; a checkpoint interrupted by a crash is redone from the WAL on the next open.
 *
 * Why a source string run with `new Worker(source, { eval: true })`: see `models/onnx/onnx-worker.ts`.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/**
 * `wal_autocheckpoint` of a main connection with a {@link SqliteCheckpointer} beside it: past
 * this many WAL pages (4 KiB each, so ~40 MB) its next commit checkpoints what the worker has not
 * copied yet and lets the WAL start over. SQLite's default, 1000, would have it checkpoint a few
 * times a second under load. The store's other writer, the prediction insert worker's connection,
 * uses it too: with the WAL held past 1000 pages it would otherwise checkpoint after every commit.
 */
export const CHECKPOINT_FALLBACK_PAGES = 10_000;

/** Timings of a {@link SqliteCheckpointer}. */
export interface SqliteCheckpointerOptions {
  /** The SQLite file (not `:memory:`), in WAL mode. */
  path: string;
  /**
   * Delay between checkpoints while commits keep coming. A page rewritten by several commits in
   * between is copied once; at 50 ms the copies and their fsyncs cost a server recording 6,000
   * predictions/s a visible share of its CPU. @default 250
   */
  activeIntervalMs?: number;
  /** Longest delay once the WAL stops growing (the delay doubles up to it). @default 1000 */
  idleIntervalMs?: number;
}

/** The defaults of {@link SqliteCheckpointerOptions}. */
export const SQLITE_CHECKPOINTER_DEFAULTS = Object.freeze({ activeIntervalMs: 250, idleIntervalMs: 1000 });

interface WorkerData {
  driverPath: string;
  path: string;
  activeIntervalMs: number;
  idleIntervalMs: number;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);
const { activeIntervalMs, idleIntervalMs } = workerData;
let db;
let timer;
let delay = activeIntervalMs;
let last = '';
function tick() {
  let state = '';
  try {
    if (db === undefined) {
      db = new Database(workerData.path, { fileMustExist: true, timeout: 0 });
      // Checkpoints sync as the main connection's commits expect (never OFF).
      db.pragma('synchronous = NORMAL');
    }
    // [{ busy, log, checkpointed }]: log = pages in the WAL, checkpointed = pages copied back.
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    state = result.log + '/' + result.checkpointed;
  } catch {
    // Busy (another checkpoint, a recovery) or gone (the file was removed): try again later.
  }
  delay = state !== last ? activeIntervalMs : Math.min(delay * 2, idleIntervalMs);
  last = state;
  timer = setTimeout(tick, delay);
}
parentPort.on('message', (message) => {
  if (!message.close) return;
  clearTimeout(timer);
  try { db?.close(); } catch {}
  parentPort.postMessage({ closed: true });
  parentPort.close();
});
timer = setTimeout(tick, activeIntervalMs);
`;

/**
 * Checkpoints a SQLite file's WAL from a worker thread (see the module comment); the main
 * connection keeps `wal_autocheckpoint` as a fallback ({@link CHECKPOINT_FALLBACK_PAGES}). The
 * worker never keeps the process alive; if it cannot start or dies, the main connection's own
 * checkpoints carry on alone.
 *
 * @example
 * const checkpointer = new SqliteCheckpointer({ path: '/var/lib/keel/keel.db' });
 * checkpointer.start();
 * // …
 * await checkpointer.close();
 */
export class SqliteCheckpointer {
  readonly #data: WorkerData;
  #worker: { thread: Worker; exited: Promise<void> } | undefined;

  constructor(options: SqliteCheckpointerOptions) {
    if (options.path === ':memory:' || options.path === '') {
      throw new Error('SqliteCheckpointer needs a SQLite file, not an in-memory database');
    }
    this.#data = {
      driverPath: createRequire(import.meta.url).resolve('better-sqlite3'),
      path: options.path,
      activeIntervalMs: options.activeIntervalMs ?? SQLITE_CHECKPOINTER_DEFAULTS.activeIntervalMs,
      idleIntervalMs: options.idleIntervalMs ?? SQLITE_CHECKPOINTER_DEFAULTS.idleIntervalMs,
    };
  }

  /** Whether the worker runs. */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** Starts the worker (a no-op while it runs). */
  start(): void {
    if (this.#worker !== undefined) return;
    const thread = new Worker(WORKER_SOURCE, { eval: true, workerData: this.#data });
    thread.unref();
    const worker = {
      thread,
      exited: new Promise<void>((resolve) => thread.once('exit', () => resolve())),
    };
    // An error ends the thread ('exit' follows); the main connection checkpoints alone then.
    thread.on('error', () => undefined);
    void worker.exited.then(() => {
      if (this.#worker === worker) this.#worker = undefined;
    });
    this.#worker = worker;
  }

  /** Closes the worker's connection and stops the thread (terminated if it does not stop within a second). */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#worker = undefined;
    worker.thread.postMessage({ close: true });
    const timer = setTimeout(() => void worker.thread.terminate(), CLOSE_TIMEOUT_MS);
    await worker.exited;
    clearTimeout(timer);
  }
}

const CLOSE_TIMEOUT_MS = 1000;

/**
 * Starts a {@link SqliteCheckpointer} for the main connection `sqlite` of file `path`, and makes
 * that connection's own checkpoints the fallback ({@link CHECKPOINT_FALLBACK_PAGES}; the WAL file
 * is cut back to 64 MiB when it starts over after growing past that). Returns undefined, leaving
 * the connection as it was, for an in-memory database or when no worker can start.
 */
export function startCheckpointer(
  sqlite: SqliteDatabase.Database,
  path: string,
): SqliteCheckpointer | undefined {
  if (path === ':memory:') return undefined;
  const checkpointer = new SqliteCheckpointer({ path });
  try {
    checkpointer.start();
  } catch {
    return undefined;
  }
  sqlite.pragma(`wal_autocheckpoint = ${CHECKPOINT_FALLBACK_PAGES}`);
  sqlite.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  return checkpointer;
}
