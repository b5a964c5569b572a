/**
 * Prediction inserts for a SQLite file, on a worker thread with its own connection.
 *
 * better-sqlite3 is synchronous: on the main thread, a batch insert stops the event loop for as
 * long as SQLite works (tens of microseconds per row, with the table's indexes), which a server
 * answering thousands of predictions a second cannot spare. The worker does that work beside it;
 * the main thread only hands the records' lines across. SQLite's own locking (WAL, a busy timeout,
 * `BEGIN IMMEDIATE`) orders the worker's transactions with the main connection's.
 *
 * Why a source string run with `new Worker(source, { eval: true })`: see `models/onnx/onnx-worker.ts`
 * (a worker file would be `.ts` under vitest and `.js` in `dist`). better-sqlite3 is resolved in the
 * main thread and its absolute path passed in `workerData`.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { CHECKPOINT_FALLBACK_PAGES } from '../store/sqlite/sqlite-checkpointer.js';
import { PREDICTION_COLUMNS, PREDICTION_LINE_FORMAT, PREDICTION_ROW_DEFAULTS } from './prediction-record.js';
import { SQLITE_ROWS_PER_INSERT } from './prediction-store.js';

/** Settings of a {@link SqliteInsertWorker}. */
export interface SqliteInsertWorkerOptions {
  /** The SQLite file (not `:memory:`: a worker cannot share an in-memory database). */
  path: string;
  /** How long a transaction waits for another connection's write lock. @default 30000 */
  busyTimeoutMs?: number;
}

interface WorkerData {
  driverPath: string;
  path: string;
  busyTimeoutMs: number;
  columns: readonly string[];
  defaults: Readonly<Record<string, string | number>>;
  rowsPerInsert: number;
  /** `PREDICTION_LINE_FORMAT`: the first element of a record line in array form. */
  lineFormat: number;
  /** The store's main connection checkpoints past this many WAL pages; so does this one. */
  walAutocheckpoint: number;
  /** Columns most records of a batch agree on, bound once per run of such records. */
  sharedColumns: readonly string[];
}

/**
 * The columns a deployment's calls share (its revision, the arm's model, the caller, the protocol,
 * the recording mode): consecutive records that agree on them are inserted with them bound once.
 */
const SHARED_COLUMNS: readonly string[] = [
  // deployment, deployment_revision, model_name, model_version, model_digest, arm, caller, protocol
  ...PREDICTION_COLUMNS.slice(
    PREDICTION_COLUMNS.indexOf('deployment'),
    PREDICTION_COLUMNS.indexOf('received_at'),
  ),
  'recorded',
];

