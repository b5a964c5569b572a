/**
 * Projects (docs/projects.md): a directory or git repository with a project file — MLflow's
 * `MLproject`, or Keel's `keel-project.yaml` — naming entry points, their typed parameters and
 * command templates, and the environment they run in. Browser-safe types and constants; the CLI
 * fetches, builds environments and runs.
 */

/** The parameter types of MLflow projects, plus `int`. */
export const PARAMETER_TYPES = ['string', 'float', 'int', 'path', 'uri'] as const;

/**
 * A parameter's type: `float` and `int` are checked, `path` is a local file or folder (made
 * absolute; it must exist), `uri` must have a scheme (`s3://…`, `runs:/…`) and is passed as given.
 */
export type ParameterType = (typeof PARAMETER_TYPES)[number];

/** One declared parameter of an entry point. */
export interface ParameterSpec {
  readonly name: string;
  /** @default 'string' */
  readonly type: ParameterType;
  /** The default as text (YAML numbers as written, booleans as Python prints them); absent = required. */
  readonly default?: string;
}

/**
 * Which toolchain an entry point needs (Keel project files only; MLproject entry points are
 * `shell`). It picks the default environment: `node` → the `node_env`, `python` and `shell` → the
 * project's `python_env` / `conda_env` / `docker_env`, else `local`.
 */
export const ENTRY_POINT_RUNTIMES = ['shell', 'node', 'python'] as const;

/** One of {@link ENTRY_POINT_RUNTIMES}. */
export type EntryPointRuntime = (typeof ENTRY_POINT_RUNTIMES)[number];

/** One entry point: a shell command template with `{param}` placeholders. */
export interface EntryPointSpec {
  readonly name: string;
  /** Declared parameters, in file order. */
  readonly parameters: readonly ParameterSpec[];
  /** e.g. `python train.py --alpha {alpha}`; `{{` and `}}` are literal braces. */
  readonly command: string;
  /** @default 'shell' */
  readonly runtime: EntryPointRuntime;
}

/**
 * The environment a project declares (at most one of MLflow's three keys). Paths are relative to
 * the project directory, as written.
 */
export type ProjectEnvironment =
  | { readonly kind: 'none' }
  | { readonly kind: 'python_env'; readonly file: string }
  | { readonly kind: 'conda_env'; readonly file: string }
  | { readonly kind: 'docker_env'; readonly image: string };

/** `node_env` of a Keel project file: the locked npm dependencies of Node entry points. */
export interface NodeEnvSpec {
  /** The lockfile `npm ci` installs from, relative to the project. @default 'package-lock.json' */
  readonly lockfile: string;
  /** Lowest Node.js major version the project supports, e.g. `20`. @default none */
  readonly node?: number;
}

/** Which file a project was read from. */
export type ProjectFileFormat = 'keel' | 'mlproject' | 'none';

/** A parsed project file (or the implicit project of a directory without one). */
export interface ProjectSpec {
  /** `name:` of the file; absent when the file has none. */
  readonly name?: string;
  readonly format: ProjectFileFormat;
  readonly entryPoints: Readonly<Record<string, EntryPointSpec>>;
  readonly environment: ProjectEnvironment;
  /** Keel project files only. */
  readonly nodeEnv?: NodeEnvSpec;
}

/** The file name of Keel's project file; it wins over an `MLproject` in the same directory. */
export const KEEL_PROJECT_FILE = 'keel-project.yaml';

/** MLflow's project file name (matched case-insensitively, as MLflow does). */
export const MLPROJECT_FILE = 'MLproject';

/** The entry point `keel run` uses when `-e` is not given. */
export const DEFAULT_ENTRY_POINT = 'main';

/**
 * Environment managers of `keel run --env-manager`, recorded in the `mlflow.project.env` tag.
 * `conda` and `docker` are recognised (MLflow's values) and refused with what to install.
 */
export const ENV_MANAGERS = ['local', 'node', 'virtualenv', 'conda', 'docker'] as const;

/** One of {@link ENV_MANAGERS}. */
export type EnvManager = (typeof ENV_MANAGERS)[number];

/** Backends of `keel run --backend`, recorded in the `mlflow.project.backend` tag. */
export const PROJECT_BACKENDS = ['local', 'workflow'] as const;

/** One of {@link PROJECT_BACKENDS}. */
export type ProjectBackend = (typeof PROJECT_BACKENDS)[number];

/**
 * The tags a project run carries: MLflow's own (so MLflow's UI and clients read them) and Keel's
 * (what reproduction needs). Documented in docs/projects.md.
 */
export const PROJECT_TAGS = {
  /** `PROJECT`. */
  sourceType: 'mlflow.source.type',
  /** The project URI as given (`file:///abs/dir` for a local directory), `#subdirectory` included. */
  sourceName: 'mlflow.source.name',
  gitCommit: 'mlflow.source.git.commit',
  gitBranch: 'mlflow.source.git.branch',
  gitRepoUrl: 'mlflow.source.git.repoURL',
  /** The pre-1.0 MLflow key for the repository URL, still read by MLflow's UI. */
  legacyGitRepoUrl: 'mlflow.gitRepoURL',
  entryPoint: 'mlflow.project.entryPoint',
  env: 'mlflow.project.env',
  backend: 'mlflow.project.backend',
  /** `true` when a local work tree had uncommitted or untracked changes; `false` when clean. */
  gitDirty: 'keel.source.git.dirty',
  /** Where to fetch the code again: the git URL, `file://<work tree root>`, or a plain directory. */
  projectUri: 'keel.project.uri',
  /** The project's folder inside the repository (`''` for its root). */
  projectSubdirectory: 'keel.project.subdirectory',
  /** `--version` as given (a branch, tag or commit). */
  projectVersion: 'keel.project.version',
  projectName: 'keel.project.name',
  /** `keel-project.yaml`, `MLproject` or `none`. */
  projectFile: 'keel.project.file',
  /** sha256 of the lockfile a `node` environment was installed from. */
  nodeLockfileHash: 'keel.project.node.lockfileHash',
  /** On a run made by `keel runs reproduce`: the id of the run it reproduces. */
  reproducedFrom: 'keel.reproducedFrom',
} as const;

/** The value of `mlflow.source.type` on project runs. */
export const PROJECT_SOURCE_TYPE = 'PROJECT';
