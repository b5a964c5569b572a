/**
 * The `onnx` flavor: `<dir>/MLmodel` plus the flavor's `data` file (`model.onnx`, as MLflow's
 * `mlflow.onnx` writes it), run by onnxruntime-node in a {@link WorkerPool}.
 */
import { access } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import type { Transferable } from 'node:worker_threads';
import {
  invalidParameter,
  type MLmodel,
  type ModelInput,
  parseSignature,
  type Signature,
  type Tensor,
  UNNAMED_TENSOR,
} from '@keel/core';
import type { Model, ModelIo, ModelMetadata, ModelOutput, OutputTensor } from '../model.js';
import { WorkerPool } from '../worker-pool.js';
import {
  createOnnxWorker,
  type OnnxValueInfo,
  type OnnxWorkerInfo,
  type OnnxWorkerRequest,
  type OnnxWorkerResult,
  type WireTensor,
} from './onnx-worker.js';

/** Options of {@link OnnxModel.load}. */
export interface OnnxModelOptions {
  /**
   * Name reported in metadata (and Open Inference Protocol paths).
   * @default the directory's name
   */
  name?: string;
  /**
   * Worker threads, each with its own `InferenceSession`.
   * @default min(2, available cores)
   */
  workers?: number;
  /**
   * onnxruntime intra-op threads per worker. Set explicitly so `workers × intraOpNumThreads` does not
   * exceed the cores (onnxruntime's own default is one thread per core, per session).
   * @default 1
   */
  intraOpNumThreads?: number;
}

type ResolvedOptions = Readonly<Required<Omit<OnnxModelOptions, 'name'>>> & { readonly name: string };

/** Tensors at least this large move to and from workers by transfer; smaller ones are copied. */
export const TRANSFER_MIN_BYTES = 64 * 1024;

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);

/**
 * A loaded ONNX model. `predict` converts the input to typed arrays in the calling thread, runs the
 * session in a free worker and returns every output as a named tensor of plain numbers.
 *
 * Inputs: columns become one `[rows, columns]` tensor when the graph has a single 2-D input (columns in
 * the signature's order, else in the input's order), or one tensor per graph input named like a column;
 * named tensors feed the graph inputs of the same name (a single unnamed tensor feeds a single input).
 *
 * @example
 * const model = await OnnxModel.load('./model', parseMLmodel(text), { workers: 2 });
 * const out = await model.predict({ kind: 'tensors', tensors: { input: { data: [...], shape: [1, 30] } } });
 * out; // { kind: 'tensors', tensors: { output: { data: [0.3, 0.7], shape: [1, 2] } } }
 */
export class OnnxModel implements Model {
  readonly metadata: ModelMetadata;
  readonly signature: Signature | undefined;
  readonly #pool: WorkerPool<OnnxWorkerRequest, OnnxWorkerResult, OnnxWorkerInfo>;

  private constructor(
    metadata: ModelMetadata,
    signature: Signature | undefined,
    pool: WorkerPool<OnnxWorkerRequest, OnnxWorkerResult, OnnxWorkerInfo>,
  ) {
    this.metadata = metadata;
    this.signature = signature;
    this.#pool = pool;
  }

  /**
   * Loads the model in `dir` whose parsed `MLmodel` is `mlmodel`, starting the workers.
   * @throws INVALID_PARAMETER_VALUE when the `onnx` flavor or its data file is missing, the options are
   *   not positive integers, or onnxruntime cannot load the file.
   */
  static async load(dir: string, mlmodel: MLmodel, options: OnnxModelOptions = {}): Promise<OnnxModel> {
    const flavor = mlmodel.flavors.onnx;
    if (flavor === undefined) throw invalidParameter(`The MLmodel in ${dir} has no 'onnx' flavor`);
    const data = typeof flavor.data === 'string' ? flavor.data : 'model.onnx';
    const modelPath = join(dir, data);
    try {
      await access(modelPath);
    } catch {
      throw invalidParameter(`ONNX model file '${data}' (flavors.onnx.data) not found in ${dir}`);
    }
    const resolved = resolveOptions(dir, options);
    const signature = mlmodel.signature ? parseSignature(mlmodel.signature) : undefined;
    const pool = await WorkerPool.start<OnnxWorkerRequest, OnnxWorkerResult, OnnxWorkerInfo>({
      size: resolved.workers,
      label: 'ONNX worker',
      createWorker: () =>
        createOnnxWorker({
          modelPath,
          intraOpNumThreads: resolved.intraOpNumThreads,
          transferMinBytes: TRANSFER_MIN_BYTES,
        }),
    });
    return new OnnxModel({ name: resolved.name, flavor: 'onnx', mlmodel }, signature, pool);
  }

  /** The graph's inputs and outputs as onnxruntime reports them. */
  get graph(): OnnxWorkerInfo {
    return this.#pool.info;
  }

  /** The graph's inputs and outputs, for protocol metadata ({@link Model.io}). */
  get io(): ModelIo {
    return this.#pool.info;
  }

  /** Live worker threads (a crashed one is replaced). */
  get workerCount(): number {
    return this.#pool.size;
  }

  /** Whether a worker can take a request (false while every worker is restarting after crashes). */
  get ready(): boolean {
    return this.#pool.ready;
  }

