/**
 * The `process` flavor: a model in any language, served by a child process that speaks the
 * `keel-jsonl/1` protocol on stdin/stdout (documented in `protocol.ts`).
 *
 * ```yaml
 * flavors:
 *   process:
 *     command: [python3, predict.py]   # run with the model directory as working directory
 *     env: {OMP_NUM_THREADS: '1'}      # optional, added to the inherited environment
 *     protocol: keel-jsonl/1
 * ```
 *
 * **Choosing the interpreter.** `command[0]` is looked up on the child's `PATH`. Pin one by writing
 * an absolute path in `command` (`/usr/bin/python3`), or keep the model portable (`python3`) and put
 * the directory of the interpreter you want first with the `processPath` option (e.g.
 * `processPath: '/usr/bin'` for Debian's Python with `python3-sklearn`, or a virtualenv's `bin`).
 * `PYTHONUNBUFFERED=1` is set unless the flavor's `env` says otherwise, so Python replies are not
 * held in a buffer.
 */
import { basename, delimiter, resolve } from 'node:path';
import {
  invalidParameter,
  KeelError,
  type MLmodel,
  type ModelInput,
  parseSignature,
  type Signature,
} from '@keel/core';
import type { Model, ModelMetadata, ModelOutput } from '../model.js';
import { RestartBackoff, type RestartPolicy } from '../restart-backoff.js';
import { ModelProcess, type ModelProcessOptions } from './model-process.js';
import { PROCESS_PROTOCOL } from './protocol.js';

/** Where a process model reports its child's stderr and its restarts (pino's `info`/`warn` fit). */
export interface ProcessModelLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** Options of {@link ProcessModel.load}. */
export interface ProcessModelOptions {
  /**
   * Name reported in metadata (and Open Inference Protocol paths).
   * @default the directory's name
   */
  name?: string;
  /**
   * Directories (joined with the platform's path delimiter) put first on the child's `PATH`, so a
   * portable `command` such as `python3` finds the interpreter you choose.
   * @default none: the inherited `PATH`
   */
  processPath?: string;
  /**
   * The environment the child inherits, before the flavor's `env` and `processPath` apply.
   * @default process.env
   */
  processEnv?: NodeJS.ProcessEnv;
  /**
   * How long a child may take to print `{"ready": true}` (at load and at each restart).
   * @default 30_000
   */
  startupTimeoutMs?: number;
  /**
   * On `close()`, how long to wait after closing stdin before SIGTERM, and after SIGTERM before SIGKILL.
   * @default 5_000
   */
  closeTimeoutMs?: number;
  /**
   * How fast a dead child is restarted.
   * @default DEFAULT_RESTART_POLICY
   */
  restart?: RestartPolicy;
  /**
   * Receives the child's stderr lines (`info`) and its exits and restarts (`warn`).
   * @default a logger that drops everything
   */
  logger?: ProcessModelLogger;
}

const silentLogger: ProcessModelLogger = { info: () => undefined, warn: () => undefined };

interface Resolved {
  name: string;
  startupTimeoutMs: number;
  closeTimeoutMs: number;
  logger: ProcessModelLogger;
}

/**
 * A loaded `process` model. Requests are pipelined to one child. When the child dies, its requests
 * in flight reject with INTERNAL_ERROR (naming the exit code or signal and the last stderr lines) and
 * a new child is started: at once the first time, then with exponential backoff
 * ({@link RestartPolicy}). While no child is running, {@link ready} is `false` and `predict` rejects
 * with TEMPORARILY_UNAVAILABLE (503); while a restarted child is starting, requests wait for it.
 *
 * @example
 * const model = await ProcessModel.load('./model', parseMLmodel(text), { processPath: '/usr/bin' });
 * await model.predict({ kind: 'columns', columns: { x: [1.5] }, rowCount: 1 });
 * await model.close();
 */
