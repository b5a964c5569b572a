import { randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

/** Where the spill log reports trouble (pino's `warn`/`error` fit). */
export interface SpillLogger {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** One spill file this log owns: its path and the smallest record sequence number it holds. */
export interface SpillFile {
  readonly path: string;
  /** Records of this process carry sequence numbers; a file taken over from another process holds 0. */
  minSeq: number;
}

/** One line to append: the record's sequence number (for flush bookkeeping) and its JSON text. */
export interface SpillLine {
  readonly seq: number;
  readonly line: string;
}

/**
 * Own files are `predictions-<pid>-<process start ms>-<instance>-<n>.jsonl` (spilled records) and
 * `journal-…` with the same fields ({@link PredictionJournal}); files of a recorder that closed are
 * renamed `released-<instance>-<n>.jsonl`. The process start time tells a dead process's files from
 * ours when the pid is reused (a container restarted as pid 1).
 */
const OWN_FILE = /^(?:predictions|journal)-(\d+)-(\d+)-([0-9a-f]+)-(\d+)\.jsonl$/;
const RELEASED_FILE = /^released-([0-9a-f]+)-(\d+)\.jsonl$/;

/**
 * The append-only JSON-lines files a prediction recorder spills to when its buffer is full or
 * the store refuses writes. Appends are synchronous (`writeSync` on a file opened for append),
 * so a record is on disk when `append` returns. The recorder drains files oldest first: the
 * active file is closed ({@link rotate}) before it is read, so a file being read never grows.
 * On start the log takes over the files of recorders that are gone — a process that died, or a
 * recorder that closed with records left — by renaming them into its own name (an atomic claim:
 * two processes starting at once never replay the same file twice).
 *
 * @example
 * const spill = new SpillLog({ dir: '/var/lib/keel/predictions-spill' });
 * spill.claimOrphans();
 * spill.append([{ seq: 1, line: '{"record_id":"…"}' }]);
 */
export class SpillLog {
  readonly dir: string;
  readonly #instance = randomBytes(6).toString('hex');
  readonly #processStart = Math.floor(performance.timeOrigin);
  readonly #logger: SpillLogger;
  #fileNumber = 0;
  #active: (SpillFile & { fd: number; lines: number }) | undefined;
  /** Closed files waiting to be drained, oldest first. */
  readonly #pending: SpillFile[] = [];

  constructor(options: { dir: string; logger?: SpillLogger }) {
    this.dir = options.dir;
    this.#logger = options.logger ?? { warn: () => undefined, error: () => undefined };
  }

  /** Whether any spilled record waits to be drained. */
  get hasPending(): boolean {
    return this.#pending.length > 0 || (this.#active?.lines ?? 0) > 0;
  }

  /** Smallest sequence number still spilled; `Infinity` when none. */
  get lowWatermark(): number {
    let low = this.#active && this.#active.lines > 0 ? this.#active.minSeq : Number.POSITIVE_INFINITY;
    for (const file of this.#pending) low = Math.min(low, file.minSeq);
    return low;
  }

  /**
   * Appends lines to the active file (opened on first use). Returns false, having logged why,
   * when the disk refused them: the records are then lost.
   */
  append(lines: readonly SpillLine[]): boolean {
    if (lines.length === 0) return true;
    try {
      this.#active ??= this.#openActive();
      let text = '';
      let minSeq = this.#active.minSeq;
      for (const { seq, line } of lines) {
        text += `${line}\n`;
        if (seq < minSeq) minSeq = seq;
      }
      writeSync(this.#active.fd, text);
      this.#active.minSeq = minSeq;
      this.#active.lines += lines.length;
      return true;
    } catch (error) {
      this.#logger.error(
        { err: error, dir: this.dir, records: lines.length },
        'prediction records: cannot write the spill file; records lost',
      );
      return false;
    }
  }

  /**
   * The next closed file to drain. When none is waiting, the active file (if it holds lines) is
   * closed and becomes the next one; later appends start a new file.
   */
  next(): SpillFile | undefined {
    if (this.#pending.length === 0) this.rotate();
    return this.#pending[0];
  }

  /** Closes the active file, if it holds lines, and queues it for draining. */
  rotate(): void {
    const active = this.#active;
    if (active === undefined || active.lines === 0) return;
    closeQuietly(active.fd);
    this.#active = undefined;
    this.#pending.push({ path: active.path, minSeq: active.minSeq });
  }

  /** Reads a closed file in chunks of at most `size` lines (empty lines skipped). */
  async *read(file: SpillFile, size: number): AsyncGenerator<string[]> {
    const lines = createInterface({ input: createReadStream(file.path, 'utf8'), crlfDelay: Infinity });
    let chunk: string[] = [];
    try {
      for await (const line of lines) {
        if (line === '') continue;
        chunk.push(line);
        if (chunk.length >= size) {
          yield chunk;
          chunk = [];
        }
      }
      if (chunk.length > 0) yield chunk;
    } finally {
      lines.close();
    }
  }

  /** Deletes a file whose every record is stored. */
  remove(file: SpillFile): void {
    const index = this.#pending.indexOf(file);
    if (index !== -1) this.#pending.splice(index, 1);
    try {
      rmSync(file.path, { force: true });
    } catch (error) {
      // Left behind, it is replayed again later; its records are skipped as already stored.
      this.#logger.warn(
        { err: error, path: file.path },
        'prediction records: cannot delete a drained spill file',
      );
    }
  }

  /**
   * Takes over the spill files of recorders that are gone: released files, and own-named files
   * (spill files and journals) whose process is not running (or is a previous incarnation of this
   * pid). Returns how many files were claimed. A missing folder holds none.
   */
  claimOrphans(): number {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#logger.warn({ err: error, dir: this.dir }, 'prediction records: cannot list the spill folder');
      }
      return 0;
    }
    let claimed = 0;
    for (const name of names.sort(byFileAge)) {
      if (!this.#isOrphan(name)) continue;
      const path = join(this.dir, name);
      const target = join(this.dir, this.#nextFileName());
      try {
        renameSync(path, target);
      } catch (error) {
        // Another process claimed it first.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.#logger.warn({ err: error, path }, 'prediction records: cannot claim a spill file');
        }
        continue;
      }
      this.#pending.push({ path: target, minSeq: 0 });
      claimed += 1;
    }
    return claimed;
  }

  /**
   * Closes the active file and renames every file still holding records as released, so the next
   * recorder on this folder (in this process or another) replays them.
   */
  release(): void {
    this.rotate();
    for (const file of this.#pending.splice(0)) {
      const name = file.path.slice(this.dir.length + 1);
      const own = OWN_FILE.exec(name);
      const released = join(this.dir, `released-${own?.[3] ?? this.#instance}-${own?.[4] ?? '0'}.jsonl`);
      try {
        renameSync(file.path, released);
      } catch (error) {
        this.#logger.warn({ err: error, path: file.path }, 'prediction records: cannot release a spill file');
      }
    }
  }

  #openActive(): SpillFile & { fd: number; lines: number } {
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, this.#nextFileName());
    return { path, fd: openSync(path, 'a'), minSeq: Number.POSITIVE_INFINITY, lines: 0 };
  }

  #nextFileName(): string {
    this.#fileNumber += 1;
    return `predictions-${process.pid}-${this.#processStart}-${this.#instance}-${this.#fileNumber}.jsonl`;
  }

  #isOrphan(name: string): boolean {
    if (RELEASED_FILE.test(name)) return true;
    const own = OWN_FILE.exec(name);
    if (!own) return false;
    const pid = Number(own[1]);
    const start = Number(own[2]);
    if (pid === process.pid) return start !== this.#processStart;
    return !processRuns(pid);
  }
}

