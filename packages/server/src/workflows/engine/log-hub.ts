/**
 * Live logs of the attempts running in this process: the scheduler writes each attempt's output
 * into a channel, and readers (the logs route's `follow=1`) get what was written so far, then
 * every new chunk, then the end. A channel lives from the attempt's start until its log is stored,
 * as JSON lines ({@link LogLine}, one per line of output) that keep which stream each line came from.
 */
import { type Clock, systemClock } from '../../services/clock.js';
import type { LogStream } from './executor.js';

/** One chunk of an attempt's output. */
export interface LogChunk {
  stream: LogStream;
  text: string;
}

/** The levels of `ctx.log` (`info` is written to stdout, `warn` and `error` to stderr). */
export type LogLevel = 'info' | 'warn' | 'error';

/**
 * One line of an attempt's log, as stored (one JSON object per line of the log file) and as the
 * logs route answers with `format=jsonl`. Concatenating the `text`s gives the whole log.
 *
 * @example
 * { "time": 1767225600123, "stream": "stderr", "text": "[warn] slow epoch {\"epoch\":3}\n", "level": "warn" }
 */
export interface LogLine {
  /** Epoch ms when the line's first character arrived. */
  time: number;
  stream: LogStream;
  /** The line with its `\n` (a stream's last line may have none). */
  text: string;
  /** Set on lines in the format `ctx.log` writes (`[info] …`, `[warn] …`, `[error] …`). */
  level?: LogLevel;
}

/** What a reader of a channel is told. */
export interface LogListener {
  log(chunk: LogChunk): void;
  /** The attempt ended (`state`: how); no more chunks follow. */
  end(state: string): void;
}

/** A subscription: what was written before it, and how to stop listening. */
export interface LogSubscription {
  history: readonly LogChunk[];
  unsubscribe(): void;
}

/** Options of {@link LogHub}. */
export interface LogHubOptions {
  /**
   * Bytes (UTF-16 code units) of output kept per attempt; beyond that, chunks still reach live
   * readers but are not kept, and the stored log says it was cut.
   * @default 16 MiB
   */
  maxBytesPerAttempt?: number;
  /** Stamps the lines' `time`. @default systemClock */
  clock?: Clock;
}

/** The defaults of {@link LogHubOptions}. */
export const LOG_HUB_DEFAULTS = Object.freeze({ maxBytesPerAttempt: 16 * 1024 * 1024 });

/** A chunk as kept by a channel: when it arrived. */
interface TimedChunk extends LogChunk {
  time: number;
}

/** The writing end of one attempt's log. */
export class LogChannel {
  readonly #chunks: TimedChunk[] = [];
  readonly #listeners = new Set<LogListener>();
  #size = 0;
  #truncated = false;

  constructor(
    readonly key: string,
    private readonly maxBytes: number,
    private readonly clock: Clock,
    private readonly onClose: (channel: LogChannel) => void,
  ) {}