export class ProcessModel implements Model {
  readonly metadata: ModelMetadata;
  readonly signature: Signature | undefined;
  readonly #spawnOptions: ModelProcessOptions;
  readonly #options: Resolved;
  readonly #backoff: RestartBackoff;
  #child: ModelProcess | undefined;
  #starting: Promise<ModelProcess | undefined> | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #restartAt = 0;
  #lastFailure = '';
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Aborted by `close()`, so a child still starting is killed instead of awaited. */
  readonly #closeSignal = new AbortController();

  private constructor(
    metadata: ModelMetadata,
    signature: Signature | undefined,
    spawnOptions: ModelProcessOptions,
    options: Resolved,
    restart: RestartPolicy | undefined,
  ) {
    this.metadata = metadata;
    this.signature = signature;
    this.#spawnOptions = spawnOptions;
    this.#options = options;
    this.#backoff = new RestartBackoff(restart);
  }

  /**
   * Loads the model in `dir`: starts its child and waits for the ready line.
   * @throws INVALID_PARAMETER_VALUE when the `process` flavor is missing or invalid (`command` not a
   *   non-empty list of strings, `env` not a mapping of strings, an unknown `protocol`), an option is
   *   invalid, or the child cannot start (see {@link ModelProcess.start}).
   */
  static async load(dir: string, mlmodel: MLmodel, options: ProcessModelOptions = {}): Promise<ProcessModel> {
    const flavor = mlmodel.flavors.process;
    if (flavor === undefined) throw invalidParameter(`The MLmodel in ${dir} has no 'process' flavor`);
    const protocol = flavor.protocol ?? PROCESS_PROTOCOL;
    if (protocol !== PROCESS_PROTOCOL) {
      throw invalidParameter(
        `flavors.process.protocol ${JSON.stringify(protocol)} is not supported; supported: [${PROCESS_PROTOCOL}]`,
      );
    }
    const { command } = flavor;
    if (
      !Array.isArray(command) ||
      command.length === 0 ||
      !command.every((part) => typeof part === 'string' && part !== '')
    ) {
      throw invalidParameter(
        `flavors.process.command must be a non-empty list of strings, e.g. [python3, predict.py]; got ${JSON.stringify(command)}`,
      );
    }
    const env: NodeJS.ProcessEnv = {
      ...(options.processEnv ?? process.env),
      PYTHONUNBUFFERED: '1',
      ...flavorEnv(flavor.env),
    };
    if (options.processPath !== undefined && options.processPath !== '') {
      env.PATH = env.PATH ? `${options.processPath}${delimiter}${env.PATH}` : options.processPath;
    }
    const resolved: Resolved = {
      name: options.name ?? basename(resolve(dir)),
      startupTimeoutMs: positive('startupTimeoutMs', options.startupTimeoutMs ?? 30_000),
      closeTimeoutMs: positive('closeTimeoutMs', options.closeTimeoutMs ?? 5_000),
      logger: options.logger ?? silentLogger,
    };
    const model = new ProcessModel(
      { name: resolved.name, flavor: 'process', mlmodel },
      mlmodel.signature ? parseSignature(mlmodel.signature) : undefined,
      { command: command as string[], cwd: resolve(dir), env, startupTimeoutMs: resolved.startupTimeoutMs },
      resolved,
      options.restart,
    );
    model.#adopt(await ModelProcess.start(model.#childOptions()));
    return model;
  }

  /** Whether a child is running and has printed its ready line. */
  get ready(): boolean {
    return !this.#closed && this.#child?.usable === true;
  }

