/**
 * The code each workflow worker process runs, and the messages it exchanges with
 * {@link TaskWorker} over the IPC channel (`serialization: 'advanced'`, so outputs are structured
 * clones and a non-cloneable output fails the attempt instead of vanishing).
 *
 * Why a source string run with `node --input-type=module -e` instead of a worker file: a file would
 * be `.ts` under vitest (which Node 20 cannot run without a loader such as tsx, not installed here)
 * and `.js` in `dist`; the string is plain ESM that works the same from `src` and `dist` (see
 * `models/onnx/onnx-worker.ts`). Keep it small: it imports bundles, calls task functions, spawns
 * command programs; every conversion of values happens in the server process.
 *
 * Packages a bundle leaves out (`WORKFLOW_EXTERNAL_PACKAGES`: `onnxruntime-node`…) cannot be
 * found from the bundle's folder in the executor's cache. Before importing a bundle that imports
 * a package by name (statically or with a literal `import('…')`), the worker registers
 * {@link RESOLVE_HOOKS_SOURCE} (`module.register`, Node >= 20.6): a bare specifier that does not
 * resolve is resolved from Keel's installation, then from the server's working directory. Only
 * then, and not at startup: starting the hooks' thread costs about 50 ms, paid once per worker by
 * its first attempt of such a bundle instead of by every worker start.
 *
 * Output capture: the worker runs one attempt at a time and writes a marker
 * (`\x1ekeel-attempt-begin:<seq>\x1e`, `…-end:…`) to both stdout and stderr before and after it;
 * the server attributes exactly the text between the markers to the attempt, and an attempt is
 * over only when its result and both end markers have arrived.
 */
import type { JsonValue } from '@keel/core';
import type { RunCall } from './executor.js';

/** Fields every attempt request carries; they become the task's `ctx`. */
interface RequestBase {
  type: 'run';
  /** Sequence number of the request on this worker (markers and results name it). */
  seq: number;
  attempt: number;
  executionId: string;
  nodeId: string;
  /** The attempt's folder (also the cwd of a function task). */
  workDir: string;
  /** Where `ctx.outputPath(name)` points (`<workDir>/outputs`). */
  outputsDir: string;
  runId?: string;
}

/** Runs a function task: imports `bundle` (once per worker) and calls the task's `fn` with `workDir` as cwd. */
export interface FunctionRequest extends RequestBase {
  kind: 'function';
  /** Absolute path of the code package's `bundle.mjs`. */
  bundle: string;
  task: string;
  /** Inputs with files already replaced by local paths. */
  inputs: Record<string, JsonValue>;
  /** Environment variables set in the worker while the attempt runs (restored after it). */
  env?: Record<string, string>;
}

