import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import {
  type EntryPointSpec,
  KEEL_PROJECT_FILE,
  KeelError,
  MLPROJECT_FILE,
  type ProjectSpec,
  parseProjectFile,
  SCRIPT_RUNTIMES,
  type ScriptInterpreters,
  scriptEntryPoint,
} from '@keel/core';

/** A project's spec and the file it came from. */
export interface LoadedProject {
  readonly spec: ProjectSpec;
  /** The project file's name in the directory; absent for a directory without one. */
  readonly file?: string;
}

/**
 * Reads a project directory's project file: `keel-project.yaml` when present, else a file named
 * `MLproject` (any case, as MLflow matches it). A directory with neither is a project whose entry
 * points are its scripts, with the environment MLflow would infer: `python_env.yaml`, else
 * `conda.yaml`, else none.
 *
 * @throws INVALID_PARAMETER_VALUE (from `parseProjectFile`) naming the file and field.
 */
export async function loadProject(dir: string): Promise<LoadedProject> {
  const names = await readdir(dir);
  const keel = names.find((name) => name === KEEL_PROJECT_FILE);
  const mlproject = names.find((name) => name.toLowerCase() === MLPROJECT_FILE.toLowerCase());
  const file = keel ?? mlproject;
  if (file !== undefined) {
    const text = await readFile(join(dir, file), 'utf8');
    return { spec: parseProjectFile(text, file === keel ? 'keel' : 'mlproject'), file };
  }
  const environment = names.includes('python_env.yaml')
    ? ({ kind: 'python_env', file: 'python_env.yaml' } as const)
    : names.includes('conda.yaml')
      ? ({ kind: 'conda_env', file: 'conda.yaml' } as const)
      : ({ kind: 'none' } as const);
  return { spec: { format: 'none', entryPoints: {}, environment } };
}

/**
 * The entry point called `name`: a declared one, else a script of the project (`train.py`,
 * `run.sh`, `main.mjs`…) run with its interpreter and every `-P` value as `--key value`.
 *
 * @throws RESOURCE_DOES_NOT_EXIST listing the declared entry points and the script extensions.
 */
export async function selectEntryPoint(
  project: LoadedProject,
  dir: string,
  name: string,
  interpreters: ScriptInterpreters = {},
): Promise<EntryPointSpec> {
  const declared = project.spec.entryPoints[name];
  if (declared !== undefined) return declared;
  const script = scriptEntryPoint(name, interpreters);
  const path = resolve(dir, name);
  const inside = !relative(dir, path).startsWith(`..${sep}`) && relative(dir, path) !== '..';
  if (script !== undefined && inside && (await stat(path).catch(() => undefined))?.isFile()) return script;
  const known = Object.keys(project.spec.entryPoints);
  throw new KeelError(
    'RESOURCE_DOES_NOT_EXIST',
    `Entry point '${name}' is not in ${project.file ?? 'the project (it has no project file)'}${
      known.length > 0 ? ` (entry points: ${known.join(', ')})` : ''
    } and is not a script file of the project (${Object.keys(SCRIPT_RUNTIMES).join(', ')})`,
  );
}