  /** The running child's process id, `undefined` while none runs (for tests and operators). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Sends the input to the child and resolves with its normalized output.
   * Rejects with BAD_REQUEST when the child answers with an `error`; INTERNAL_ERROR when its output is
   * not one, it breaks the protocol, or it dies before answering; TEMPORARILY_UNAVAILABLE while no
   * child runs (restart backoff); INTERNAL_ERROR after `close()`.
   */
  async predict(input: ModelInput, params?: Record<string, unknown>): Promise<ModelOutput> {
    for (;;) {
      if (this.#closed) throw this.#closedError();
      const child = this.#child;
      if (child?.usable) {
        const output = await child.request(input, params);
        this.#backoff.reset();
        return output;
      }
      // A child that is going away is replaced by #adopt's exit handler, which runs before this await
      // resumes; a start in progress settles with its child or with the next backoff scheduled.
      if (child !== undefined) await child.exit;
      else if (this.#starting !== undefined) await this.#starting;
      else throw this.#unavailableError();
    }
  }

  /**
   * Closes the child's stdin and waits for it to exit (SIGTERM, then SIGKILL, after `closeTimeoutMs`
   * each); cancels a pending restart. Later `predict` calls reject. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      clearTimeout(this.#restartTimer);
      this.#closeSignal.abort();
      this.#closing = (async () => {
        if (this.#starting !== undefined) await this.#starting;
        await this.#child?.stop({ graceMs: this.#options.closeTimeoutMs });
      })();
    }
    return this.#closing;
  }

  #childOptions(): ModelProcessOptions {
    const { logger, name } = this.#options;
    return {
      ...this.#spawnOptions,
      signal: this.#closeSignal.signal,
      onStderr: (line, pid) => logger.info({ model: name, pid, stream: 'stderr' }, line),
    };
  }

  #adopt(child: ModelProcess): void {
    this.#child = child;
    void child.exit.then((exit) => {
      if (this.#child === child) this.#child = undefined;
      if (this.#closed) return;
      this.#lastFailure = exit.description;
      this.#scheduleRestart({ pid: child.pid, code: exit.code, signal: exit.signal }, 'Model process ended');
    });
  }

  #scheduleRestart(details: object, what: string): void {
    const delay = this.#backoff.recordFailure();
    this.#options.logger.warn(
      {
        model: this.#options.name,
        ...details,
        restartInMs: delay,
        recentFailures: this.#backoff.recentFailures,
      },
      `${what}; restarting`,
    );
    if (delay === 0) {
      this.#restart();
      return;
    }
    this.#restartAt = Date.now() + delay;
    this.#restartTimer = setTimeout(() => this.#restart(), delay);
    // A pending restart alone must not keep the process alive.
    this.#restartTimer.unref();
  }

  #restart(): void {
    this.#restartTimer = undefined;
    if (this.#closed) return;
    this.#starting = ModelProcess.start(this.#childOptions()).then(
      (child) => {
        this.#starting = undefined;
        this.#adopt(child);
        return child;
      },
      (error: Error) => {
        this.#starting = undefined;
        this.#lastFailure = error.message;
        if (!this.#closed) this.#scheduleRestart({ error: error.message }, 'Model process failed to start');
        return undefined;
      },
    );
  }

  #closedError(): KeelError {
    return new KeelError('INTERNAL_ERROR', `Model '${this.#options.name}' is closed`);
  }

  #unavailableError(): KeelError {
    const wait = Math.max(0, Math.ceil((this.#restartAt - Date.now()) / 1000));
    return new KeelError(
      'TEMPORARILY_UNAVAILABLE',
      `Model '${this.#options.name}' has no running process: it failed ${this.#backoff.recentFailures} times in the last minute and restarts in ${wait} s. Last failure: ${this.#lastFailure}`,
    );
  }
}

function flavorEnv(env: unknown): Record<string, string> {
  if (env === undefined || env === null) return {};
  if (typeof env !== 'object' || Array.isArray(env)) {
    throw invalidParameter(`flavors.process.env must be a mapping of variable name to value`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw invalidParameter(`flavors.process.env.${key} must be a string, got ${JSON.stringify(value)}`);
    }
    out[key] = String(value);
  }
  return out;
}

function positive(key: string, value: number): number {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw invalidParameter(`${key} must be a positive number of milliseconds, got ${JSON.stringify(value)}`);
  }
  return value;
}
