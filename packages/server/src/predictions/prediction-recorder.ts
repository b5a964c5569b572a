import {
  DEFAULT_MAX_PAYLOAD_CHARS,
  type PredictionRecordInput,
  predictionRowFromLine,
  timeOrderedId,
  toPredictionLine,
} from './prediction-record.js';
import {
  PredictionJournal,
  type SpillFile,
  type SpillLine,
  SpillLog,
  type SpillLogger,
} from './spill-log.js';

/**
 * Where the recorder writes: a `PredictionStore`, or a `SqliteInsertWorker` for a SQLite file.
 * Records travel as lines (`toPredictionLine`: a JSON array of the row's values; read back with
 * `predictionRowFromLine`), the form the recorder buffers, journals and spills them in.
 * `insertLines` skips record ids already stored and returns how many rows were new.
 */
export interface PredictionSink {
  insertLines(lines: readonly string[]): Promise<number>;
  /** Called once by {@link PredictionRecorder.close}, after the last write. */
  close?(): Promise<void>;
}

/** Where the recorder reports failures (pino's `warn`/`error` fit; Fastify's `app.log` does). */
export type PredictionRecorderLogger = SpillLogger;

/** Settings of a {@link PredictionRecorder}; every field but `store` and `spillDir` has a default. */
export interface PredictionRecorderOptions {
  /** Where records go. */
  store: PredictionSink;
  /** Folder of the spill files and the journal (created on first use). Give each store its own. */
  spillDir: string;
  /** @default a logger that drops everything */
  logger?: PredictionRecorderLogger;
  /** Records written per batch (one multi-row insert, one transaction). @default 2000 */
  batchSize?: number;
  /**
   * Longest a record waits in the buffer for its batch to fill. Fewer, larger transactions cost
   * the store less per record: every commit rewrites the last, partly filled page of the table and
   * of each index, and wakes the insert thread. At 6,000 calls/s, 100 ms instead of 10 ms together
   * with the checkpointer's 250 ms instead of 50 ms took 8–9% off the server's CPU per call
   * (docs/benchmarks.md). @default 100
   */
  flushIntervalMs?: number;
  /** Records held in memory; past it (store slow or down) records spill to disk. @default 10000 */
  maxBufferedRecords?: number;
  /** Payload characters held in memory; past it records spill to disk. @default 64 MiB */
  maxBufferedChars?: number;
  /** A longer payload is recorded by its hash only. @default DEFAULT_MAX_PAYLOAD_CHARS (8 MiB) */
  maxPayloadChars?: number;
  /** First wait after a failed write; doubles per consecutive failure. @default 50 */
  retryBaseMs?: number;
  /** Longest wait between two write attempts. @default 2000 */
  retryMaxMs?: number;
  /** How long {@link PredictionRecorder.close} keeps writing before it spills the rest. @default 10000 */
  closeTimeoutMs?: number;
  /**
   * Append every record to a write-ahead journal in `spillDir` when it is recorded (one `writeSync`
   * per burst of calls, before they are answered; see `PredictionJournal`), so that records still in memory survive the process being
   * killed. Without it a SIGKILL loses what was recorded in the last few milliseconds. @default true
   */
  journal?: boolean;
}

/** Counters of a recorder since it was built (tests, benchmarks, logs). */
export interface PredictionRecorderStats {
  /** `record()` calls. */
  recorded: number;
  /** Rows newly inserted by this recorder (replayed ones included; duplicates skipped not counted). */
  stored: number;
  /** Records written to a spill file (a record may spill, be replayed, and spill again). */
  spilled: number;
  /** Records lost because neither the store nor the spill folder took them (each was logged). */
  dropped: number;
  /** Records in memory now. */
  buffered: number;
}

interface Buffered extends SpillLine {
  /** Characters counted against `maxBufferedChars`. */
  readonly chars: number;
}

/** Per-row overhead counted against `maxBufferedChars` besides the payloads. */
const ROW_OVERHEAD_CHARS = 512;
/** Overflowing records are appended in one write per event-loop turn, or at once past this many. */
const OVERFLOW_WRITE_AT = 1024;

