/**
 * One child process of a `process` model, from spawn to exit: waits for its ready line, pipelines
 * requests to it and matches replies by id. Restarting is {@link ProcessModel}'s job; a
 * `ModelProcess` only lives once.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { invalidParameter, KeelError, type ModelInput } from '@keel/core';
import type { ModelOutput } from '../model.js';
import { normalizeModelOutput } from '../model-output.js';
import { encodeRequest, PROCESS_PROTOCOL, parseChildLine, READY_LINE, snippet } from './protocol.js';

/** Options of {@link ModelProcess.start}. */
export interface ModelProcessOptions {
  /** Program and arguments; the program is looked up on `env.PATH`. */
  command: readonly string[];
  /** Working directory (the model directory). */
  cwd: string;
  /** The child's whole environment. */
  env: NodeJS.ProcessEnv;
  /** How long the child may take to print its ready line. */
  startupTimeoutMs: number;
  /** Aborting it kills a child that is still starting (its start rejects). */
  signal?: AbortSignal;
  /** Called with each stderr line and the child's process id. */
  onStderr?: (line: string, pid: number | undefined) => void;
}

/** How a child ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** For messages: `exited with code 1`, `was killed by signal SIGKILL`, `could not be spawned: …`. */
  description: string;
}

/** Options of {@link ModelProcess.stop}. */
export interface StopOptions {
  /** How long to wait after closing stdin before SIGTERM, and after SIGTERM before SIGKILL. */
  graceMs: number;
}

interface Pending {
  resolve: (output: ModelOutput) => void;
  reject: (error: Error) => void;
}

/** stderr lines kept for error messages, and the longest kept line. */
const STDERR_LINES = 10;
const STDERR_LINE_CHARS = 500;

/**
 * A running child that speaks `keel-jsonl/1` (see `protocol.ts`).
 *
 * @example
 * const child = await ModelProcess.start({ command: ['python3', 'predict.py'], cwd: dir, env, startupTimeoutMs: 30_000 });
 * const output = await child.request(input, undefined);
 * await child.stop({ graceMs: 5000 });
 */
