/**
 * One workflow worker process, from spawn to exit: waits for it to be ready, runs one attempt at
 * a time on it, routes its output to the attempt, answers its `ctx.run` calls. Replacing a dead
 * worker is {@link LocalProcessExecutor}'s job; a `TaskWorker` only lives once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { LogStream, RunCall } from './executor.js';
import {
  type CommandRequest,
  type FunctionRequest,
  MARK,
  type ServerMessage,
  WORKER_SOURCE,
  type WorkerMessage,
  type WorkerReply,
} from './worker-source.js';

/** An attempt request without its sequence number (the worker assigns it). */
export type AttemptRequest = Omit<FunctionRequest, 'seq'> | Omit<CommandRequest, 'seq'>;

/** Where an attempt's output and tracking calls go. */
export interface AttemptHandlers {
  log(stream: LogStream, text: string): void;
  call(call: RunCall): Promise<void>;
}

/** The worker ended while an attempt ran (crash, `process.exit`, out of memory, killed). */
export class WorkerExitError extends Error {
  override readonly name = 'WorkerExitError';
}

/** How long a worker may take to start. */
const STARTUP_TIMEOUT_MS = 30_000;
/** How long to wait for the pipes to drain after the worker exits. */
const DRAIN_MS = 200;

interface Active {
  seq: number;
  handlers: AttemptHandlers;
  inside: Record<LogStream, boolean>;
  ended: Record<LogStream, boolean>;
  reply: WorkerReply | undefined;
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

/**
 * A running worker process (`node --input-type=module -e WORKER_SOURCE <this module's URL>`, so
 * that packages a bundle leaves out are found in Keel's installation), started as the leader
 * of its own process group so that {@link kill} also ends the programs a task started.
 *
 * @example
 * const worker = await TaskWorker.start(process.env);
 * const reply = await worker.run(request, { log: console.log, call: async () => {} });
 * worker.kill();
 */
export class TaskWorker {
  readonly #child: ChildProcess;
  readonly #exit: Promise<string>;
  #exitDescription: string | undefined;
  #active: Active | undefined;
  #retiring = false;
  #nextSeq = 0;
  #onReady: () => void = () => undefined;

