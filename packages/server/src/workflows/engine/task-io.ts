/**
 * A task's values on their way in and out of an attempt: artifact inputs become local paths,
 * returned outputs are checked against the task's declared types and local paths become uploaded
 * artifact values; command tasks get their argv rendered and their output files read back.
 */
import { cp, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  type ArtifactValue,
  checkValue,
  formatType,
  isArtifactValue,
  type JsonValue,
  KeelError,
  type TaskSpec,
  type TypeSpec,
} from '@keel/core';

/** A failure that is the task's fault (bad outputs, a bad command line): `user`, not retryable. */
export class TaskUserError extends Error {
  override readonly name = 'TaskUserError';
}

/** Gets a local copy of an artifact value's content (e.g. {@link ArtifactCache.fetch}). */
export type FetchArtifact = (value: ArtifactValue) => Promise<string>;
/** Uploads a local file or directory and returns its value (e.g. {@link uploadPath}). */
export type UploadPath = (localPath: string) => Promise<ArtifactValue>;

/**
 * `inputs` with every ArtifactValue replaced by the path of a private copy below `dir`
 * (`<dir>/<input>`, `<dir>/<input>/<index>` inside arrays, `<dir>/<input>/<field>` inside
 * records), so a task may modify its inputs without touching the cache. Values declared `json`
 * are passed as they are.
 *
 * @example
 * await materialiseInputs({ data: { type: 'dataset' } }, { data: { $artifact: '…', sha256: 'ab…', kind: 'file' } }, '/w/inputs', fetch);
 * // { data: '/w/inputs/data' }
 */
export async function materialiseInputs(
  types: Record<string, TypeSpec>,
  inputs: Record<string, JsonValue>,
  dir: string,
  fetch: FetchArtifact,
): Promise<Record<string, JsonValue>> {
  const local: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(inputs)) {
    local[name] = await materialise(types[name], value, join(dir, name), fetch);
  }
  return local;
}

async function materialise(
  type: TypeSpec | undefined,
  value: JsonValue,
  dest: string,
  fetch: FetchArtifact,
): Promise<JsonValue> {
  const declared = type?.type === 'optional' ? type.of : type;
  if (declared?.type === 'json') return value;
  if (isArtifactValue(value)) {
    const cached = await fetch(value);
    await mkdir(dirname(dest), { recursive: true });
    await cp(cached, dest, { recursive: true });
    return dest;
  }
  if (Array.isArray(value)) {
    const items = declared?.type === 'array' ? declared.items : undefined;
    const out: JsonValue[] = [];
    for (const [i, item] of value.entries())
      out.push(await materialise(items, item, join(dest, String(i)), fetch));
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const fields = declared?.type === 'record' ? declared.fields : {};
    const out: Record<string, JsonValue> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = await materialise(fields[key], item, join(dest, key), fetch);
    }
    return out;
  }
  return value;
}

/**
 * Checks what a task returned against its declared outputs and converts it to stored values:
 * file, dataset and directory outputs are local paths (relative ones resolved against `workDir`)
 * that are uploaded; the result must then pass core's `checkValue` for the declared type.
 * Undeclared outputs are dropped; a missing optional output is null.
 * @throws TaskUserError naming the output when one is missing or has the wrong type.
 */
export async function collectOutputs(
  task: TaskSpec,
  returned: unknown,
  workDir: string,
  upload: UploadPath,
): Promise<Record<string, JsonValue>> {
  const declared = Object.entries(task.interface.outputs);
  if (declared.length === 0) return {};
  if (!isPlainObject(returned)) {
    const names = declared.map(([name]) => name).join(', ');
    throw new TaskUserError(
      `Task '${task.name}' must return an object with its outputs (${names}), got ${describe(returned)}`,
    );
  }
  const outputs: Record<string, JsonValue> = {};
  for (const [name, type] of declared) {
    const path = `outputs.${name}`;
    const value = returned[name] ?? null;
    if (value === null && type.type !== 'optional') {
      throw new TaskUserError(`Task '${task.name}': ${path} is missing (${formatType(type)})`);
    }
    const stored = await uploadFiles(type, value, path, { task, workDir, upload });
    try {
      checkValue(type, stored, path);
    } catch (error) {
      if (!(error instanceof KeelError)) throw error;
      throw new TaskUserError(`Task '${task.name}': ${error.message}`);
    }
    outputs[name] = stored as JsonValue;
  }
  return outputs;
}