/**
 * Records prediction calls off the request path. {@link record} is synchronous and cheap: it
 * applies the deployment's recording mode (see `toPredictionRow`) and pushes the row onto a
 * bounded in-memory buffer; a background loop writes batches (one multi-row insert, one
 * transaction) when `batchSize` rows are buffered or `flushIntervalMs` after the first one.
 *
 * Nothing recorded is dropped while the disk takes writes: when the buffer is full (store slow)
 * records are appended to a JSON-lines spill file instead, and when a write fails (store down)
 * the batch and the buffer are spilled and writes are retried with backoff. The loop drains spill
 * files back into the store once writes succeed again, and {@link start} replays the files a
 * crashed or stopped recorder left in `spillDir`. Inserts skip record ids already stored, so a
 * record that was written and spilled (a write that failed after committing) is stored once.
 * Every record is also appended to a write-ahead journal in `spillDir` as it is recorded, so a
 * process killed outright loses none of the records it held in memory: they are replayed from
 * the journal like a spill file (see `PredictionJournal`).
 *
 * Never throws into the caller: failures are logged.
 *
 * @example
 * const recorder = new PredictionRecorder({ store: new PredictionStore(connection), spillDir: 'keel-data/predictions-spill' });
 * recorder.start(app.log);
 * recorder.record({ requestId, deployment: 'fraud', deploymentRevision: 3, modelName: 'fraud', modelVersion: '7',
 *   arm: 'route-0', caller: 'alice', protocol: 'mlflow', receivedAt, completedAt: Date.now(), status: 200,
 *   inputJson: bodyText, outputJson: answerText, recording: { mode: 'full' } });
 * await recorder.close();
 */
export class PredictionRecorder {
  readonly #options: Readonly<Required<Omit<PredictionRecorderOptions, 'store' | 'logger'>>>;
  readonly #store: PredictionSink;
  #logger: PredictionRecorderLogger;
  readonly #spill: SpillLog;
  readonly #journal: PredictionJournal | undefined;
  /** Set when a spill append failed: the journal then keeps everything until close releases it. */
  #spillFailed = false;

  #seq = 0;
  #buffer: Buffered[] = [];
  #bufferedChars = 0;
  /** The batch being written; still "pending" for flush until the write succeeds. */
  #inFlight: Buffered[] = [];
  /** Records past the buffer's bounds, waiting for their (synchronous) append to the spill file. */
  #overflow: SpillLine[] = [];
  #overflowScheduled = false;