  private constructor(env: NodeJS.ProcessEnv) {
    // Packages a bundle leaves out are looked for from here: Keel's installation.
    const resolveFrom = import.meta.url;
    this.#child = spawn(process.execPath, ['--input-type=module', '-e', WORKER_SOURCE, resolveFrom], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
      detached: true,
      env,
    });
    this.#exit = new Promise((resolve) => {
      let drained = false;
      const done = (description: string): void => {
        if (drained) return;
        drained = true;
        this.#exitDescription = description;
        this.#failActive(description);
        resolve(description);
      };
      this.#child.on('error', (error) => {
        if (this.#child.pid === undefined) done(`could not be spawned (${error.message})`);
      });
      this.#child.on('exit', (code, signal) => {
        const description = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
        // 'close' waits for the pipes; a stray grandchild holding them open must not block us.
        const timer = setTimeout(() => done(description), DRAIN_MS);
        this.#child.once('close', () => {
          clearTimeout(timer);
          done(description);
        });
      });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const pipe = this.#child[stream];
      pipe?.setEncoding('utf8');
      const parser = new MarkedOutput(
        (text) => this.#onText(stream, text),
        (kind, seq) => this.#onMarker(stream, kind, seq),
      );
      pipe?.on('data', (chunk: string) => parser.push(chunk));
    }
    this.#child.on('message', (message: WorkerMessage) => this.#onMessage(message));
  }

  /**
   * Spawns a worker and waits until it is ready.
   * @throws Error when it exits or does not get ready within 30 s (it is killed then).
   */
  static async start(env: NodeJS.ProcessEnv): Promise<TaskWorker> {
    const worker = new TaskWorker(env);
    const timer = setTimeout(() => worker.kill(), STARTUP_TIMEOUT_MS);
    try {
      await new Promise<void>((resolve, reject) => {
        worker.#onReady = resolve;
        void worker.#exit.then((description) =>
          reject(new Error(`Workflow worker ${description} while starting`)),
        );
      });
    } finally {
      clearTimeout(timer);
    }
    return worker;
  }

  /** The worker's process id. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.#exitDescription === undefined;
  }

  /** Whether it takes another attempt: alive, and not exiting after an uncaught error. */
  get usable(): boolean {
    return this.alive && !this.#retiring;
  }

  /** Settles with a description (`exited with code 1`, `was killed by SIGKILL`) once the worker has ended. */
  get exited(): Promise<string> {
    return this.#exit;
  }

  /**
   * Runs one attempt; resolves once its result and all of its output have arrived.
   * @throws WorkerExitError when the worker ends first.
   */
  run(request: AttemptRequest, handlers: AttemptHandlers): Promise<WorkerReply> {
    if (this.#active !== undefined) return Promise.reject(new Error('Workflow worker is busy'));
    if (!this.usable)
      return Promise.reject(new WorkerExitError(`Workflow worker (pid ${this.pid}) is not usable`));
    const seq = this.#nextSeq++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.#active = {
        seq,
        handlers,
        inside: { stdout: false, stderr: false },
        ended: { stdout: false, stderr: false },
        reply: undefined,
        resolve,
        reject,
      };
      this.#send({ ...request, seq } as ServerMessage);
    });
  }

  /** Asks the running attempt to stop: its `ctx.signal` aborts, a command's program gets SIGTERM. */
  cancel(): void {
    if (this.#active !== undefined) this.#send({ type: 'cancel', seq: this.#active.seq });
  }

  /** SIGKILLs the worker and everything in its process group. */
  kill(): void {
    if (!this.alive || this.#child.pid === undefined) return;
    try {
      process.kill(-this.#child.pid, 'SIGKILL');
    } catch {
      this.#child.kill('SIGKILL');
    }
  }

  #send(message: ServerMessage): void {
    if (!this.#child.connected) return;
    // The channel may close between the check and the write; the exit fails the attempt.
    this.#child.send(message, () => undefined);
  }

  #onMessage(message: WorkerMessage): void {
    switch (message.type) {
      case 'ready':
        this.#onReady();
        return;
      case 'result': {
        const active = this.#active;
        if (message.exiting) this.#retiring = true;
        if (active === undefined || active.seq !== message.seq) return;
        active.reply = message.ok
          ? { ok: true, outputs: message.outputs }
          : { ok: false, error: message.error };
        this.#settleIfDone();
        return;
      }
      case 'call': {
        const active = this.#active;
        const answer = (error?: string): void =>
          this.#send(
            error === undefined ? { type: 'ack', id: message.id } : { type: 'ack', id: message.id, error },
          );
        if (active === undefined || active.seq !== message.seq) {
          answer('the attempt has ended');
          return;
        }
        active.handlers.call(message.call).then(
          () => answer(),
          (error: unknown) => answer(error instanceof Error ? error.message : String(error)),
        );
        return;
      }
      default: {
        const never: never = message;
        throw new Error(`Unknown worker message ${JSON.stringify(never)}`);
      }
    }
  }

  #onText(stream: LogStream, text: string): void {
    const active = this.#active;
    if (active?.inside[stream]) active.handlers.log(stream, text);
  }

  #onMarker(stream: LogStream, kind: 'begin' | 'end', seq: number): void {
    const active = this.#active;
    if (active === undefined || active.seq !== seq) return;
    active.inside[stream] = kind === 'begin';
    if (kind === 'end') {
      active.ended[stream] = true;
      this.#settleIfDone();
    }
  }

  #settleIfDone(): void {
    const active = this.#active;
    if (active?.reply === undefined || !active.ended.stdout || !active.ended.stderr) return;
    this.#active = undefined;
    active.resolve(active.reply);
  }

  #failActive(description: string): void {
    const active = this.#active;
    if (active === undefined) return;
    this.#active = undefined;
    active.reject(
      new WorkerExitError(`Workflow worker (pid ${this.pid}) ${description} while running the attempt`),
    );
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the marker is delimited by a control character on purpose.
const MARKER = /^\u001ekeel-attempt-(begin|end):(\d+)\u001e/;
const MARKER_PREFIX = `${MARK}keel-attempt-`;
/** Longer than any marker: a held-back candidate this long is plain text. */
const MAX_MARKER_CHARS = 48;

/**
 * Splits a worker's output stream into text and attempt markers; a marker cut between two chunks
 * is held back until the next one.
 *
 * @example
 * const out = new MarkedOutput((text) => log(text), (kind, seq) => onMarker(kind, seq));
 * out.push('hello\u001ekeel-attempt-en');
 * out.push('d:3\u001e'); // log('hello'), onMarker('end', 3)
 */
export class MarkedOutput {
  readonly #onText: (text: string) => void;
  readonly #onMarker: (kind: 'begin' | 'end', seq: number) => void;
  #pending = '';

  constructor(onText: (text: string) => void, onMarker: (kind: 'begin' | 'end', seq: number) => void) {
    this.#onText = onText;
    this.#onMarker = onMarker;
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: string): void {
    let text = this.#pending + chunk;
    this.#pending = '';
    while (text.length > 0) {
      const at = text.indexOf(MARK);
      if (at === -1) {
        this.#onText(text);
        return;
      }
      if (at > 0) this.#onText(text.slice(0, at));
      text = text.slice(at);
      const match = MARKER.exec(text);
      if (match !== null) {
        this.#onMarker(match[1] as 'begin' | 'end', Number(match[2]));
        text = text.slice(match[0].length);
      } else if (mayBecomeMarker(text)) {
        this.#pending = text;
        return;
      } else {
        this.#onText(MARK);
        text = text.slice(1);
      }
    }
  }
}

function mayBecomeMarker(text: string): boolean {
  return (
    text.length < MAX_MARKER_CHARS &&
    text.indexOf(MARK, 1) === -1 &&
    MARKER_PREFIX.startsWith(text.slice(0, MARKER_PREFIX.length))
  );
}
