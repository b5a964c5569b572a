/**
 * The `js` flavor: a model written in JavaScript or TypeScript, bundled with its code into one ES
 * module inside the model directory (the Node world's analogue of MLflow's `python_function`).
 *
 * ## Directory and `MLmodel`
 *
 * ```yaml
 * flavors:
 *   js:
 *     entry: code/model.mjs   # self-contained ES module, relative to the model directory
 *     data: data              # optional folder of the model's files (weights, vocabularies, …)
 *     keel_version: 0.1.0
 * ```
 *
 * `entry` and `data` are relative paths that must stay inside the model directory (no absolute path,
 * no `..` out of it, no symlink out of it).
 *
 * ## Module contract
 *
 * ```js
 * // Optional. Called once per worker thread before the first request; may be async.
 * export async function load({ modelDir, dataDir, mlmodel }) {
 *   return JSON.parse(await readFile(join(dataDir, 'weights.json'), 'utf8')); // the model's state
 * }
 * // Required. Called for every request; may be async.
 * export function predict(input, params, state) {
 *   return input.columns.x.map((x) => state.w * x + state.b);
 * }
 * ```
 *
 * - `modelDir` is the model directory's absolute path, `dataDir` the absolute path of `data` (or
 *   `undefined` when the flavor has none), `mlmodel` the parsed `MLmodel`.
 * - `input` is Keel's `ModelInput`, already checked against the signature:
 *   `{kind: 'columns', columns: {name: values[]}, rowCount}` or
 *   `{kind: 'tensors', tensors: {name: {data: flatValues[], shape}}}` (an unnamed tensor is named `''`).
 *   `params` is the request's `params` object, or `undefined`.
 * - `predict` returns (see `normalizeModelOutput`): a `ModelOutput`
 *   (`{kind: 'tensors', tensors}` / `{kind: 'columns', columns, rowCount}`); an array, one element per
 *   row, which becomes one column named `predictions`; or an object of equal-length arrays, which
 *   become columns. Typed arrays are fine anywhere an array is. Anything else fails the request with
 *   INTERNAL_ERROR naming what was returned.
 * - A `predict` that throws fails the request with 400 BAD_REQUEST `Model predict failed: <message>`;
 *   a `load` that throws (or a missing `predict` export) fails the model's load with
 *   INVALID_PARAMETER_VALUE. A CommonJS module bundled by esbuild (one `default` export holding
 *   `load`/`predict`) is accepted too.
 * - Each worker thread imports the module separately and keeps its own `state`; one worker runs one
 *   request at a time. A worker that dies (uncaught error, `process.exit`) fails its request with
 *   INTERNAL_ERROR and is restarted with backoff.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import {
  invalidParameter,
  KeelError,
  type MLmodel,
  type ModelInput,
  parseSignature,
  type Signature,
} from '@keel/core';
import type { Model, ModelMetadata, ModelOutput } from '../model.js';
import { normalizeModelOutput } from '../model-output.js';
import type { RestartPolicy } from '../restart-backoff.js';
import { WorkerPool } from '../worker-pool.js';
import { createJsWorker, type JsWorkerInfo, type JsWorkerRequest, type JsWorkerResult } from './js-worker.js';

/** Options of {@link JsModel.load}. */
export interface JsModelOptions {
  /**
   * Name reported in metadata (and Open Inference Protocol paths).
   * @default the directory's name
   */
  name?: string;
  /**
   * Worker threads, each with its own copy of the module and its state.
   * @default 1
   */
  workers?: number;
  /**
   * How long a worker may take to import the module and run `load()`; past it the load fails.
   * @default 60_000
   */
  loadTimeoutMs?: number;
  /**
   * How fast dead workers are replaced.
   * @default DEFAULT_RESTART_POLICY
   */
  restart?: RestartPolicy;
}

/** Where the entry module sits when `flavors.js.entry` is left out. */
export const DEFAULT_JS_ENTRY = 'code/model.mjs';

/**
 * A loaded `js` model: the bundled module runs in a {@link WorkerPool} so a CPU-heavy `predict`
 * never blocks the event loop. See the file's documentation for the module contract.
 *
 * @example
 * const model = await JsModel.load('./model', parseMLmodel(text), { workers: 2 });
 * await model.predict({ kind: 'columns', columns: { x: [1, 2] }, rowCount: 2 });
 * // { kind: 'columns', columns: { predictions: [3, 5] }, rowCount: 2 }
 */
export class JsModel implements Model {
  readonly metadata: ModelMetadata;
  readonly signature: Signature | undefined;
  readonly #pool: WorkerPool<JsWorkerRequest, JsWorkerResult, JsWorkerInfo>;

  private constructor(
    metadata: ModelMetadata,
    signature: Signature | undefined,
    pool: WorkerPool<JsWorkerRequest, JsWorkerResult, JsWorkerInfo>,
  ) {
    this.metadata = metadata;
    this.signature = signature;
    this.#pool = pool;
  }