  #started = false;
  #closing = false;
  #closed = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #firstBufferedAt = 0;
  #failures = 0;
  #retryAt = 0;
  #flushWaiters: { seq: number; resolve: () => void }[] = [];
  /** A spill file being drained and its reader, kept across loop turns. */
  #draining: { file: SpillFile; chunks: AsyncGenerator<string[]> } | undefined;
  readonly #stats: Omit<PredictionRecorderStats, 'buffered'> = {
    recorded: 0,
    stored: 0,
    spilled: 0,
    dropped: 0,
  };

  constructor(options: PredictionRecorderOptions) {
    this.#store = options.store;
    this.#logger = options.logger ?? { warn: () => undefined, error: () => undefined };
    this.#options = Object.freeze({
      spillDir: options.spillDir,
      batchSize: options.batchSize ?? 2000,
      flushIntervalMs: options.flushIntervalMs ?? 100,
      maxBufferedRecords: options.maxBufferedRecords ?? 10_000,
      maxBufferedChars: options.maxBufferedChars ?? 64 * 1024 * 1024,
      maxPayloadChars: options.maxPayloadChars ?? DEFAULT_MAX_PAYLOAD_CHARS,
      retryBaseMs: options.retryBaseMs ?? 50,
      retryMaxMs: options.retryMaxMs ?? 2000,
      closeTimeoutMs: options.closeTimeoutMs ?? 10_000,
      journal: options.journal ?? true,
    });
    const logger: SpillLogger = {
      warn: (o, m) => this.#logger.warn(o, m),
      error: (o, m) => this.#logger.error(o, m),
    };
    this.#spill = new SpillLog({ dir: options.spillDir, logger });
    this.#journal = this.#options.journal
      ? new PredictionJournal({ dir: options.spillDir, logger })
      : undefined;
  }

  /** The resolved settings. */
  get settings(): Readonly<Required<Omit<PredictionRecorderOptions, 'store' | 'logger'>>> {
    return this.#options;
  }

  /** Counters since the recorder was built. */
  stats(): PredictionRecorderStats {
    return { ...this.#stats, buffered: this.#buffer.length + this.#inFlight.length + this.#overflow.length };
  }

  /**
   * Starts the background writer (a no-op when it runs) and queues for replay the spill files
   * that recorders which are gone left in `spillDir`. {@link record} starts it too.
   */
  start(logger?: PredictionRecorderLogger): void {
    if (logger) this.#logger = logger;
    if (this.#started || this.#closing) return;
    this.#started = true;
    const claimed = this.#spill.claimOrphans();
    if (claimed > 0) {
      this.#logger.warn(
        { files: claimed, dir: this.#options.spillDir },
        'prediction records: replaying spill files left by an earlier process',
      );
    }
    this.#loop = this.#run();
  }

  /**
   * Records one call. Synchronous, never throws, never waits for the store: the row is built
   * (recording mode applied), appended to the journal (see {@link PredictionRecorderOptions.journal})
   * and buffered, or appended to the spill file when the buffer is full.
   */
  record(input: PredictionRecordInput): void {
    try {
      this.#stats.recorded += 1;
      const seq = ++this.#seq;
      const line = toPredictionLine(input, timeOrderedId(), this.#options.maxPayloadChars);
      const chars = line.length + ROW_OVERHEAD_CHARS;
      if (this.#closing) {
        this.#spillNow([{ seq, line }]);
        // Nobody drains this recorder's files any more: hand them to the next recorder.
        if (this.#closed) this.#spill.release();
        return;
      }
      if (!this.#started) this.start();
      this.#journal?.append(seq, line);
      if (
        this.#buffer.length >= this.#options.maxBufferedRecords ||
        this.#bufferedChars + chars > this.#options.maxBufferedChars
      ) {
        this.#overflowRecord({ seq, line });
        return;
      }
      this.#buffer.push({ seq, line, chars });
      this.#bufferedChars += chars;
      if (this.#buffer.length === 1) {
        this.#firstBufferedAt = performance.now();
        this.#wake?.();
      } else if (this.#buffer.length === this.#options.batchSize) {
        this.#wake?.();
      }
    } catch (error) {
      this.#stats.dropped += 1;
      this.#logger.error({ err: error }, 'prediction records: cannot record a call');
    }
  }

  /**
   * Resolves once every record recorded before the call is in the store (spilled ones
   * included, and files replayed at start). Waits through store outages; see {@link close}
   * for a bounded wait.
   */
  flush(): Promise<void> {
    const seq = this.#seq;
    if (!this.#started && !this.#closing) this.start();
    if (this.#lowWatermark() > seq) return Promise.resolve();
    return new Promise((resolve) => {
      this.#flushWaiters.push({ seq, resolve });
      this.#wake?.();
    });
  }

  /**
   * Writes what it can within `closeTimeoutMs`, then spills the rest and stops. Stops writing at
   * the first failure (the store is down: the rest is spilled at once). Spill files left behind
   * are released: the next recorder on the folder replays them. Records arriving later go
   * straight to a spill file.
   */
  async close(): Promise<void> {
    if (this.#closing) {
      await this.#loop;
      return;
    }
    this.#closing = true;
    this.#wake?.();
    const loop = this.#loop;
    if (loop !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#options.closeTimeoutMs);
      });
      await Promise.race([loop, deadline]);
      clearTimeout(timer);
    }
    this.#closed = true;
    // Whatever the loop did not store: in flight (it may yet commit; a replay then skips it),
    // buffered, overflowing.
    this.#spillNow([...this.#inFlight, ...this.#buffer]);
    this.#inFlight = [];
    this.#buffer = [];
    this.#bufferedChars = 0;
    this.#writeOverflow();
    // Everything recorded is stored or spilled now, unless a spill failed: then the journal is
    // the only copy of some records, and the next recorder replays it.
    if (this.#spillFailed) this.#journal?.release();
    else this.#journal?.clear();
    if (this.#draining) {
      void this.#draining.chunks.return(undefined).catch(() => undefined);
      this.#draining = undefined;
    }
    this.#spill.release();
    // Flush waiters cannot be satisfied by this recorder any more.
    for (const waiter of this.#flushWaiters.splice(0)) waiter.resolve();
    try {
      await this.#store.close?.();
    } catch (error) {
      this.#logger.warn({ err: error }, 'prediction records: closing the store writer failed');
    }
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const now = performance.now();
      const backingOff = now < this.#retryAt && !this.#closing;
      const urgent = this.#closing || this.#flushWaiters.length > 0;
      const bufferDue =
        this.#buffer.length >= this.#options.batchSize ||
        (this.#buffer.length > 0 && (urgent || now - this.#firstBufferedAt >= this.#options.flushIntervalMs));
      let ok = true;
      if (!backingOff && bufferDue) {
        ok = await this.#writeBuffered();
      } else if (!backingOff && this.#spill.hasPending) {
        // Between two batches, so a steady load does not starve the drain.
        ok = await this.#drainSpillChunk();
      } else {
        this.#resolveFlushWaiters();
        if (this.#closing && this.#buffer.length === 0 && !this.#spill.hasPending) return;
        await this.#sleep(this.#waitMs(now));
        continue;
      }
      if (this.#closed) return;
      if (!ok && this.#closing) return; // store down while closing: close() spills the rest
      this.#resolveFlushWaiters();
    }
  }

  /** Writes one batch from the buffer; on failure spills it and the whole buffer. */
  async #writeBuffered(): Promise<boolean> {
    const batch = this.#buffer.splice(0, this.#options.batchSize);
    this.#inFlight = batch;
    let chars = 0;
    for (const b of batch) chars += b.chars;
    this.#bufferedChars -= chars;
    if (this.#buffer.length > 0) this.#firstBufferedAt = performance.now();
    try {
      this.#stats.stored += await this.#store.insertLines(batch.map((b) => b.line));
      if (this.#closed) return true;
      this.#inFlight = [];
      this.#trimJournal();
      this.#succeeded();
      return true;
    } catch (error) {
      if (this.#closed) return false;
      this.#failed(error, batch.length);
      // The store is down or slow to come back: keep memory small and the records on disk.
      const spilled = [...this.#inFlight, ...this.#buffer];
      this.#inFlight = [];
      this.#buffer = [];
      this.#bufferedChars = 0;
      this.#spillNow(spilled);
      this.#trimJournal();
      return false;
    }
  }

  /** Stores the next chunk of the oldest spill file; deletes the file once it is all stored. */
  async #drainSpillChunk(): Promise<boolean> {
    this.#writeOverflow();
    if (this.#draining === undefined) {
      const file = this.#spill.next();
      if (file === undefined) return true;
      this.#draining = { file, chunks: this.#spill.read(file, this.#options.batchSize) };
    }
    const { file, chunks } = this.#draining;
    try {
      const next = await chunks.next();
      if (this.#closed) return true;
      if (next.done) {
        this.#draining = undefined;
        this.#spill.remove(file);
        return true;
      }
      const lines = next.value.filter((line) => this.#readable(line, file.path));
      this.#stats.stored += await this.#store.insertLines(lines);
      this.#succeeded();
      return true;
    } catch (error) {
      if (this.#closed) return false;
      // Read again from the start next time: rows already stored are skipped.
      void chunks.return(undefined).catch(() => undefined);
      this.#draining = undefined;
      this.#failed(error, 0);
      return false;
    }
  }

  /** Whether a spilled line reads back as a record; an unreadable one is counted as dropped and logged. */
  #readable(line: string, path: string): boolean {
    try {
      predictionRowFromLine(line);
      return true;
    } catch (error) {
      // A line cut short by a crash mid-write: nothing to recover.
      this.#stats.dropped += 1;
      this.#logger.warn({ err: error, path }, 'prediction records: skipping an unreadable spill line');
      return false;
    }
  }

  #overflowRecord(line: SpillLine): void {
    this.#overflow.push(line);
    if (this.#overflow.length >= OVERFLOW_WRITE_AT) {
      this.#writeOverflow();
    } else if (!this.#overflowScheduled) {
      this.#overflowScheduled = true;
      setImmediate(() => this.#writeOverflow());
    }
  }

  #writeOverflow(): void {
    this.#overflowScheduled = false;
    if (this.#overflow.length === 0) return;
    const lines = this.#overflow;
    this.#overflow = [];
    this.#spillNow(lines);
    if (!this.#closed) this.#trimJournal();
    this.#wake?.();
  }

  #spillNow(lines: SpillLine[]): void {
    if (lines.length === 0) return;
    if (this.#spill.append(lines)) {
      this.#stats.spilled += lines.length;
    } else {
      this.#stats.dropped += lines.length;
      this.#spillFailed = true;
    }
  }

  /** Lets the journal forget what is no longer only in memory (stored or spilled). */
  #trimJournal(): void {
    if (this.#journal === undefined || this.#spillFailed) return;
    let low = Number.POSITIVE_INFINITY;
    // Each of these lists is in sequence order.
    for (const first of [this.#inFlight[0], this.#buffer[0], this.#overflow[0]]) {
      if (first !== undefined && first.seq < low) low = first.seq;
    }
    this.#journal.trim(low);
  }

  #succeeded(): void {
    if (this.#failures > 0) {
      this.#logger.warn({ after: this.#failures }, 'prediction records: writing to the store again');
    }
    this.#failures = 0;
    this.#retryAt = 0;
  }

  #failed(error: unknown, records: number): void {
    this.#failures += 1;
    const wait = Math.min(this.#options.retryMaxMs, this.#options.retryBaseMs * 2 ** (this.#failures - 1));
    this.#retryAt = performance.now() + wait;
    // Log the first failure of an outage, then every tenth, not every retry.
    if (this.#failures === 1 || this.#failures % 10 === 0) {
      this.#logger.error(
        { err: error, failures: this.#failures, records, retryInMs: wait, spillDir: this.#options.spillDir },
        'prediction records: store write failed; records spill to disk until it succeeds',
      );
    }
  }

  /** Smallest sequence number not yet stored; `Infinity` when everything recorded is stored. */
  #lowWatermark(): number {
    let low = this.#spill.lowWatermark;
    const first = this.#inFlight[0] ?? this.#buffer[0];
    if (first !== undefined) low = Math.min(low, first.seq);
    for (const line of this.#overflow) low = Math.min(low, line.seq);
    return low;
  }

  #resolveFlushWaiters(): void {
    if (this.#flushWaiters.length === 0) return;
    // Files taken over from another process count as sequence 0: every flush waits for them.
    const low = this.#lowWatermark();
    this.#flushWaiters = this.#flushWaiters.filter((waiter) => {
      if (waiter.seq < low) {
        waiter.resolve();
        return false;
      }
      return true;
    });
  }

  #waitMs(now: number): number | undefined {
    if (now < this.#retryAt) return this.#retryAt - now;
    if (this.#buffer.length > 0)
      return Math.max(0, this.#firstBufferedAt + this.#options.flushIntervalMs - now);
    return undefined;
  }

  /** Sleeps `ms` (forever when undefined) or until {@link record}, {@link flush} or {@link close} wakes the loop. */
  #sleep(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}