  /** Appends output and hands it to every reader. */
  write(stream: LogStream, text: string): void {
    const chunk = { stream, text };
    if (this.#size + text.length <= this.maxBytes) {
      this.#chunks.push({ ...chunk, time: this.clock() });
      this.#size += text.length;
    } else {
      this.#truncated = true;
    }
    for (const listener of this.#listeners) listener.log(chunk);
  }

  /**
   * Everything kept, one {@link LogLine} per line of each stream, in the order the lines began;
   * when output was cut, a last `stderr` line says so.
   */
  lines(): LogLine[] {
    const lines = splitLines(this.#chunks);
    if (this.#truncated) {
      const notice = `[log truncated at ${this.maxBytes} characters]\n`;
      const last = lines.at(-1);
      const text = last === undefined || last.text.endsWith('\n') ? notice : `\n${notice}`;
      lines.push({ time: this.clock(), stream: 'stderr', text });
    }
    return lines;
  }

  /** Ends the channel: readers get `end(state)` and the hub forgets it. */
  close(state: string): void {
    this.onClose(this);
    for (const listener of this.#listeners) listener.end(state);
    this.#listeners.clear();
  }

  /** @internal */
  subscribe(listener: LogListener): LogSubscription {
    this.#listeners.add(listener);
    return {
      history: this.#chunks.map(({ stream, text }) => ({ stream, text })),
      unsubscribe: () => this.#listeners.delete(listener),
    };
  }
}

/**
 * The in-process registry of live attempt logs, keyed by {@link logKey}.
 *
 * @example
 * const channel = hub.open(logKey(executionId, 'fit', 1));
 * channel.write('stdout', 'epoch 1\n');
 * const sub = hub.subscribe(logKey(executionId, 'fit', 1), { log: send, end: finish }); // history: ['epoch 1\n']
 * channel.close('succeeded');
 */
export class LogHub {
  readonly #channels = new Map<string, LogChannel>();
  readonly #maxBytes: number;
  readonly #clock: Clock;

  constructor(options: LogHubOptions = {}) {
    this.#maxBytes = options.maxBytesPerAttempt ?? LOG_HUB_DEFAULTS.maxBytesPerAttempt;
    this.#clock = options.clock ?? systemClock;
  }

  /** Opens the channel of an attempt (replacing a stale one with the same key). */
  open(key: string): LogChannel {
    const channel = new LogChannel(key, this.#maxBytes, this.#clock, (closed) => {
      if (this.#channels.get(closed.key) === closed) this.#channels.delete(closed.key);
    });
    this.#channels.set(key, channel);
    return channel;
  }

  /** Listens to a live attempt; undefined when it is not running in this process. */
  subscribe(key: string, listener: LogListener): LogSubscription | undefined {
    return this.#channels.get(key)?.subscribe(listener);
  }

  /** The lines a live attempt wrote so far; undefined when it is not running in this process. */
  lines(key: string): LogLine[] | undefined {
    return this.#channels.get(key)?.lines();
  }
}

/** The key of an attempt's channel. */
export function logKey(executionId: string, nodeId: string, attempt: number): string {
  return `${executionId}/${nodeId}/${attempt}`;
}

/**
 * Artifact-store path of an attempt's stored log: JSON lines ({@link LogLine}). Logs stored before
 * lines were kept are `<attempt>.log`, plain text (see {@link parseStoredLog}).
 */
export function logPath(executionId: string, nodeId: string, attempt: number): string {
  // Node ids have no '/': one path segment each (`fits[3]`, `pick.then.report`).
  return `workflows/logs/${executionId}/${nodeId}/${attempt}.jsonl`;
}

/** Media type of a stored log (and of the logs route's `format=jsonl` answer). */
export const LOG_LINES_CONTENT_TYPE = 'application/x-ndjson';

/** A stored log's body: one JSON {@link LogLine} per line. */
export function serializeLogLines(lines: readonly LogLine[]): string {
  return lines.map((line) => `${JSON.stringify(line)}\n`).join('');
}

/**
 * The lines of a stored log found at `path`: JSON lines for a `.jsonl` path; a plain-text log of
 * an older server (`.log`) is one `stdout` line stamped `time`, since its streams were not kept.
 */
export function parseStoredLog(path: string, body: string, time: number): LogLine[] {
  if (!path.endsWith('.jsonl')) return body === '' ? [] : [{ time, stream: 'stdout', text: body }];
  return body
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogLine);
}

/** Lines of `ctx.log` (see the worker's `logLine`). */
const LEVEL_PREFIX = /^\[(info|warn|error)\] /;

/**
 * Cuts chunks into lines per stream: a line belongs to the stream it was written to and is placed
 * where its first character arrived.
 */
function splitLines(chunks: readonly TimedChunk[]): LogLine[] {
  const lines: LogLine[] = [];
  const open: Partial<Record<LogStream, LogLine>> = {};
  for (const { stream, text, time } of chunks) {
    let start = 0;
    while (start < text.length) {
      const end = text.indexOf('\n', start);
      const piece = end === -1 ? text.slice(start) : text.slice(start, end + 1);
      let line = open[stream];
      if (line === undefined) {
        line = { time, stream, text: '' };
        lines.push(line);
      }
      line.text += piece;
      open[stream] = end === -1 ? line : undefined;
      start = end === -1 ? text.length : end + 1;
    }
  }
  for (const line of lines) {
    const level = LEVEL_PREFIX.exec(line.text)?.[1] as LogLevel | undefined;
    if (level !== undefined) line.level = level;
  }
  return lines;
}