  /**
   * Loads the model in `dir` whose parsed `MLmodel` is `mlmodel`: starts the workers, each of which
   * imports the entry module and runs its `load()`.
   * @throws INVALID_PARAMETER_VALUE when the `js` flavor is missing, `entry` or `data` is not a
   *   relative path inside `dir` or does not exist, an option is invalid, or the module cannot be
   *   imported, has no `predict` export, or its `load()` throws or times out.
   */
  static async load(dir: string, mlmodel: MLmodel, options: JsModelOptions = {}): Promise<JsModel> {
    const flavor = mlmodel.flavors.js;
    if (flavor === undefined) throw invalidParameter(`The MLmodel in ${dir} has no 'js' flavor`);
    const modelDir = resolve(dir);
    const entry = flavor.entry ?? DEFAULT_JS_ENTRY;
    const entryPath = await insideModelDir(modelDir, 'entry', entry, 'file');
    const dataDir =
      flavor.data === undefined || flavor.data === null
        ? undefined
        : await insideModelDir(modelDir, 'data', flavor.data, 'directory');
    const workers = options.workers ?? 1;
    const loadTimeoutMs = options.loadTimeoutMs ?? 60_000;
    if (!Number.isInteger(workers) || workers < 1) {
      throw invalidParameter(`workers must be a positive integer, got ${JSON.stringify(workers)}`);
    }
    if (!(loadTimeoutMs > 0)) {
      throw invalidParameter(`loadTimeoutMs must be a positive number, got ${JSON.stringify(loadTimeoutMs)}`);
    }
    const signature = mlmodel.signature ? parseSignature(mlmodel.signature) : undefined;
    let pool: WorkerPool<JsWorkerRequest, JsWorkerResult, JsWorkerInfo>;
    try {
      pool = await WorkerPool.start<JsWorkerRequest, JsWorkerResult, JsWorkerInfo>({
        size: workers,
        label: 'JS model worker',
        startTimeoutMs: loadTimeoutMs,
        ...(options.restart === undefined ? {} : { restart: options.restart }),
        createWorker: () => createJsWorker({ entryPath, entry: String(entry), modelDir, dataDir, mlmodel }),
      });
    } catch (error) {
      if (error instanceof KeelError && error.code === 'INVALID_PARAMETER_VALUE') throw error;
      // A worker that dies or times out in load() is the model's fault, not the server's.
      throw invalidParameter(`Cannot load JS model in ${dir}: ${(error as Error).message}`);
    }
    return new JsModel({ name: options.name ?? basename(modelDir), flavor: 'js', mlmodel }, signature, pool);
  }

  /** Whether a worker is ready to take a request (`false` while every worker waits for a restart). */
  get ready(): boolean {
    return this.#pool.ready;
  }

  /** Live worker threads (a crashed one is replaced). */
  get workerCount(): number {
    return this.#pool.size;
  }

  /**
   * Runs the module's `predict` in a free worker and normalizes its result.
   * Rejects with BAD_REQUEST when `predict` throws; INTERNAL_ERROR when it returns something that is
   * not an output or its worker dies; TEMPORARILY_UNAVAILABLE while no worker is alive.
   */
  async predict(input: ModelInput, params?: Record<string, unknown>): Promise<ModelOutput> {
    const { output } = await this.#pool.run({ input, params });
    return normalizeModelOutput(output, 'JS model predict');
  }

  /**
   * Test hook: the worker that takes the next request runs it, then dies without answering.
   * @internal
   */
  crashNextRequestForTesting(): void {
    this.#pool.crashNextRequestForTesting();
  }

  /** Stops the workers (each finishes the request it runs); later `predict` calls reject. */
  close(): Promise<void> {
    return this.#pool.close();
  }
}

/**
 * Resolves `value` (flavor key `key`) against `modelDir` and checks it names an existing file or
 * directory inside it, symlinks followed. Returns the real absolute path.
 */
async function insideModelDir(
  modelDir: string,
  key: string,
  value: unknown,
  kind: 'file' | 'directory',
): Promise<string> {
  if (typeof value !== 'string' || value === '') {
    throw invalidParameter(`flavors.js.${key} must be a relative path, got ${JSON.stringify(value)}`);
  }
  const escapes = (root: string, path: string): boolean => {
    const rel = relative(root, path);
    return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  };
  if (isAbsolute(value) || escapes(modelDir, resolve(modelDir, value))) {
    throw invalidParameter(`flavors.js.${key} '${value}' must be a relative path inside the model directory`);
  }
  let real: string;
  let isWanted: boolean;
  try {
    real = await realpath(resolve(modelDir, value));
    const info = await stat(real);
    isWanted = kind === 'file' ? info.isFile() : info.isDirectory();
  } catch {
    throw invalidParameter(`flavors.js.${key}: ${kind} '${value}' not found in ${modelDir}`);
  }
  if (!isWanted) throw invalidParameter(`flavors.js.${key}: '${value}' in ${modelDir} is not a ${kind}`);
  if (escapes(await realpath(modelDir), real)) {
    throw invalidParameter(`flavors.js.${key} '${value}' links outside the model directory`);
  }
  return real;
}
