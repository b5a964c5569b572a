import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { type ProjectSpec, type PythonEnvSpec, parsePythonEnv } from '@keel/core';
import { CliError } from '../../cli-error.js';
import type { EnvironmentBuilder, EnvironmentContext, PreparedEnvironment } from './environment.js';

/** Written last into a finished virtualenv; a folder without it is a broken build, rebuilt. */
const READY_MARKER = '.keel-ready';

/** A Python interpreter found on the PATH. */
interface Interpreter {
  readonly command: string;
  /** `major.minor.patch`. */
  readonly version: string;
  readonly executable: string;
}

/**
 * The `virtualenv` environment, as MLflow's: a venv made with `python3 -m venv` from the project's
 * `python_env.yaml` (`python_env:` of the project file; without one, the first Python on the PATH
 * and no dependencies), with `build_dependencies` then `dependencies` installed by pip. Kept in
 * `<cacheDir>/virtualenvs/<sha256 of interpreter, requirements and -r files>/` and reused.
 *
 * `check()` refuses a missing or invalid `python_env.yaml` and a Python version the PATH does not
 * have (`python: "3.8"` needs a `python3.8`, or a `python3` that is 3.8), naming what to install.
 * pip needs an index (PyPI or `PIP_INDEX_URL`) for any dependency.
 */
export class VirtualenvEnvironment implements EnvironmentBuilder {
  private env: PythonEnvSpec | undefined;
  private interpreter: Interpreter | undefined;

  constructor(
    private readonly projectDir: string,
    private readonly spec: ProjectSpec,
    private readonly path: string | undefined,
  ) {}

  async check(): Promise<void> {
    const file = this.spec.environment.kind === 'python_env' ? this.spec.environment.file : undefined;
    if (file !== undefined) {
      const text = await readFile(join(this.projectDir, file), 'utf8').catch(() => undefined);
      if (text === undefined)
        throw new CliError(`python_env file '${file}' is missing in ${this.projectDir}`);
      this.env = parsePythonEnv(text, file);
    } else {
      this.env = { buildDependencies: [], dependencies: [] };
    }
    this.interpreter = await findInterpreter(this.env.python, this.path);
  }

  async prepare(context: EnvironmentContext): Promise<PreparedEnvironment> {
    const env = this.env;
    const python = this.interpreter;
    if (env === undefined || python === undefined) throw new Error('VirtualenvEnvironment.check() first');
    const venv = join(context.cacheDir, 'virtualenvs', await this.key(env, python));
    if (await exists(join(venv, READY_MARKER))) {
      context.note(`reusing the virtualenv ${venv} (Python ${python.version})`);
    } else {
      context.note(`creating a virtualenv with Python ${python.version} in ${venv}`);
      await rm(venv, { recursive: true, force: true });
      const needsPip = env.buildDependencies.length + env.dependencies.length > 0;
      await context.setup(
        [python.executable, '-m', 'venv', ...(needsPip ? [] : ['--without-pip']), venv],
        this.projectDir,
      );
      const pip = [join(venv, 'bin', 'python'), '-m', 'pip', 'install', '--disable-pip-version-check'];
      if (env.buildDependencies.length > 0) {
        await context.setup([...pip, ...env.buildDependencies.flatMap(requirementArgs)], this.projectDir);
      }
      if (env.dependencies.length > 0) {
        await context.setup([...pip, ...env.dependencies.flatMap(requirementArgs)], this.projectDir);
      }
      await writeFile(join(venv, READY_MARKER), `${new Date().toISOString()}\n`);
    }
    return {
      env: { VIRTUAL_ENV: venv, PATH: [join(venv, 'bin'), context.baseEnv.PATH ?? ''].join(delimiter) },
      tags: {},
    };
  }

  /** sha256 over the interpreter, the requirements and the content of `-r` files they name. */
  private async key(env: PythonEnvSpec, python: Interpreter): Promise<string> {
    const hash = createHash('sha256');
    hash.update(JSON.stringify([python.executable, python.version, env.buildDependencies, env.dependencies]));
    for (const requirement of [...env.buildDependencies, ...env.dependencies]) {
      const file = /^-r\s*(.+)$/.exec(requirement.trim())?.[1];
      if (file !== undefined) hash.update(await readFile(resolve(this.projectDir, file)).catch(() => ''));
    }
    return hash.digest('hex').slice(0, 32);
  }
}

/** `-r requirements.txt` is two arguments to pip; a specifier is one. */
function requirementArgs(requirement: string): string[] {
  const option = /^(-[a-zA-Z]|--[\w-]+)\s+(.+)$/.exec(requirement.trim());
  return option === null ? [requirement.trim()] : [option[1] as string, option[2] as string];
}

/**
 * The first interpreter on `path` matching `wanted` (`3.11` matches 3.11.x): `python<wanted
 * major.minor>`, then `python3`, then `python`.
 *
 * @throws CliError naming the version to install and what was found.
 */
async function findInterpreter(wanted: string | undefined, path: string | undefined): Promise<Interpreter> {
  const majorMinor = wanted === undefined ? undefined : /^(\d+\.\d+)/.exec(wanted)?.[1];
  const candidates = [...(majorMinor === undefined ? [] : [`python${majorMinor}`]), 'python3', 'python'];
  const found: Interpreter[] = [];
  for (const command of candidates) {
    const interpreter = await probe(command, path);
    if (interpreter === undefined) continue;
    if (wanted === undefined || matchesVersion(interpreter.version, wanted)) return interpreter;
    found.push(interpreter);
  }
  const seen = found.map((i) => `${i.command} is ${i.version}`).join(', ') || 'no python3 on the PATH';
  throw new CliError(
    wanted === undefined
      ? `the virtualenv environment needs Python 3 with the venv module: ${seen}; install python3 and python3-venv`
      : `python_env asks for Python ${wanted}, but ${seen}: install Python ${wanted} (for example with pyenv, or your system's python${majorMinor ?? wanted} package), or run with --env-manager local`,
  );
}

function matchesVersion(actual: string, wanted: string): boolean {
  return actual === wanted || actual.startsWith(`${wanted}.`);
}

/** The version and real path of `command`, when it runs and has the venv module. */
function probe(command: string, path: string | undefined): Promise<Interpreter | undefined> {
  const script = 'import sys, venv; print("%d.%d.%d" % sys.version_info[:3]); print(sys.executable)';
  return new Promise((done) => {
    execFile(
      command,
      ['-c', script],
      { env: { ...process.env, ...(path === undefined ? {} : { PATH: path }) }, timeout: 15_000 },
      (error, stdout) => {
        const [version, executable] = stdout.trim().split('\n');
        if (error !== null || version === undefined || executable === undefined) return done(undefined);
        done({ command, version: version.trim(), executable: executable.trim() });
      },
    );
  });
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