export class ModelProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #label: string;
  readonly #pending = new Map<number, Pending>();
  readonly #stderr: string[] = [];
  readonly #exit: Promise<ProcessExit>;
  #resolveExit!: (exit: ProcessExit) => void;
  #spawnError: Error | undefined;
  #exited: ProcessExit | undefined;
  #ready = false;
  #stopping = false;
  /** Why the child was killed by Keel, when it was (startup timeout, a stray stdout line). */
  #killedBecause: string | undefined;
  #nextId = 0;
  #onReady: () => void = () => undefined;

  private constructor(options: ModelProcessOptions) {
    const [program, ...args] = options.command;
    this.#label = options.command.join(' ');
    this.#exit = new Promise((resolve) => {
      this.#resolveExit = resolve;
    });
    this.#child = spawn(program as string, args, { cwd: options.cwd, env: options.env, stdio: 'pipe' });
    this.#child.on('error', (error) => {
      // Emitted when spawning fails (no 'exit' follows for ENOENT), or when a kill() fails.
      if (this.#child.pid === undefined) {
        this.#spawnError = error;
        this.#finish(null, null);
      }
    });
    this.#child.on('close', (code, signal) => this.#finish(code, signal));
    // A child that exits with requests unwritten makes stdin emit EPIPE; the exit explains it.
    this.#child.stdin.on('error', () => undefined);
    createInterface({ input: this.#child.stderr, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      this.#stderr.push(line.length > STDERR_LINE_CHARS ? `${line.slice(0, STDERR_LINE_CHARS)}…` : line);
      if (this.#stderr.length > STDERR_LINES) this.#stderr.shift();
      options.onStderr?.(line, this.#child.pid);
    });
    createInterface({ input: this.#child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
      this.#onLine(line),
    );
  }

  /**
   * Spawns the child and waits for its ready line.
   * @throws INVALID_PARAMETER_VALUE when the program cannot be spawned, the child exits or prints
   *   anything else before `{"ready": true}`, or does not print it within `startupTimeoutMs` (the
   *   child is killed then); the message ends with its last stderr lines.
   */
  static async start(options: ModelProcessOptions): Promise<ModelProcess> {
    const child = new ModelProcess(options);
    const timer = setTimeout(() => {
      child.#kill(`did not print ${READY_LINE} within ${options.startupTimeoutMs} ms`);
    }, options.startupTimeoutMs);
    const abort = (): void => child.#kill('was stopped while starting');
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        child.#onReady = resolve;
        void child.#exit.then((exit) => reject(child.#startError(exit)));
      });
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
    }
    return child;
  }

  /** The child's process id (`undefined` when it could not be spawned). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Requests written and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Whether the child has ended. */
  get exited(): boolean {
    return this.#exited !== undefined;
  }

  /** Whether the child takes requests: ready, not stopping, not killed for breaking the protocol, alive. */
  get usable(): boolean {
    return this.#ready && this.#exited === undefined && !this.#stopping && this.#killedBecause === undefined;
  }

  /** Settles once the child has ended and its output has been read. */
  get exit(): Promise<ProcessExit> {
    return this.#exit;
  }

  /**
   * Writes one request and resolves with the child's normalized output.
   * Rejects with BAD_REQUEST for an `error` reply, INTERNAL_ERROR for an output that is not one or a
   * reply that cannot be read, and INTERNAL_ERROR naming the exit and the last stderr lines when the
   * child ends before answering.
   */
  request(input: ModelInput, params: Record<string, unknown> | undefined): Promise<ModelOutput> {
    if (!this.usable) return Promise.reject(this.#goneError());
    const id = this.#nextId++;
    return new Promise<ModelOutput>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const line = encodeRequest(params === undefined ? { id, input } : { id, input, params });
      try {
        this.#child.stdin.write(line);
      } catch (error) {
        this.#pending.delete(id);
        reject(
          new KeelError('INTERNAL_ERROR', `Cannot write to the model process: ${(error as Error).message}`),
        );
      }
    });
  }

  /**
   * Closes stdin and waits for the child to exit, answering what it still answers; after `graceMs`
   * sends SIGTERM, after `graceMs` more SIGKILL. Requests still unanswered at exit reject. Idempotent.
   */
  async stop(options: StopOptions): Promise<void> {
    this.#stopping = true;
    if (this.#exited !== undefined) return;
    this.#child.stdin.end();
    const exited = (ms: number): Promise<boolean> =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        void this.#exit.then(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    if (await exited(options.graceMs)) return;
    this.#child.kill('SIGTERM');
    if (await exited(options.graceMs)) return;
    this.#child.kill('SIGKILL');
    await this.#exit;
  }

  #onLine(line: string): void {
    if (line.trim() === '') return;
    const message = parseChildLine(line);
    if (!this.#ready) {
      if (message.kind === 'ready') {
        this.#ready = true;
        this.#onReady();
      } else {
        this.#kill(`printed ${JSON.stringify(snippet(line))} on stdout before ${READY_LINE}`);
      }
      return;
    }
    const pending =
      message.kind === 'ready' || message.id === undefined ? undefined : this.#pending.get(message.id);
    if (pending === undefined || message.kind === 'ready') {
      this.#kill(
        `wrote a stdout line that answers no request in flight (${
          message.kind === 'malformed' ? message.reason : snippet(line)
        }); ${PROCESS_PROTOCOL} children write logs to stderr`,
      );
      return;
    }
    this.#pending.delete(message.id as number);
    switch (message.kind) {
      case 'output':
        try {
          pending.resolve(normalizeModelOutput(message.output, 'Model process'));
        } catch (error) {
          pending.reject(error as Error);
        }
        return;
      case 'error':
        pending.reject(new KeelError('BAD_REQUEST', `Model predict failed: ${message.message}`));
        return;
      case 'malformed':
        pending.reject(
          new KeelError('INTERNAL_ERROR', `Model process sent a malformed reply: ${message.reason}`),
        );
        return;
      default: {
        const never: never = message;
        throw new Error(`Unknown line ${JSON.stringify(never)}`);
      }
    }
  }

  /** Kills a child that broke the protocol: its requests fail now, with `reason`. */
  #kill(reason: string): void {
    if (this.#killedBecause !== undefined || this.#exited !== undefined) return;
    this.#killedBecause = reason;
    this.#rejectAll(
      new KeelError('INTERNAL_ERROR', `Model process (${this.#label}) ${reason}; it is restarted`),
    );
    this.#child.kill('SIGKILL');
  }

  #finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exited !== undefined) return;
    const description =
      this.#spawnError !== undefined
        ? `could not be spawned (${this.#spawnError.message})`
        : signal !== null
          ? `was killed by signal ${signal}`
          : `exited with code ${code}`;
    this.#exited = { code, signal, description };
    this.#rejectAll(this.#goneError());
    this.#resolveExit(this.#exited);
  }

  #rejectAll(error: KeelError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }

  #goneError(): KeelError {
    if (this.#stopping) {
      return new KeelError('INTERNAL_ERROR', `Model process (${this.#label}) was closed before it answered`);
    }
    const why =
      this.#killedBecause === undefined
        ? `${this.#exited?.description ?? 'is not running'} before answering the request`
        : `was stopped because it ${this.#killedBecause}`;
    return new KeelError(
      'INTERNAL_ERROR',
      `Model process (${this.#label}, pid ${this.pid}) ${why}${this.#stderrTail()}`,
    );
  }

  #startError(exit: ProcessExit): KeelError {
    const why = this.#killedBecause ?? `${exit.description} before printing ${READY_LINE}`;
    return invalidParameter(`Model process (${this.#label}) ${why}${this.#stderrTail()}`);
  }

  #stderrTail(): string {
    return this.#stderr.length === 0 ? '' : `. Last stderr lines:\n${this.#stderr.join('\n')}`;
  }
}
