import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import type { ActiveRun } from '../active-run.js';

/** A task's structured log; lines land in the attempt's log (`keel workflows logs`). */
export interface TaskLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The tracking run of the node's attempt: parameters, metrics and tags logged from a task. */
export interface TaskRunContext extends Pick<ActiveRun, 'logParam' | 'logMetric' | 'setTag'> {
  /** The run's id. */
  readonly id: string;
}

/**
 * What a task function receives besides its inputs. The workflow engine provides it for each
 * attempt; `task.run()` builds a local one (see {@link Task.run}).
 *
 * @example
 * task({ name: 'fit', inputs: { alpha: t.float() }, outputs: { model: t.file() } }, async ({ alpha }, ctx) => {
 *   ctx.log.info('fitting', { alpha, attempt: ctx.attempt });
 *   ctx.run.logMetric('alpha', alpha);
 *   const model = ctx.outputPath('model.onnx');
 *   await train(alpha, model, { signal: ctx.signal });
 *   return { model };
 * });
 */
export interface TaskContext {
  readonly log: TaskLogger;
  /** 1 for the first attempt, 2 for the first retry… */
  readonly attempt: number;
  readonly executionId: string;
  /** The node's id in the execution, e.g. `fit`, `fit-map[3]`, `branch.then.register`. */
  readonly nodeId: string;
  /** A folder of this attempt's own, the command's current directory; removed after the attempt. */
  readonly workDir: string;
  /**
   * A path inside the attempt's work folder for an output file or folder: returning it as a
   * `file`/`directory`/`dataset` output uploads it to the artifact store.
   */
  outputPath(name: string): string;
  /** Aborted when the attempt is cancelled or times out; pass it on to long operations. */
  readonly signal: AbortSignal;
  readonly run: TaskRunContext;
  /**
   * The folder holding the code package's shipped files (`command({ files })`), what
   * `{{files}}` stands for in a command's argv.
   */
  readonly filesDir: string;
}

/**
 * The context of a local `task.run()`: `overrides` where given; otherwise attempt 1, execution
 * `local`, a fresh temporary work folder (kept, so returned output paths stay readable), console
 * logging, a run whose logging calls do nothing, a signal that never aborts and the current
 * directory as `filesDir`.
 */
export async function localTaskContext(
  nodeId: string,
  overrides: Partial<TaskContext> = {},
): Promise<TaskContext> {
  const workDir = overrides.workDir ?? (await mkdtemp(join(tmpdir(), 'keel-task-')));
  await mkdir(workDir, { recursive: true });
  return {
    log: overrides.log ?? consoleLogger(nodeId),
    attempt: overrides.attempt ?? 1,
    executionId: overrides.executionId ?? 'local',
    nodeId: overrides.nodeId ?? nodeId,
    workDir,
    outputPath: overrides.outputPath ?? ((name) => outputPathIn(workDir, name)),
    signal: overrides.signal ?? new AbortController().signal,
    run: overrides.run ?? untrackedRun,
    filesDir: overrides.filesDir ?? process.cwd(),
  };
}

/**
 * `<workDir>/<name>`, refusing names that would leave the folder.
 * @example outputPathIn('/tmp/attempt', 'model.onnx'); // '/tmp/attempt/model.onnx'
 */
export function outputPathIn(workDir: string, name: string): string {
  const root = resolve(workDir);
  const path = resolve(root, name);
  if (name === '' || !path.startsWith(`${root}${sep}`)) {
    throw new RangeError(`Invalid output name '${name}': it must be a relative path inside the work folder`);
  }
  return path;
}

const untrackedRun: TaskRunContext = {
  id: '',
  logParam: async () => undefined,
  logMetric: () => undefined,
  setTag: async () => undefined,
};

function consoleLogger(nodeId: string): TaskLogger {
  const line = (message: string, fields: Record<string, unknown> | undefined) =>
    fields === undefined ? `[${nodeId}] ${message}` : `[${nodeId}] ${message} ${JSON.stringify(fields)}`;
  return {
    info: (message, fields) => console.log(line(message, fields)),
    warn: (message, fields) => console.warn(line(message, fields)),
    error: (message, fields) => console.error(line(message, fields)),
  };
}
