/**
 * Live logs of the attempts running in this process: the scheduler writes each attempt's output
 * into a channel, and readers (the logs route's `follow=1`) get what was written so far, then
 * every new chunk, then the end. A channel lives from the attempt's start until its log is stored.
 */
import type { LogStream } from './executor.js';

/** One chunk of an attempt's output. */
export interface LogChunk {
  stream: LogStream;
  text: string;
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
}

/** The defaults of {@link LogHubOptions}. */
export const LOG_HUB_DEFAULTS = Object.freeze({ maxBytesPerAttempt: 16 * 1024 * 1024 });

/** The writing end of one attempt's log. */
export class LogChannel {
  readonly #chunks: LogChunk[] = [];
  readonly #listeners = new Set<LogListener>();
  #size = 0;
  #truncated = false;

  constructor(
    readonly key: string,
    private readonly maxBytes: number,
    private readonly onClose: (channel: LogChannel) => void,
  ) {}

  /** Appends output and hands it to every reader. */
  write(stream: LogStream, text: string): void {
    const chunk = { stream, text };
    if (this.#size + text.length <= this.maxBytes) {
      this.#chunks.push(chunk);
      this.#size += text.length;
    } else {
      this.#truncated = true;
    }
    for (const listener of this.#listeners) listener.log(chunk);
  }

  /** Everything kept, as one text (what is stored as the attempt's log). */
  text(): string {
    const text = this.#chunks.map((chunk) => chunk.text).join('');
    return this.#truncated ? `${text}\n[log truncated at ${this.maxBytes} characters]\n` : text;
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
    return { history: [...this.#chunks], unsubscribe: () => this.#listeners.delete(listener) };
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

  constructor(options: LogHubOptions = {}) {
    this.#maxBytes = options.maxBytesPerAttempt ?? LOG_HUB_DEFAULTS.maxBytesPerAttempt;
  }

  /** Opens the channel of an attempt (replacing a stale one with the same key). */
  open(key: string): LogChannel {
    const channel = new LogChannel(key, this.#maxBytes, (closed) => {
      if (this.#channels.get(closed.key) === closed) this.#channels.delete(closed.key);
    });
    this.#channels.set(key, channel);
    return channel;
  }

  /** Listens to a live attempt; undefined when it is not running in this process. */
  subscribe(key: string, listener: LogListener): LogSubscription | undefined {
    return this.#channels.get(key)?.subscribe(listener);
  }
}

/** The key of an attempt's channel. */
export function logKey(executionId: string, nodeId: string, attempt: number): string {
  return `${executionId}/${nodeId}/${attempt}`;
}

/** Artifact-store path of an attempt's stored log. */
export function logPath(executionId: string, nodeId: string, attempt: number): string {
  // Node ids have no '/': one path segment each (`fits[3]`, `pick.then.report`).
  return `workflows/logs/${executionId}/${nodeId}/${attempt}.log`;
}
