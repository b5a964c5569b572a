import { spawn } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import type { TypeSpec } from '@keel/core';
import { invalidOption } from '../models/sdk-error.js';
import { RetryableError } from './retryable-error.js';
import { defineTask, makeTask, type Task, type TaskFunction, type TaskOptions } from './task.js';
import type { TaskContext } from './task-context.js';
import type { Fields } from './type-builders.js';
import { isPlainObject } from './type-rules.js';

/** The types a command's outputs may have: what a program writes to a path. */
export type CommandOutputType = { type: 'file' } | { type: 'directory' } | { type: 'dataset' };

/**
 * Exit code by which a command asks for a retry (`EX_TEMPFAIL` of sysexits.h): the attempt fails
 * as with a thrown `RetryableError`.
 */
export const COMMAND_RETRY_EXIT_CODE = 75;

/** Options of {@link command}. */
export interface CommandOptions<I extends Fields, O extends Record<string, CommandOutputType>>
  extends TaskOptions<I, O> {
  /**
   * The program and its arguments. In any argument, `{{inputs.x}}` stands for input `x` (a local
   * path for a file, folder or dataset; JSON for arrays, records and json; `''` for null),
   * `{{outputs.y}}` for the path the program must write output `y` to (every output must appear),
   * and `{{files}}` for the folder holding the shipped `files`. The program runs in the attempt's
   * work folder.
   */
  argv: readonly string[];
  /** Environment variables added to the worker's. @default none */
  env?: Readonly<Record<string, string>>;
  /**
   * Files or folders shipped in the code package, relative to the folder of the module being
   * registered (`keel workflows register flows/train.ts` → relative to `flows/`); under
   * `{{files}}` at run time, with the same relative paths. @default none
   */
  files?: readonly string[];
}

const COMMAND_OPTIONS = [
  'name',
  'inputs',
  'outputs',
  'cache',
  'retries',
  'timeoutMs',
  'description',
  'argv',
  'env',
  'files',
];
const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Defines a command task: any program (Python, R, a shell script…) run with its inputs as
 * arguments and writing its outputs (files, folders, datasets) to paths it is given. Exit code 0
 * succeeds; {@link COMMAND_RETRY_EXIT_CODE} (75) asks for a retry; anything else fails the node.
 * Its code hash covers `argv`, `env` and the shipped files' contents.
 *
 * @throws InvalidParameterError for an unknown placeholder, an output missing from `argv`, a
 *   non-file output, a shipped path outside the module's folder, or a bad task option.
 * @example
 * export const train = command({
 *   name: 'train-r',
 *   inputs: { data: t.dataset(), alpha: t.float() },
 *   outputs: { model: t.file() },
 *   argv: ['Rscript', '{{files}}/train.R', '{{inputs.data}}', '{{inputs.alpha}}', '{{outputs.model}}'],
 *   files: ['train.R'],
 * });
 */
export function command<
  I extends Fields = Record<never, never>,
  O extends Record<string, CommandOutputType> = Record<never, never>,
>(options: CommandOptions<I, O>): Task<I, O> {
  const settings = isPlainObject(options) ? options : ({} as CommandOptions<I, O>);
  const where = `command task '${String(settings.name)}'`;
  const argv = checkArgv(settings.argv, where);
  const env = checkEnv(settings.env, where);
  const files = checkFiles(settings.files, where);
  const definition = defineTask(options, 'command', COMMAND_OPTIONS, {
    argv,
    ...(env === undefined ? {} : { env }),
  });
  const { inputs, outputs } = definition.interface;
  for (const [name, spec] of Object.entries(outputs)) {
    if (!['file', 'directory', 'dataset'].includes(spec.type)) {
      throw invalidOption(`${where}, output '${name}': a command's outputs are files, folders or datasets`);
    }
  }
  const written = new Set([
    ...outputPlaceholders(argv, inputs, outputs, (index) => `${where}, argv[${index}]`),
    ...outputPlaceholders(
      Object.values(env ?? {}),
      inputs,
      outputs,
      (index) => `${where}, env.${Object.keys(env ?? {})[index]}`,
    ),
  ]);
  const missing = Object.keys(outputs).find((name) => !written.has(name));
  if (missing !== undefined) {
    throw invalidOption(
      `${where}: output '${missing}' is not passed to the program: add {{outputs.${missing}}} to argv`,
    );
  }
  const fn = runCommand(definition.name, argv, env ?? {}, outputs) as unknown as TaskFunction<I, O>;
  return makeTask<I, O>(definition, fn, files, options.description);
}

function checkArgv(argv: unknown, where: string): string[] {
  if (
    !Array.isArray(argv) ||
    argv.length === 0 ||
    argv.some((arg) => typeof arg !== 'string') ||
    argv[0] === ''
  ) {
    throw invalidOption(`${where}: argv must be a non-empty array of strings, the program first`);
  }
  return Object.freeze([...argv]) as string[];
}

