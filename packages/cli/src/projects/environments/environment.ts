import type { EntryPointSpec, EnvManager, ProjectSpec } from '@keel/core';
import { CliError } from '../../cli-error.js';

/** What building an environment gives the program: variables and tags that describe it. */
export interface PreparedEnvironment {
  /** Variables set for the program (they replace the inherited ones of the same name). */
  readonly env: Readonly<Record<string, string>>;
  /** Tags recorded on the run. */
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * Runs one setup command (`npm ci`, `python -m venv`, `pip install`) with its output going to
 * the terminal and the run's log; resolves on exit code 0.
 *
 * @throws CliError naming the command when it fails or is interrupted.
 */
export type SetupRunner = (argv: readonly string[], cwd: string) => Promise<void>;

/** What environment builders get. */
export interface EnvironmentContext {
  readonly projectDir: string;
  /** The environment the program inherits (for `PATH`). */
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
  /** `<cacheDir>/node-envs`, `<cacheDir>/virtualenvs`. */
  readonly cacheDir: string;
  /** Prints a `keel:` line to stderr and the log. */
  readonly note: (line: string) => void;
  readonly setup: SetupRunner;
}

/** An environment manager: checked before the run exists, built after. */
export interface EnvironmentBuilder {
  /** Everything that can be known without installing (files present, interpreters found). */
  check(): Promise<void>;
  /** Builds (or reuses) the environment. */
  prepare(context: EnvironmentContext): Promise<PreparedEnvironment>;
}

/**
 * The environment manager a run uses: `--env-manager` when given, else the entry point's own —
 * `node` for a `runtime: node` entry point of a project with `node_env`, then the project's
 * `python_env` (`virtualenv`), `conda_env` (`conda`) or `docker_env` (`docker`), else `local`.
 *
 * @example chooseEnvManager(spec, entry, undefined); // 'virtualenv' for a project with python_env
 */
export function chooseEnvManager(
  spec: ProjectSpec,
  entry: EntryPointSpec,
  requested: EnvManager | undefined,
): EnvManager {
  if (requested !== undefined) return requested;
  if (entry.runtime === 'node' && spec.nodeEnv !== undefined) return 'node';
  switch (spec.environment.kind) {
    case 'python_env':
      return 'virtualenv';
    case 'conda_env':
      return 'conda';
    case 'docker_env':
      return 'docker';
    case 'none':
      return 'local';
    default:
      return assertNever(spec.environment);
  }
}

/**
 * The refusal for an environment Keel cannot build, naming what to install.
 * @example throw unsupportedEnvironment('conda', spec);
 */
export function unsupportedEnvironment(manager: 'conda' | 'docker', spec: ProjectSpec): CliError {
  const declared =
    spec.environment.kind === 'conda_env'
      ? ` (conda_env: ${spec.environment.file})`
      : spec.environment.kind === 'docker_env'
        ? ` (docker_env image ${spec.environment.image})`
        : '';
  const tool =
    manager === 'conda'
      ? 'conda (Miniconda or Miniforge) with MLflow, and run it with `mlflow run`'
      : 'Docker with MLflow, and run it with `mlflow run`';
  return new CliError(
    `This project needs a ${manager} environment${declared}, which keel run cannot create: install ${tool}; or run it here with --env-manager local (current environment), virtualenv or node`,
  );
}

function assertNever(value: never): never {
  throw new Error(`unhandled environment ${JSON.stringify(value)}`);
}