  /**
   * Runs the model. Rejects with INVALID_PARAMETER_VALUE (400) naming the input for a missing input, a
   * wrong rank or fixed dimension, or a non-numeric value; with INTERNAL_ERROR when onnxruntime fails or
   * the worker dies while running it.
   */
  async predict(input: ModelInput, _params?: Record<string, unknown>): Promise<ModelOutput> {
    const feeds = this.#toFeeds(input);
    // Moving a buffer costs more than copying a small one; only large inputs are transferred.
    const transfer: Transferable[] = Object.values(feeds)
      .filter((t) => t.data.byteLength >= TRANSFER_MIN_BYTES)
      .map((t) => t.data.buffer as ArrayBuffer);
    const { outputs } = await this.#pool.run({ feeds }, transfer);
    const tensors: Record<string, OutputTensor> = {};
    for (const [name, tensor] of Object.entries(outputs)) {
      tensors[name] = {
        data: Array.from(tensor.data as ArrayLike<number | bigint>, Number),
        shape: tensor.dims,
      };
    }
    return { kind: 'tensors', tensors };
  }

  /**
   * Test hook: the worker that takes the next request runs it, then dies without answering.
   * @internal
   */
  crashNextRequestForTesting(): void {
    this.#pool.crashNextRequestForTesting();
  }

  /** Terminates the workers; later `predict` calls reject. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  #toFeeds(input: ModelInput): Record<string, WireTensor> {
    const graphInputs = this.#pool.info.inputs;
    const feeds: Record<string, WireTensor> = {};
    if (input.kind === 'columns') {
      const [only] = graphInputs;
      if (graphInputs.length === 1 && only !== undefined && only.shape?.length === 2) {
        const names = this.#columnOrder(input);
        const data: unknown[] = new Array(input.rowCount * names.length);
        names.forEach((n, c) => {
          const column = input.columns[n] ?? [];
          for (let r = 0; r < input.rowCount; r++) data[r * names.length + c] = column[r];
        });
        feeds[only.name] = toWire(only, { data, shape: [input.rowCount, names.length] });
        return feeds;
      }
      for (const spec of graphInputs) {
        const column = input.columns[spec.name];
        if (column === undefined) throw invalidParameter(`Model is missing input column '${spec.name}'`);
        const shape = spec.shape?.length === 2 ? [input.rowCount, 1] : [input.rowCount];
        feeds[spec.name] = toWire(spec, { data: column, shape });
      }
      return feeds;
    }
    for (const spec of graphInputs) {
      const tensor =
        input.tensors[spec.name] ?? (graphInputs.length === 1 ? input.tensors[UNNAMED_TENSOR] : undefined);
      if (tensor === undefined) throw invalidParameter(`Model is missing input '${spec.name}'`);
      feeds[spec.name] = toWire(spec, tensor);
    }
    return feeds;
  }

  #columnOrder(input: ModelInput & { kind: 'columns' }): string[] {
    const schema = this.signature?.inputs;
    if (schema?.kind === 'columns') {
      const names = schema.columns.map((s, i) => s.name ?? String(i));
      return names.filter((n) => n in input.columns);
    }
    return Object.keys(input.columns);
  }
}

function resolveOptions(dir: string, options: OnnxModelOptions): ResolvedOptions {
  const workers = options.workers ?? Math.min(2, availableParallelism());
  const intraOpNumThreads = options.intraOpNumThreads ?? 1;
  for (const [key, value] of Object.entries({ workers, intraOpNumThreads })) {
    if (!Number.isInteger(value) || value < 1) {
      throw invalidParameter(`${key} must be a positive integer, got ${JSON.stringify(value)}`);
    }
  }
  return Object.freeze({ name: options.name ?? basename(dir), workers, intraOpNumThreads });
}

/** Checks `tensor` against the graph input and packs it into the typed array of its element type. */
function toWire(spec: OnnxValueInfo, tensor: Tensor): WireTensor {
  const { shape } = tensor;
  if (spec.shape !== undefined) {
    const fits = spec.shape.length === shape.length && spec.shape.every((d, i) => d === -1 || d === shape[i]);
    if (!fits) {
      throw invalidParameter(
        `Shape of input '${spec.name}' does not match the model: expected [${spec.shape.join(', ')}], got [${shape.join(', ')}]`,
      );
    }
  }
  const type = spec.type ?? 'float32';
  const values = tensor.data;
  const number = (i: number): number => {
    const v = values[i];
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if ((v === null || v === undefined) && FLOAT_TYPES.has(type)) return Number.NaN;
    throw invalidParameter(
      `Value ${JSON.stringify(v) ?? String(v)} at flat index ${i} of input '${spec.name}' is not a number`,
    );
  };
  const fill = <A extends { [i: number]: number }>(array: A): A => {
    for (let i = 0; i < values.length; i++) array[i] = number(i);
    return array;
  };
  const dims = [...shape];
  switch (type) {
    case 'float32':
      return { type, dims, data: fill(new Float32Array(values.length)) };
    case 'float64':
      return { type, dims, data: fill(new Float64Array(values.length)) };
    case 'int32':
      return { type, dims, data: fill(new Int32Array(values.length)) };
    case 'int8':
      return { type, dims, data: fill(new Int8Array(values.length)) };
    case 'uint8':
    case 'bool':
      return { type, dims, data: fill(new Uint8Array(values.length)) };
    case 'int64': {
      const data = new BigInt64Array(values.length);
      for (let i = 0; i < values.length; i++) data[i] = BigInt(Math.trunc(number(i)));
      return { type, dims, data };
    }
    default:
      throw invalidParameter(
        `Input '${spec.name}' has element type ${type}, which Keel's onnx flavor does not feed`,
      );
  }
}
