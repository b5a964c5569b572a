import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type EntryPointSpec,
  type EnvManager,
  type ProjectBackend,
  type ResolvedParameters,
  renderCommand,
  resolveParameters,
  type ValueOrigin,
} from '@keel/core';
import { CliError } from '../cli-error.js';
import {
  chooseEnvManager,
  type EnvironmentBuilder,
  unsupportedEnvironment,
} from './environments/environment.js';
import { NodeEnvironment } from './environments/node-env.js';
import { VirtualenvEnvironment } from './environments/virtualenv.js';
import { type LoadedProject, loadProject, selectEntryPoint } from './load-project.js';
import type { ProjectSource } from './project-source.js';

/** What `keel run` (or `keel runs reproduce`) was asked to do. */
export interface ProjectRunRequest {
  /** `<dir | git URL>[#subdirectory]`. */
  readonly uri: string;
  /** `--version`: a branch, tag or commit of a git URI. */
  readonly version?: string;
  /** @default 'main' */
  readonly entryPoint: string;
  /** `-P key=value` values, as given. */
  readonly params: Readonly<Record<string, string>>;
  readonly experimentName?: string;
  readonly experimentId?: string;
  readonly runName?: string;
  /** `--env-manager`; absent = the project's own (see `chooseEnvManager`). */
  readonly envManager?: EnvManager;
  /** @default 'local' */
  readonly backend: ProjectBackend;
  /** Extra tags on the new run (e.g. `keel.reproducedFrom`). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Where relative paths given in `uri` and in `path` parameters are resolved. */
  readonly cwd: string;
  /**
   * Resolve relative `path` values against the project directory instead of `cwd` (reproduction:
   * a defaulted path param is logged as the project file writes it). @default 'cwd'
   */
  readonly relativePathsFrom?: 'cwd' | 'project';
}

/** A project run checked in full, before any run exists. */
export interface ProjectPlan {
  readonly source: ProjectSource;
  readonly project: LoadedProject;
  readonly entry: EntryPointSpec;
  readonly envManager: EnvManager;
  readonly environment: EnvironmentBuilder | undefined;
  readonly backend: ProjectBackend;
  readonly values: ResolvedParameters;
  /** The shell command, parameters quoted. */
  readonly command: string;
  /**
   * The params the run logs: every value of the command, except that a `path` parameter left at
   * its default is logged as the project file writes it (relative to the project), not as a path
   * into a checkout that is deleted after the run.
   */
  readonly loggedParams: Readonly<Record<string, string>>;
}

/**
 * Checks everything that can be checked before a run is created: the project file, the entry
 * point, the environment (refusing conda and docker, a missing lockfile or Python), and every
 * parameter (types, required values, `path` values that must exist) — then renders the command.
 * A refusal here leaves no run behind.
 *
 * @throws CliError or INVALID_PARAMETER_VALUE / RESOURCE_DOES_NOT_EXIST naming what is wrong.
 */
export async function planProjectRun(
  source: ProjectSource,
  request: ProjectRunRequest,
  basePath: string | undefined,
): Promise<ProjectPlan> {
  const project = await loadProject(source.dir);
  let entry = await selectEntryPoint(project, source.dir, request.entryPoint);
  const envManager = chooseEnvManager(project.spec, entry, request.envManager);
  const declared = project.spec.entryPoints[request.entryPoint] !== undefined;
  // MLflow runs scripts with `python`; outside a virtualenv, many systems only have `python3`.
  if (!declared && entry.runtime === 'python' && envManager !== 'virtualenv' && !onPath('python', basePath)) {
    entry = await selectEntryPoint(project, source.dir, request.entryPoint, { python: 'python3' });
  }
  if (request.backend === 'workflow' && envManager !== 'local') {
    throw new CliError(
      `--backend workflow runs the command on the Keel server's workflow workers, in their environment; this entry point's environment is '${envManager}', which keel run builds on the local backend only: pass --env-manager local to run it there as it is, or use --backend local`,
    );
  }
  const environment = environmentFor(envManager, source.dir, project, basePath);
  await environment?.check();
  const values = resolveParameters(entry, request.params, {
    resolvePath: (value, origin) =>
      localPath(
        value,
        origin === 'given' && request.relativePathsFrom !== 'project' ? request.cwd : source.dir,
        origin,
      ),
  });
  const command = renderCommand(entry, values);
  return {
    source,
    project,
    entry,
    envManager,
    environment,
    backend: request.backend,
    values,
    command,
    loggedParams: loggedParams(entry, values, request),
  };
}

function loggedParams(
  entry: EntryPointSpec,
  values: ResolvedParameters,
  request: ProjectRunRequest,
): Record<string, string> {
  const logged: Record<string, string> = { ...values.declared, ...values.extra };
  for (const parameter of entry.parameters) {
    const defaulted = !Object.hasOwn(request.params, parameter.name);
    if (parameter.type === 'path' && defaulted && parameter.default !== undefined) {
      logged[parameter.name] = parameter.default;
    }
  }
  return logged;
}

function environmentFor(
  manager: EnvManager,
  dir: string,
  project: LoadedProject,
  basePath: string | undefined,
): EnvironmentBuilder | undefined {
  switch (manager) {
    case 'local':
      return undefined;
    case 'node':
      return new NodeEnvironment(dir, project.spec.nodeEnv);
    case 'virtualenv':
      return new VirtualenvEnvironment(dir, project.spec, basePath);
    case 'conda':
    case 'docker':
      throw unsupportedEnvironment(manager, project.spec);
    default:
      return assertNever(manager);
  }
}

/**
 * A `path` parameter's value as the program gets it: absolute, and existing. A given value is
 * relative to where `keel run` runs (as MLflow does); a default, to the project directory (so
 * `data/train.csv` in the project file means the project's file). `file://` URLs are accepted.
 */
function localPath(value: string, base: string, origin: ValueOrigin): string {
  let path = value;
  if (/^file:\/\//i.test(value)) path = fileURLToPath(value);
  else if (/^[A-Za-z][A-Za-z0-9+.-]+:/.test(value)) {
    throw new Error(
      `'${value}' is a URI; a path parameter takes a local file or folder (declare the parameter as type uri to pass URIs through)`,
    );
  }
  const absolute = resolve(base, path);
  if (!existsSync(absolute)) {
    throw new Error(`no such file or directory: ${absolute}${origin === 'default' ? ' (the default)' : ''}`);
  }
  return absolute;
}

/** Whether `command` is an executable file in one of `path`'s folders. */
function onPath(command: string, path: string | undefined): boolean {
  return (path ?? '').split(delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function assertNever(value: never): never {
  throw new CliError(`unknown environment manager '${String(value)}'`);
}
