/**
 * The code each ONNX worker thread runs, and the messages it exchanges with {@link OnnxModel}.
 *
 * Why a source string run with `new Worker(source, { eval: true })` instead of a worker file: a file
 * would be `.ts` under vitest (which Node 20 cannot load in a worker without a loader such as tsx,
 * not installed here) and `.js` in `dist`. The string is plain CommonJS that works the same from
 * `src` and `dist`; onnxruntime-node is resolved in the main thread and its absolute path passed in
 * `workerData`, so the worker does not depend on its working directory. Keep it small: it only
 * creates a session and runs it; every conversion happens in the main thread.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** ONNX element types the worker moves as typed arrays. */
export type OnnxWireType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';

/** One tensor as it crosses the thread boundary; `data`'s buffer is transferred, not copied. */
export interface WireTensor {
  type: OnnxWireType | string;
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;
  dims: number[];
}

/** One graph input or output as the session reports it. */
export interface OnnxValueInfo {
  name: string;
  /** Element type (`float32`, …), `undefined` for a non-tensor value. */
  type: string | undefined;
  /** Dimensions; a symbolic or unknown dimension is `-1`. `undefined` when the rank is unknown. */
  shape: number[] | undefined;
}

/** What a worker reports once its session is ready. */
export interface OnnxWorkerInfo {
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

/** A request: the feeds by input name. */
export interface OnnxWorkerRequest {
  feeds: Record<string, WireTensor>;
}

/** A result: every output by name. */
export interface OnnxWorkerResult {
  outputs: Record<string, WireTensor>;
}

/** Data each worker starts with. */
export interface OnnxWorkerData {
  ortPath: string;
  modelPath: string;
  intraOpNumThreads: number;
  /** Outputs at least this large are transferred back; smaller ones are copied (cheaper). */
  transferMinBytes: number;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const describe = (meta) => ({
  name: meta.name,
  type: meta.isTensor ? meta.type : undefined,
  shape: meta.isTensor && meta.shape.length > 0 ? meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1)) : undefined,
});
(async () => {
  let session;
  try {
    session = await ort.InferenceSession.create(workerData.modelPath, {
      intraOpNumThreads: workerData.intraOpNumThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
  } catch (error) {
    parentPort.postMessage({ kind: 'failed', message: 'Cannot load ONNX model: ' + (error && error.message || String(error)) });
    process.exit(1);
  }
  const info = {
    inputs: (session.inputMetadata || session.inputNames.map((name) => ({ name }))).map(describe),
    outputs: (session.outputMetadata || session.outputNames.map((name) => ({ name }))).map(describe),
  };
  parentPort.postMessage({ kind: 'ready', info });
  let inflight = Promise.resolve();
  let stopping = false;
  const run = async (message) => {
    try {
      const feeds = {};
      for (const [name, t] of Object.entries(message.request.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const results = await session.run(feeds);
      if (message.crashForTesting) process.exit(1);
      if (stopping) return;
      const outputs = {};
      const transfer = [];
      for (const [name, t] of Object.entries(results)) {
        // Copy out of the session's buffer so it can be transferred.
        const data = t.data.slice();
        outputs[name] = { type: t.type, data, dims: Array.from(t.dims, Number) };
        if (data.buffer && data.byteLength >= workerData.transferMinBytes) transfer.push(data.buffer);
      }
      parentPort.postMessage({ kind: 'result', id: message.id, result: { outputs } }, transfer);
    } catch (error) {
      if (stopping) return;
      parentPort.postMessage({ kind: 'error', id: message.id, message: (error && error.message) || String(error) });
    }
  };
  parentPort.on('message', (message) => {
    if (message.kind === 'stop') {
      // Never exit inside session.run(): tearing down the thread mid-call aborts the process.
      stopping = true;
      inflight
        .then(() => session.release())
        .catch(() => undefined)
        .finally(() => process.exit(message.code));
      return;
    }
    inflight = run(message);
  });
})();
`;

/**
 * Starts one ONNX worker thread for `modelPath`. It posts `{kind: 'ready', info: OnnxWorkerInfo}`
 * once its `InferenceSession` exists (or `{kind: 'failed'}`), then answers each
 * `{kind: 'run', id, request: OnnxWorkerRequest}` with an `OnnxWorkerResult`.
 *
 * @example const worker = createOnnxWorker({ modelPath: '/m/model.onnx', intraOpNumThreads: 1, transferMinBytes: 65536 });
 */
export function createOnnxWorker(options: Omit<OnnxWorkerData, 'ortPath'>): Worker {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const workerData: OnnxWorkerData = { ...options, ortPath };
  return new Worker(WORKER_SOURCE, { eval: true, workerData });
}
