import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** What `keel run` reads from its environment, resolved once: the only place it reads `process.env`. */
export interface ProjectSettings {
  /**
   * Where fetched repositories are checked out and environments are cached (`node-envs/`,
   * `virtualenvs/`, `checkouts/`).
   * @default `KEEL_CACHE_DIR`, else `$XDG_CACHE_HOME/keel`, else `~/.cache/keel`
   */
  readonly cacheDir: string;
  /** Experiment by name when no flag names one. @default `KEEL_EXPERIMENT_NAME`, then `MLFLOW_EXPERIMENT_NAME` */
  readonly experimentName?: string;
  /** Experiment by id when no flag names one. @default `KEEL_EXPERIMENT_ID`, then `MLFLOW_EXPERIMENT_ID` */
  readonly experimentId?: string;
  /** The environment the program inherits (before the run's variables are added). */
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
}

/**
 * Resolves {@link ProjectSettings} from `env` (the process environment by default) and freezes it.
 *
 * @example
 * const settings = projectSettings({ KEEL_CACHE_DIR: '/tmp/keel-cache' });
 */
export function projectSettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ProjectSettings {
  const pick = (...names: string[]): string | undefined =>
    names.map((name) => env[name]).find((value) => value !== undefined && value !== '');
  const cacheRoot = pick('KEEL_CACHE_DIR');
  const xdg = pick('XDG_CACHE_HOME');
  const experimentName = pick('KEEL_EXPERIMENT_NAME', 'MLFLOW_EXPERIMENT_NAME');
  const experimentId = pick('KEEL_EXPERIMENT_ID', 'MLFLOW_EXPERIMENT_ID');
  return Object.freeze({
    cacheDir: resolve(
      cacheRoot ?? (xdg === undefined ? join(homedir(), '.cache', 'keel') : join(xdg, 'keel')),
    ),
    ...(experimentName === undefined ? {} : { experimentName }),
    ...(experimentId === undefined ? {} : { experimentId }),
    baseEnv: env,
  });
}