interface UploadContext {
  task: TaskSpec;
  workDir: string;
  upload: UploadPath;
}

/** `value` with the local path at every file-typed place replaced by its uploaded ArtifactValue. */
async function uploadFiles(
  type: TypeSpec,
  value: unknown,
  path: string,
  ctx: UploadContext,
): Promise<unknown> {
  switch (type.type) {
    case 'optional':
      return value === null || value === undefined ? null : uploadFiles(type.of, value, path, ctx);
    case 'file':
    case 'dataset':
    case 'directory':
      return ctx.upload(await existingPath(type.type, value, path, ctx));
    case 'array': {
      if (!Array.isArray(value)) return value;
      const items: unknown[] = [];
      for (const [i, item] of value.entries())
        items.push(await uploadFiles(type.items, item, `${path}[${i}]`, ctx));
      return items;
    }
    case 'record': {
      if (!isPlainObject(value)) return value;
      const record: Record<string, unknown> = { ...value };
      for (const [key, field] of Object.entries(type.fields)) {
        if (record[key] !== undefined)
          record[key] = await uploadFiles(field, record[key], `${path}.${key}`, ctx);
      }
      return record;
    }
    default:
      return value;
  }
}

async function existingPath(
  kind: 'file' | 'dataset' | 'directory',
  value: unknown,
  path: string,
  ctx: UploadContext,
): Promise<string> {
  const wanted = kind === 'directory' ? 'a directory path' : 'a file path';
  const label = `Task '${ctx.task.name}': ${path}`;
  if (typeof value !== 'string' || value === '') {
    throw new TaskUserError(`${label} must be ${wanted} (${kind}), got ${describe(value)}`);
  }
  const local = resolve(ctx.workDir, value);
  const info = await stat(local).catch(() => undefined);
  if (info === undefined) throw new TaskUserError(`${label}: nothing exists at '${local}'`);
  if (kind === 'directory' ? !info.isDirectory() : !info.isFile()) {
    throw new TaskUserError(`${label} must be ${wanted} (${kind}); '${local}' is not one`);
  }
  return local;
}

/** The file each output of a command task is written to: `<outputsDir>/<name>`. */
export function commandOutputPaths(task: TaskSpec, outputsDir: string): Record<string, string> {
  return Object.fromEntries(
    Object.keys(task.interface.outputs).map((name) => [name, join(outputsDir, name)]),
  );
}

/** Creates the folders of directory outputs, so programs can write into `{{outputs.dir}}/…` at once. */
export async function createDirectoryOutputs(task: TaskSpec, paths: Record<string, string>): Promise<void> {
  for (const [name, type] of Object.entries(task.interface.outputs)) {
    const path = paths[name];
    if (path !== undefined && unwrapOptional(type).type === 'directory')
      await mkdir(path, { recursive: true });
  }
}

const PLACEHOLDER = /\{\{\s*(?:(inputs|outputs)\.([A-Za-z_][A-Za-z0-9_]*)|(files))\s*\}\}/g;

/**
 * A command task's argv and env with `{{inputs.x}}` replaced by the input (a string as is, a
 * file as its local path, null as empty, anything else as JSON), `{{outputs.y}}` by the path
 * the program must write output `y` to, and `{{files}}` by `filesDir`, the folder holding the
 * files the command ships.
 * @throws TaskUserError naming the argument for a placeholder of an undeclared input or output.
 *
 * @example
 * renderCommand(task, { data: '/w/inputs/data' }, { model: '/w/outputs/model' }, '/w/files');
 * // argv ['python3', '{{files}}/fit.py', …] → { argv: ['python3', '/w/files/fit.py', '/w/inputs/data', '/w/outputs/model'], env: {} }
 */