/** Records per journal file before a new one is started (closed files are deleted once stored). */
export const DEFAULT_JOURNAL_FILE_LINES = 10_000;

/**
 * The write-ahead journal of a prediction recorder: every record is appended here when it is
 * recorded, before its call is answered (the records of one burst of calls share one `writeSync`,
 * see {@link PredictionJournal.append}), so a process killed with records still in
 * memory loses none of them: the next recorder on the folder takes the journal over like a spill
 * file and replays it (inserts skip the records already stored). `writeSync` leaves the line in the
 * operating system's page cache: it survives the process (SIGKILL, OOM kill), not the machine.
 *
 * Files are `journal-<pid>-<process start ms>-<instance>-<n>.jsonl`. The recorder calls
 * {@link trim} as records reach the store or a spill file: a full file is deleted once every record
 * in it is, and the file being written is truncated whenever everything in it is, so a journal
 * holds about one write batch while the store keeps up.
 *
 * @example
 * const journal = new PredictionJournal({ dir: spillDir });
 * journal.append(1, toPredictionLine(call, recordId));
 * journal.trim(2); // records below sequence 2 are stored
 */
export class PredictionJournal {
  readonly dir: string;
  readonly #instance = randomBytes(6).toString('hex');
  readonly #processStart = Math.floor(performance.timeOrigin);
  readonly #maxFileLines: number;
  readonly #logger: SpillLogger;
  #fileNumber = 0;
  #failures = 0;
  #active: { path: string; fd: number; maxSeq: number; lines: number } | undefined;
  /** Lines appended but not written yet, and the sequence number of the last of them. */
  #pending: string[] = [];
  #pendingMaxSeq = 0;
  readonly #flushPending = (): void => this.flush();
  /** Full files, oldest first, with the largest sequence number each holds. */
  readonly #full: { path: string; maxSeq: number }[] = [];