type Reply = { id: number; inserted: number } | { id: number; error: string } | { id: number; closed: true };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);
const { columns, defaults, rowsPerInsert, busyTimeoutMs, sharedColumns } = workerData;
const width = columns.length;
// Columns bound once per run of rows that agree on them (named parameters, reused by every tuple of
// a statement), and the rest, bound per row: fewer values to convert and bind.
const shared = columns.map((column) => sharedColumns.includes(column));
const own = columns.length - sharedColumns.length;
const db = new Database(workerData.path, { timeout: busyTimeoutMs });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = ' + busyTimeoutMs);
db.pragma('wal_autocheckpoint = ' + workerData.walAutocheckpoint);
const insertSql = (rows) => {
  const tuple = '(' + columns.map((column, k) => (shared[k] ? '@' + column : '?')).join(', ') + ')';
  return 'insert into prediction_records (' + columns.join(', ') + ') values ' +
    Array.from({ length: rows }, () => tuple).join(', ') + ' on conflict (record_id) do nothing';
};
let write;
function prepare() {
  const many = db.prepare(insertSql(rowsPerInsert));
  const one = db.prepare(insertSql(1));
  // Values passed as arguments, not as one array: better-sqlite3 reads an array's elements one
  // by one through V8's API, which costs as much as binding them.
  const transaction = db.transaction((runs) => {
    let inserted = 0;
    for (const { values, count, named } of runs) {
      let row = 0;
      for (; row + rowsPerInsert <= count; row += rowsPerInsert) {
        inserted += many.run(...values.slice(row * own, (row + rowsPerInsert) * own), named).changes;
      }
      for (; row < count; row++) inserted += one.run(...values.slice(row * own, (row + 1) * own), named).changes;
    }
    return inserted;
  });
  return (runs) => transaction.immediate(runs);
}
const valueAt = (value, k) => (value === undefined || value === null ? (defaults[columns[k]] ?? null) : value);
// Each line is an array [format, ...values in column order] (toPredictionLine), or a JSON-serialised
// row written by an earlier version (see predictionRowFromLine, whose defaults these are).
// Consecutive rows with the same shared columns form one run.
function runsOf(lines) {
  const runs = [];
  const cells = new Array(width);
  let run;
  for (const line of lines) {
    const parsed = JSON.parse(line);
    if (Array.isArray(parsed)) {
      if (parsed[0] !== workerData.lineFormat) throw new Error('a prediction record line of an unknown layout');
      for (let k = 0; k < width; k++) cells[k] = valueAt(parsed[k + 1], k);
    } else {
      for (let k = 0; k < width; k++) cells[k] = valueAt(parsed[columns[k]], k);
    }
    let same = run !== undefined;
    for (let k = 0; same && k < width; k++) if (shared[k] && run.named[columns[k]] !== cells[k]) same = false;
    if (!same) {
      const named = {};
      for (let k = 0; k < width; k++) if (shared[k]) named[columns[k]] = cells[k];
      run = { values: [], count: 0, named };
      runs.push(run);
    }
    for (let k = 0; k < width; k++) if (!shared[k]) run.values.push(cells[k]);
    run.count++;
  }
  return runs;
}
parentPort.on('message', (message) => {
  if (message.close) {
    try { db.close(); } catch {}
    parentPort.postMessage({ id: message.id, closed: true });
    return;
  }
  try {
    write ??= prepare();
    parentPort.postMessage({ id: message.id, inserted: write(runsOf(message.lines)) });
  } catch (error) {
    // Prepared again next time: the schema may have changed (a table renamed and back).
    write = undefined;
    parentPort.postMessage({ id: message.id, error: String((error && error.message) || error) });
  }
});
`;

/**
 * Inserts prediction rows into a SQLite file from a worker thread; a drop-in for
 * `PredictionStore.insertLines` as the recorder's sink. Rows whose `record_id` is stored are skipped.
 * The worker starts on the first insert and is replaced if it dies; {@link close} stops it.
 *
 * @example
 * const sink = new SqliteInsertWorker({ path: '/var/lib/keel/keel.db' });
 * const recorder = new PredictionRecorder({ store: sink, spillDir });
 */
export class SqliteInsertWorker {
  readonly #data: WorkerData;
  #worker: Worker | undefined;
  #nextId = 0;
  readonly #pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();

  constructor(options: SqliteInsertWorkerOptions) {
    if (options.path === ':memory:' || options.path === '') {
      throw new Error('SqliteInsertWorker needs a SQLite file, not an in-memory database');
    }
    this.#data = {
      driverPath: createRequire(import.meta.url).resolve('better-sqlite3'),
      path: options.path,
      busyTimeoutMs: options.busyTimeoutMs ?? 30_000,
      columns: PREDICTION_COLUMNS,
      defaults: PREDICTION_ROW_DEFAULTS as Record<string, string | number>,
      rowsPerInsert: SQLITE_ROWS_PER_INSERT,
      lineFormat: PREDICTION_LINE_FORMAT,
      walAutocheckpoint: CHECKPOINT_FALLBACK_PAGES,
      sharedColumns: SHARED_COLUMNS,
    };
  }

  /**
   * Inserts records given as lines (`toPredictionLine`, as the recorder keeps them) in one
   * transaction; returns how many were new. The lines cross to the worker as strings (copied once
   * by `postMessage`, no structured clone of every value) and are parsed there, off the main thread.
   */
  async insertLines(lines: readonly string[]): Promise<number> {
    if (lines.length === 0) return 0;
    const reply = await this.#send({ lines });
    if ('error' in reply) throw new Error(`Inserting prediction records failed: ${reply.error}`);
    return 'inserted' in reply ? reply.inserted : 0;
  }

  /** Closes the worker's connection and stops the thread. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    try {
      await this.#send({ close: true });
    } catch {
      // Already gone.
    }
    this.#worker = undefined;
    await worker.terminate();
  }

  #send(message: object): Promise<Reply> {
    const worker = this.#worker ?? this.#start();
    const id = ++this.#nextId;
    // Referenced only while a write is outstanding: an idle worker must not keep the process
    // alive, a busy one must (a script awaiting flush() would otherwise exit mid-write).
    if (this.#pending.size === 0) worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...message });
    });
  }

  #start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.#data });
    worker.on('message', (reply: Reply) => {
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      waiter?.resolve(reply);
    });
    const fail = (error: Error): void => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const waiter of this.#pending.values()) waiter.reject(error);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the prediction insert worker exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }
}
