/**
 * A model directory loaded in this process by the server package's model runtime, behind the SDK's
 * `predict()` conveniences. The SDK talks HTTP and depends on `@keel/core` only: `@keel/server` (an
 * optional peer dependency) is imported when a model is loaded, never before.
 */
import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { enforceSignature, type MLmodel, type ModelInput, type Signature } from '@keel/core';
import { ModelRuntimeNotInstalledError } from '../errors.js';
import { type PredictInput, type PredictOutput, toModelInput } from './model-io.js';
import { toSdkError } from './sdk-error.js';

/**
 * Options handed to the model runtime's loader (`@keel/server`'s `loadModelFromDirectory`); each
 * flavor reads the ones it knows.
 * @example { workers: 1, intraOpNumThreads: 2 }
 */
export interface ModelRuntimeOptions {
  /** The model's name in its metadata. @default the registered model's name, else the folder's name */
  name?: string;
  /** Worker threads (the `onnx` flavor). @default min(2, cores) */
  workers?: number;
  /** onnxruntime threads per worker (the `onnx` flavor). @default 1 */
  intraOpNumThreads?: number;
  /** Any other option a flavor's loader reads. */
  [option: string]: unknown;
}

/** Who a loaded model is. */
export interface LoadedModelMetadata {
  /** The model's name (registered name, folder name, or `runtime.name`). */
  name: string;
  /** The flavor that loaded it (`onnx`, `js`, `process`…). */
  flavor: string;
  /** The parsed `MLmodel`. */
  mlmodel: MLmodel;
}

/**
 * A model loaded in this process, ready to score.
 *
 * @example
 * const model = await keel.loadModel('models:/iris-classifier@champion');
 * const { tensors } = await model.predict([{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }]);
 * await model.close();
 */
export interface LoadedModel {
  /** The local model directory. */
  readonly path: string;
  readonly metadata: LoadedModelMetadata;
  /** The signature from `MLmodel`; `undefined` when the model was logged without one. */
  readonly signature: Signature | undefined;
  /**
   * Scores rows, columns, nested arrays or a `ModelInput` (see `PredictInput`): the input is
   * checked and converted against the signature (missing columns, wrong types and shapes are
   * `InvalidParameterError`s naming the column), then run by the model.
   */
  predict(input: PredictInput, params?: Readonly<Record<string, unknown>>): Promise<PredictOutput>;
  /** Releases the model (workers, child processes) and removes files it downloaded itself. */
  close(): Promise<void>;
}

/** What the SDK uses of `@keel/server`'s exports. */
interface ModelRuntime {
  loadModelFromDirectory(dir: string, options?: Record<string, unknown>): Promise<RuntimeModel>;
}

/** `@keel/server`'s `Model`, as far as the SDK relies on it. */
interface RuntimeModel {
  readonly metadata: LoadedModelMetadata;
  readonly signature: Signature | undefined;
  predict(input: ModelInput, params?: Record<string, unknown>): Promise<PredictOutput>;
  close(): Promise<void>;
}

/** The package that holds the model runtime. */
export const MODEL_RUNTIME_PACKAGE = '@keel/server';

/**
 * Imports the model runtime. The specifier is a variable so that neither TypeScript nor a bundler
 * turns it into a dependency of the SDK.
 */
async function importRuntime(): Promise<ModelRuntime> {
  const specifier: string = MODEL_RUNTIME_PACKAGE;
  let runtime: Partial<ModelRuntime>;
  try {
    runtime = (await import(specifier)) as Partial<ModelRuntime>;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : '';
    if (
      (code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (package|module)|Failed to load url/i.test(message)) &&
      message.includes(MODEL_RUNTIME_PACKAGE)
    ) {
      throw new ModelRuntimeNotInstalledError(error);
    }
    throw error;
  }
  if (typeof runtime.loadModelFromDirectory !== 'function') {
    throw new ModelRuntimeNotInstalledError(
      new Error(`${MODEL_RUNTIME_PACKAGE} does not export loadModelFromDirectory: it is too old`),
    );
  }
  return runtime as ModelRuntime;
}

/** Options of {@link openModelDirectory}. */
export interface OpenModelOptions {
  /** Passed to the runtime's loader. @default {} */
  runtime?: ModelRuntimeOptions;
  /** A folder to remove on `close()` (files downloaded for this model). @default none */
  ownedDir?: string;
}

/**
 * Loads the model directory `dir` with `@keel/server`'s runtime (the flavor is read from
 * `MLmodel`). The model's name defaults to the folder's name.
 *
 * @throws ModelRuntimeNotInstalledError when `@keel/server` cannot be imported; InvalidParameterError
 *   for a missing or invalid `MLmodel` or an unsupported flavor.
 * @example
 * const model = await openModelDirectory('/tmp/model', { runtime: { workers: 1 } });
 */
export async function openModelDirectory(dir: string, options: OpenModelOptions = {}): Promise<LoadedModel> {
  const runtime = await importRuntime();
  const runtimeOptions = { ...options.runtime, name: options.runtime?.name ?? basename(dir) };
  let model: RuntimeModel;
  try {
    model = await runtime.loadModelFromDirectory(dir, runtimeOptions);
  } catch (error) {
    throw toSdkError(error);
  }
  return new LocalModel(dir, model, options.ownedDir);
}

class LocalModel implements LoadedModel {
  readonly path: string;
  readonly metadata: LoadedModelMetadata;
  readonly signature: Signature | undefined;
  readonly #model: RuntimeModel;
  readonly #ownedDir: string | undefined;
  #closing: Promise<void> | undefined;

  constructor(path: string, model: RuntimeModel, ownedDir: string | undefined) {
    this.path = path;
    this.metadata = model.metadata;
    this.signature = model.signature;
    this.#model = model;
    this.#ownedDir = ownedDir;
  }

  async predict(input: PredictInput, params?: Readonly<Record<string, unknown>>): Promise<PredictOutput> {
    try {
      const decoded = toModelInput(input);
      const checked = this.signature ? enforceSignature(decoded, this.signature) : decoded;
      return await this.#model.predict(checked, params === undefined ? undefined : { ...params });
    } catch (error) {
      throw toSdkError(error);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#model.close();
      } finally {
        if (this.#ownedDir !== undefined) await rm(this.#ownedDir, { recursive: true, force: true });
      }
    })();
    return this.#closing;
  }
}