function checkEnv(env: unknown, where: string): Record<string, string> | undefined {
  if (env === undefined) return undefined;
  if (!isPlainObject(env)) throw invalidOption(`${where}: env must be an object of strings`);
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name) || typeof value !== 'string') {
      throw invalidOption(`${where}: env.${name} must be a string under a valid variable name`);
    }
  }
  return Object.freeze({ ...(env as Record<string, string>) });
}

/** Shipped paths, normalised (`/`-separated), sorted, each inside the module's folder. */
function checkFiles(files: unknown, where: string): string[] {
  if (files === undefined) return [];
  if (!Array.isArray(files)) throw invalidOption(`${where}: files must be an array of relative paths`);
  const paths = files.map((file) => {
    const path =
      typeof file === 'string' ? posix.normalize(file.replaceAll('\\', '/')).replace(/\/+$/, '') : '';
    if (
      path === '' ||
      path === '.' ||
      path.startsWith('/') ||
      path === '..' ||
      path.startsWith('../') ||
      /^[A-Za-z]:/.test(path)
    ) {
      throw invalidOption(
        `${where}: files entry ${JSON.stringify(file)} must be a path inside the module's folder`,
      );
    }
    return path;
  });
  return [...new Set(paths)].sort();
}

/**
 * Checks the placeholders of argv items or env values: each names an input, an output or the
 * shipped files. Returns the outputs named.
 */
function outputPlaceholders(
  texts: readonly string[],
  inputs: Record<string, TypeSpec>,
  outputs: Record<string, TypeSpec>,
  where: (index: number) => string,
): string[] {
  const written: string[] = [];
  texts.forEach((text, index) => {
    for (const [, expr = ''] of text.matchAll(PLACEHOLDER)) {
      const [scope, name, ...rest] = expr.trim().split('.');
      const known =
        (scope === 'files' && name === undefined) ||
        (rest.length === 0 &&
          name !== undefined &&
          ((scope === 'inputs' && name in inputs) || (scope === 'outputs' && name in outputs)));
      if (!known) {
        throw invalidOption(
          `${where(index)}: unknown placeholder {{${expr}}} (expected {{inputs.<input>}}, {{outputs.<output>}} or {{files}})`,
        );
      }
      if (scope === 'outputs' && name !== undefined) written.push(name);
    }
  });
  return written;
}

/** The function of a command task: expands argv, runs the program, checks it wrote its outputs. */
function runCommand(
  name: string,
  argv: readonly string[],
  env: Record<string, string>,
  outputs: Record<string, TypeSpec>,
): (inputs: Record<string, unknown>, ctx: TaskContext) => Promise<Record<string, string>> {
  return async (inputs, ctx) => {
    const paths: Record<string, string> = {};
    for (const [output, spec] of Object.entries(outputs)) {
      const path = ctx.outputPath(output);
      await mkdir(spec.type === 'directory' ? path : dirname(path), { recursive: true });
      paths[output] = path;
    }
    const expand = (text: string) =>
      text.replace(PLACEHOLDER, (_match, expr: string) => {
        const [scope, key = ''] = expr.trim().split('.');
        if (scope === 'files') return ctx.filesDir;
        return scope === 'outputs' ? (paths[key] ?? '') : argumentText(inputs[key]);
      });
    const [program = '', ...rest] = argv.map(expand);
    const variables = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, expand(value)]));
    const code = await spawnProgram(program, rest, { cwd: ctx.workDir, env: variables, signal: ctx.signal });
    if (code === COMMAND_RETRY_EXIT_CODE) {
      throw new RetryableError(
        `command task '${name}': ${program} exited with code ${code} (asks for a retry)`,
      );
    }
    if (code !== 0) throw new Error(`command task '${name}': ${program} exited with code ${code}`);
    for (const [output, path] of Object.entries(paths)) {
      if (!(await stat(path).catch(() => undefined))) {
        throw new Error(`command task '${name}': the program did not write output '${output}' (${path})`);
      }
    }
    return paths;
  };
}

/** An input value as a command-line argument. */
function argumentText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/**
 * Runs a program with the worker's stdout and stderr (the attempt's log) and resolves its exit
 * code. A program killed by a signal fails with an Error naming it.
 */
function spawnProgram(
  program: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; signal: AbortSignal },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'inherit', 'inherit'],
      signal: options.signal,
    });
    child.once('error', (error) =>
      reject(
        options.signal.aborted
          ? error
          : new Error(`cannot run '${program}': ${error.message}`, { cause: error }),
      ),
    );
    child.once('close', (code, signal) => {
      if (code !== null) resolve(code);
      else reject(new Error(`'${program}' was killed by ${signal}`));
    });
  });
}