/** Runs a command task's program, its argv and env already rendered. */
export interface CommandRequest extends RequestBase {
  kind: 'command';
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

/** What the server sends to a worker. */
export type ServerMessage =
  | FunctionRequest
  | CommandRequest
  | { type: 'cancel'; seq: number }
  | { type: 'ack'; id: number; error?: string };

/** An error as the worker describes it. `retryable`: a `RetryableError` or `error.retryable === true`. */
export interface WorkerError {
  name: string;
  message: string;
  stack?: string;
  retryable: boolean;
}

/** How an attempt ended in the worker (a command's outputs are read back by the server: `null`). */
export type WorkerReply = { ok: true; outputs: unknown } | { ok: false; error: WorkerError };

/** What a worker sends to the server. */
export type WorkerMessage =
  | { type: 'ready' }
  /** `exiting`: the worker exits right after this result (an uncaught error); do not reuse it. */
  | ({ type: 'result'; seq: number; exiting?: boolean } & WorkerReply)
  | { type: 'call'; seq: number; id: number; call: RunCall };

/** Separator around attempt markers (ASCII record separator). */
export const MARK = '\u001e';

/** The marker the worker writes to stdout and stderr when attempt `seq` begins or ends. */
export function attemptMarker(kind: 'begin' | 'end', seq: number): string {
  return `${MARK}keel-attempt-${kind}:${seq}${MARK}`;
}

/**
 * The module resolve hook of workers (a `data:` URL module run by `module.register`): a bare
 * specifier that does not resolve from the importing module is resolved as if imported from each
 * of `data.parents` in turn (file URLs), else fails as it would have.
 */
export const RESOLVE_HOOKS_SOURCE = String.raw`
const BARE = /^(?![./#]|[a-zA-Z][a-zA-Z\d+.-]*:)/;
let parents = [];
export function initialize(data) {
  parents = data.parents;
}
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !BARE.test(specifier)) throw error;
    for (const parentURL of parents) {
      try {
        return await nextResolve(specifier, { ...context, parentURL });
      } catch {
        // Not there either: the next parent, else the original error.
      }
    }
    throw error;
  }
}
`;

/** The worker program's body (ESM), written without template literals so it can live in `String.raw`. */
const WORKER_BODY = String.raw`
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isBuiltin, register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const MARK = '\u001e';
const STDERR_TAIL_LINES = 20;
const HOME = process.cwd();
// Where a package a bundle imports by name is looked for when its own folder has none.
const RESOLVE_FROM = [process.argv[1], pathToFileURL(join(HOME, 'package.json')).href].filter(Boolean);
const BARE = /^(?![./#]|[a-zA-Z][a-zA-Z\d+.-]*:)/;
const IMPORTED = /(?:\bfrom|\bimport)\s*\(?\s*["']([^"'\s]+)["']/g;
const bundles = new Map();
let hooksRegistered = typeof register !== 'function';
const calls = new Map();
let nextCall = 0;
let current;

function mark(kind, seq) {
  const marker = MARK + 'keel-attempt-' + kind + ':' + seq + MARK;
  process.stdout.write(marker);
  process.stderr.write(marker);
}

function describe(error) {
  if (error !== null && typeof error === 'object' && 'message' in error) {
    const name = typeof error.name === 'string' ? error.name : 'Error';
    return {
      name,
      message: String(error.message),
      stack: typeof error.stack === 'string' ? error.stack : undefined,
      retryable: name === 'RetryableError' || error.retryable === true,
    };
  }
  return { name: 'Error', message: String(error), retryable: false };
}

function findTasks(module) {
  const tasks = new Map();
  const seen = new Set();
  const visit = (value) => {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return;
    seen.add(value);
    if (value.kind === 'keel.task' && typeof value.name === 'string' && !tasks.has(value.name)) {
      tasks.set(value.name, value);
    }
    if (Array.isArray(value.tasks)) for (const task of value.tasks) visit(task);
  };
  for (const value of Object.values(module)) visit(value);
  return tasks;
}

// Registers the resolve hook when the bundle imports a package by name (see RESOLVE_HOOKS_SOURCE).
async function prepareResolution(bundle) {
  if (hooksRegistered) return;
  const source = await readFile(bundle, 'utf8');
  for (const match of source.matchAll(IMPORTED)) {
    const specifier = match[1];
    if (BARE.test(specifier) && !isBuiltin(specifier)) {
      hooksRegistered = true;
      const url = 'data:text/javascript,' + encodeURIComponent(RESOLVE_HOOKS_SOURCE);
      register(url, { data: { parents: RESOLVE_FROM } });
      return;
    }
  }
}

function loadTasks(bundle) {
  let tasks = bundles.get(bundle);
  if (tasks === undefined) {
    tasks = prepareResolution(bundle)
      .then(() => import(pathToFileURL(bundle).href))
      .then(findTasks);
    bundles.set(bundle, tasks);
  }
  return tasks;
}

function logLine(stream, level, message, fields) {
  let line = '[' + level + '] ' + String(message);
  if (fields !== undefined) {
    try {
      line += ' ' + JSON.stringify(fields);
    } catch {
      line += ' ' + String(fields);
    }
  }
  stream.write(line + '\n');
}

function track(seq, call) {
  return new Promise((resolve, reject) => {
    const id = nextCall++;
    calls.set(id, { resolve, reject });
    process.send({ type: 'call', seq, id, call });
  });
}

function context(request, signal) {
  const seq = request.seq;
  return {
    attempt: request.attempt,
    executionId: request.executionId,
    nodeId: request.nodeId,
    workDir: request.workDir,
    signal,
    log: {
      info: (message, fields) => logLine(process.stdout, 'info', message, fields),
      warn: (message, fields) => logLine(process.stderr, 'warn', message, fields),
      error: (message, fields) => logLine(process.stderr, 'error', message, fields),
    },
    outputPath(name) {
      if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[\\/]/.test(name)) {
        throw new Error('ctx.outputPath: ' + JSON.stringify(name) + ' is not a plain file name');
      }
      return join(request.outputsDir, name);
    },
    run: {
      id: request.runId,
      logParam: (key, value) => track(seq, { kind: 'param', key: String(key), value: String(value) }),
      // The SDK's signature, logMetric(key, value, { step, timestamp }); a bare step number is accepted too.
      logMetric: (key, value, options) => {
        const { step, timestamp } = typeof options === 'object' && options !== null ? options : { step: options };
        return track(seq, {
          kind: 'metric',
          key: String(key),
          value: Number(value),
          step: step === undefined ? 0 : Number(step),
          timestamp: timestamp === undefined ? Date.now() : Number(timestamp),
        });
      },
      setTag: (key, value) => track(seq, { kind: 'tag', key: String(key), value: String(value) }),
    },
  };
}

async function runFunction(request, signal) {
  const tasks = await loadTasks(request.bundle);
  process.chdir(request.workDir);
  const task = tasks.get(request.task);
  if (task === undefined || typeof task.fn !== 'function') {
    throw new Error(
      "Task '" + request.task + "' is not in the code package: no export (or .tasks entry of one) " +
        "has kind 'keel.task', that name and a function fn",
    );
  }
  return await task.fn(request.inputs, context(request, signal));
}

const COMMAND_RETRY_EXIT_CODE = 75;

function runCommand(request, state) {
  return new Promise((resolve, reject) => {
    const [program, ...args] = request.argv;
    const child = spawn(program, args, { cwd: request.cwd, env: request.env, stdio: ['ignore', 'inherit', 'pipe'] });
    state.child = child;
    const tail = [];
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      process.stderr.write(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      tail.push(...lines);
      tail.splice(0, Math.max(0, tail.length - STDERR_TAIL_LINES));
    });
    child.on('error', (error) => reject(new Error("Cannot run '" + program + "': " + error.message)));
    child.on('close', (code, signal) => {
      state.child = undefined;
      if (code === 0) return resolve(null);
      if (partial !== '') tail.push(partial);
      const how = code === null ? 'was killed by ' + signal : 'exited with code ' + code;
      const last = tail.slice(-STDERR_TAIL_LINES);
      const error = new Error('Command ' + how + (last.length > 0 ? '; last stderr lines:\n' + last.join('\n') : ''));
      // Exit code 75 (EX_TEMPFAIL) asks for a retry, as the SDK's COMMAND_RETRY_EXIT_CODE says.
      error.retryable = code === COMMAND_RETRY_EXIT_CODE;
      reject(error);
    });
  });
}

function send(reply, then) {
  try {
    process.send(reply, then);
  } catch (error) {
    const message = 'Task outputs cannot be sent to the server: ' + (error && error.message);
    process.send({ type: 'result', seq: reply.seq, ok: false, error: { name: 'Error', message, retryable: false } }, then);
  }
}

function finish(state, reply, then) {
  if (state.done) return;
  state.done = true;
  if (current === state) current = undefined;
  state.restoreEnv();
  mark('end', state.seq);
  try {
    process.chdir(HOME);
  } catch {
    // The starting folder is gone; the next attempt changes into its own anyway.
  }
  send(reply, then);
}

// A function task's attempt environment (the server's tracking URI…), undone when the attempt ends.
function setEnv(env) {
  if (env === undefined) return () => undefined;
  const before = Object.keys(env).map((name) => [name, process.env[name]]);
  Object.assign(process.env, env);
  return () => {
    for (const [name, value] of before) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

async function runAttempt(request) {
  const state = { seq: request.seq, controller: new AbortController(), child: undefined, done: false };
  state.restoreEnv = setEnv(request.env);
  current = state;
  mark('begin', request.seq);
  let reply;
  try {
    const outputs =
      request.kind === 'command' ? await runCommand(request, state) : await runFunction(request, state.controller.signal);
    reply = { type: 'result', seq: request.seq, ok: true, outputs: outputs === undefined ? null : outputs };
  } catch (error) {
    reply = { type: 'result', seq: request.seq, ok: false, error: describe(error) };
  }
  finish(state, reply);
}

function cancel(seq) {
  if (current === undefined || current.seq !== seq) return;
  current.controller.abort(new Error('cancelled'));
  if (current.child !== undefined) current.child.kill('SIGTERM');
}

// An error nobody caught leaves the worker in an unknown state: fail the attempt it happened in
// (it is most likely the culprit), then exit so the server starts a fresh worker.
function crash(error) {
  const exit = () => process.exit(70);
  if (current === undefined) return exit();
  finish(current, { type: 'result', seq: current.seq, ok: false, error: describe(error), exiting: true }, exit);
}

process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
// The server is gone: take this worker's process group (programs of command tasks) with it.
process.on('disconnect', () => {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.exit(1);
  }
});
process.on('message', (message) => {
  if (message.type === 'run') void runAttempt(message);
  else if (message.type === 'cancel') cancel(message.seq);
  else if (message.type === 'ack') {
    const call = calls.get(message.id);
    if (call === undefined) return;
    calls.delete(message.id);
    if (message.error === undefined) call.resolve();
    else call.reject(new Error(message.error));
  }
});
process.send({ type: 'ready' });
`;

/**
 * The worker program (ESM): {@link RESOLVE_HOOKS_SOURCE} as a string, then the body. Its first
 * argument (`process.argv[1]`) is a file URL inside Keel's installation, where packages a bundle
 * leaves out are looked for.
 */
export const WORKER_SOURCE = `const RESOLVE_HOOKS_SOURCE = ${JSON.stringify(RESOLVE_HOOKS_SOURCE)};\n${WORKER_BODY}`;