export function renderCommand(
  task: TaskSpec,
  inputs: Record<string, JsonValue>,
  outputPaths: Record<string, string>,
  filesDir: string,
): { argv: string[]; env: Record<string, string> } {
  const command = task.command;
  if (command === undefined || command.argv.length === 0) {
    throw new TaskUserError(`Task '${task.name}' is a command task without a command`);
  }
  const render = (text: string, where: string): string =>
    text.replace(PLACEHOLDER, (placeholder, scope: string | undefined, name: string, files?: string) => {
      if (files !== undefined) return filesDir;
      if (scope === 'outputs') {
        const path = outputPaths[name];
        if (path === undefined) throw unknownPlaceholder(task, where, placeholder);
        return path;
      }
      if (!(name in task.interface.inputs)) throw unknownPlaceholder(task, where, placeholder);
      return argText(inputs[name]);
    });
  return {
    argv: command.argv.map((arg, i) => render(arg, `command.argv[${i}]`)),
    env: Object.fromEntries(
      Object.entries(command.env ?? {}).map(([key, value]) => [key, render(value, `command.env.${key}`)]),
    ),
  };
}

/**
 * Reads a finished command's outputs back from their paths: file, dataset and directory outputs
 * are the paths themselves; any other output is the text the program wrote into its path — a
 * number for int/float (`0.93`, surrounding whitespace ignored), `true`/`false` for boolean, the
 * text for string (one trailing newline dropped), a URI for model, JSON for json/array/record.
 * An optional output whose file was not written is null. The result goes through
 * {@link collectOutputs} like a function task's.
 * @throws TaskUserError naming the output when its file is missing or cannot be parsed.
 */
export async function readCommandOutputs(
  task: TaskSpec,
  paths: Record<string, string>,
): Promise<Record<string, unknown>> {
  const outputs: Record<string, unknown> = {};
  for (const [name, declared] of Object.entries(task.interface.outputs)) {
    const path = paths[name] as string;
    const type = unwrapOptional(declared);
    if (type.type === 'file' || type.type === 'dataset' || type.type === 'directory') {
      const written = await stat(path).then(
        () => true,
        () => false,
      );
      outputs[name] = written || declared.type !== 'optional' ? path : null;
      continue;
    }
    const text = await readFile(path, 'utf8').catch(() => undefined);
    const label = `Task '${task.name}': outputs.${name}`;
    if (text === undefined) {
      if (declared.type === 'optional') outputs[name] = null;
      else throw new TaskUserError(`${label}: the command did not write {{outputs.${name}}}`);
      continue;
    }
    outputs[name] = parseOutputText(type, text, label);
  }
  return outputs;
}

function parseOutputText(type: TypeSpec, text: string, label: string): unknown {
  const trimmed = text.trim();
  switch (type.type) {
    case 'int':
    case 'float': {
      const number = trimmed === '' ? Number.NaN : Number(trimmed);
      if (Number.isNaN(number))
        throw new TaskUserError(`${label}: expected a number in its file, got ${describe(text)}`);
      return number;
    }
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (lower === 'true' || lower === 'false') return lower === 'true';
      throw new TaskUserError(`${label}: expected true or false in its file, got ${describe(text)}`);
    }
    case 'string':
      return text.replace(/\r?\n$/, '');
    case 'model':
      return trimmed;
    default:
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw new TaskUserError(`${label}: its file is not valid JSON (${(error as Error).message})`);
      }
  }
}

function unwrapOptional(type: TypeSpec): TypeSpec {
  return type.type === 'optional' ? unwrapOptional(type.of) : type;
}

function argText(value: JsonValue | undefined): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function unknownPlaceholder(task: TaskSpec, where: string, placeholder: string): TaskUserError {
  return new TaskUserError(
    `Task '${task.name}' ${where}: ${placeholder} names no declared ${placeholder.includes('outputs.') ? 'output' : 'input'}`,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A short description of a value for messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