  constructor(options: { dir: string; logger?: SpillLogger; maxFileLines?: number }) {
    this.dir = options.dir;
    this.#logger = options.logger ?? { warn: () => undefined, error: () => undefined };
    this.#maxFileLines = options.maxFileLines ?? DEFAULT_JOURNAL_FILE_LINES;
  }

  /**
   * Appends one record; `seq` must grow from call to call. The lines appended during one
   * synchronous stretch of code are written together, with one `writeSync`, by a microtask that
   * the first of them queues: it runs before any promise reaction or microtask queued after that
   * append — in a server, before the reply that follows the recording is written. A write the disk
   * refuses is logged; its records are then only in memory, as without a journal.
   */
  append(seq: number, line: string): void {
    this.#pending.push(line);
    this.#pendingMaxSeq = seq;
    if (this.#pending.length === 1) queueMicrotask(this.#flushPending);
  }

  /** Writes the appended lines that wait for their microtask (a no-op when none does). */
  flush(): void {
    const lines = this.#pending;
    if (lines.length === 0) return;
    this.#pending = [];
    let at = 0;
    try {
      while (at < lines.length) {
        const active = this.#active ?? this.#open();
        // Only the last line written is known to carry `#pendingMaxSeq`; a file closed before it
        // holds smaller numbers, which the same bound covers.
        const take = Math.min(lines.length - at, this.#maxFileLines - active.lines);
        writeSync(active.fd, `${lines.slice(at, at + take).join('\n')}\n`);
        at += take;
        active.maxSeq = this.#pendingMaxSeq;
        active.lines += take;
        if (active.lines >= this.#maxFileLines) {
          closeQuietly(active.fd);
          this.#full.push({ path: active.path, maxSeq: active.maxSeq });
          this.#active = undefined;
        }
      }
    } catch (error) {
      this.#failures += 1;
      // Log the first failure, then every hundredth: this runs once per burst of calls.
      if (this.#failures % 100 === 1) {
        this.#logger.error(
          { err: error, dir: this.dir, failures: this.#failures, records: lines.length - at },
          'prediction records: cannot write the journal; records are in memory only until stored',
        );
      }
    }
  }

  #open(): { path: string; fd: number; maxSeq: number; lines: number } {
    mkdirSync(this.dir, { recursive: true });
    this.#fileNumber += 1;
    const path = join(
      this.dir,
      `journal-${process.pid}-${this.#processStart}-${this.#instance}-${this.#fileNumber}.jsonl`,
    );
    this.#active = { path, fd: openSync(path, 'a'), maxSeq: 0, lines: 0 };
    return this.#active;
  }

  /** Forgets the records below sequence `durableBelow` (they are stored or spilled). */
  trim(durableBelow: number): void {
    this.flush();
    while (this.#full.length > 0 && (this.#full[0] as { maxSeq: number }).maxSeq < durableBelow) {
      const file = this.#full.shift() as { path: string };
      removeQuietly(file.path, this.#logger);
    }
    const active = this.#active;
    if (active === undefined || active.lines === 0 || active.maxSeq >= durableBelow) return;
    try {
      // Opened for append: the next line goes to the new end, offset 0.
      ftruncateSync(active.fd, 0);
      active.lines = 0;
    } catch (error) {
      this.#logger.warn({ err: error, path: active.path }, 'prediction records: cannot truncate the journal');
    }
  }

  /** Deletes every journal file: all its records are stored or spilled. */
  clear(): void {
    this.trim(Number.POSITIVE_INFINITY);
    const active = this.#active;
    if (active === undefined) return;
    closeQuietly(active.fd);
    this.#active = undefined;
    removeQuietly(active.path, this.#logger);
  }

  /** Closes the journal and renames its files as released: the next recorder replays them. */
  release(): void {
    this.flush();
    const active = this.#active;
    if (active !== undefined) {
      closeQuietly(active.fd);
      this.#active = undefined;
      this.#full.push({ path: active.path, maxSeq: active.maxSeq });
    }
    for (const file of this.#full.splice(0)) {
      const number = /-(\d+)\.jsonl$/.exec(file.path)?.[1] ?? '0';
      try {
        renameSync(file.path, join(this.dir, `released-${this.#instance}-${number}.jsonl`));
      } catch (error) {
        this.#logger.warn({ err: error, path: file.path }, 'prediction records: cannot release the journal');
      }
    }
  }
}

function removeQuietly(path: string, logger: SpillLogger): void {
  try {
    rmSync(path, { force: true });
  } catch (error) {
    // Left behind, it is replayed later; its records are skipped as already stored.
    logger.warn({ err: error, path }, 'prediction records: cannot delete a journal file');
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Oldest first: by the file number within one recorder's files, then by name. */
function byFileAge(a: string, b: string): number {
  const number = (name: string) => Number(/-(\d+)\.jsonl$/.exec(name)?.[1] ?? 0);
  return number(a) - number(b) || a.localeCompare(b);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
