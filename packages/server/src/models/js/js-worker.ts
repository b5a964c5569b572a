/**
 * The code each `js` flavor worker thread runs, and the messages it exchanges with {@link JsModel}.
 *
 * Like the ONNX worker, the worker is a plain CommonJS source string run with `eval: true`, so it
 * works the same from `src` (under vitest) and `dist`. It imports the model's bundled ES module by
 * `file:` URL, calls its `load(context)` once, then runs `predict(input, params, state)` for each
 * request. Results go back as they are (structured clone); normalization happens in the main thread.
 */
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { MLmodel, ModelInput } from '@keel/core';

/** A request: the input and the request's `params`. */
export interface JsWorkerRequest {
  input: ModelInput;
  params: Record<string, unknown> | undefined;
}

/** A result: whatever the module's `predict` returned (normalized by the main thread). */
export interface JsWorkerResult {
  output: unknown;
}

/** What a worker reports once `load()` has returned: the module's export names. */
export interface JsWorkerInfo {
  exports: string[];
}

/** Data each worker starts with. */
export interface JsWorkerData {
  /** `file:` URL of the entry module. */
  entryUrl: string;
  /** The entry as `MLmodel` names it, for messages. */
  entry: string;
  modelDir: string;
  dataDir: string | undefined;
  mlmodel: MLmodel;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const describeError = (error) => (error && error.message) || String(error);
(async () => {
  let api;
  let state;
  let exportNames;
  try {
    const mod = await import(workerData.entryUrl);
    exportNames = Object.keys(mod);
    // esbuild turns a CommonJS module into an ES module with one default export.
    api = typeof mod.predict === 'function' ? mod
      : mod.default && typeof mod.default.predict === 'function' ? mod.default
      : undefined;
    if (api === undefined) {
      throw new Error(workerData.entry + ' exports no predict(input, params, state) function (exports: [' + exportNames.join(', ') + '])');
    }
    if (typeof api.load === 'function') {
      state = await api.load({ modelDir: workerData.modelDir, dataDir: workerData.dataDir, mlmodel: workerData.mlmodel });
    }
  } catch (error) {
    parentPort.postMessage({ kind: 'failed', message: 'Cannot load JS model: ' + describeError(error) });
    process.exit(1);
  }
  parentPort.postMessage({ kind: 'ready', info: { exports: exportNames } });
  let inflight = Promise.resolve();
  let stopping = false;
  const run = async (message) => {
    let output;
    try {
      output = await api.predict(message.request.input, message.request.params, state);
    } catch (error) {
      if (message.crashForTesting) process.exit(1);
      if (stopping) return;
      parentPort.postMessage({ kind: 'error', id: message.id, code: 'BAD_REQUEST', message: 'Model predict failed: ' + describeError(error) });
      return;
    }
    if (message.crashForTesting) process.exit(1);
    if (stopping) return;
    try {
      parentPort.postMessage({ kind: 'result', id: message.id, result: { output } });
    } catch (error) {
      parentPort.postMessage({ kind: 'error', id: message.id, message: 'JS model predict returned a value that cannot be sent from its worker (' + describeError(error) + ')' });
    }
  };
  parentPort.on('message', (message) => {
    if (message.kind === 'stop') {
      stopping = true;
      inflight.finally(() => process.exit(message.code));
      return;
    }
    inflight = run(message);
  });
})();
`;

/**
 * Starts one worker thread for a `js` model. It posts `{kind: 'ready', info: JsWorkerInfo}` once the
 * module's `load()` has returned (or `{kind: 'failed'}`), then answers each
 * `{kind: 'run', id, request: JsWorkerRequest}` with a `JsWorkerResult`, or with an error coded
 * `BAD_REQUEST` when `predict` threw.
 *
 * @example
 * const worker = createJsWorker({ entryPath: '/m/code/model.mjs', entry: 'code/model.mjs', modelDir: '/m', dataDir: undefined, mlmodel });
 */
export function createJsWorker(
  options: Omit<JsWorkerData, 'entryUrl'> & {
    /** Absolute path of the entry module. */
    entryPath: string;
  },
): Worker {
  const { entryPath, ...rest } = options;
  const workerData: JsWorkerData = { ...rest, entryUrl: pathToFileURL(entryPath).href };
  return new Worker(WORKER_SOURCE, { eval: true, workerData });
}
