import { createHash, randomBytes } from 'node:crypto';
import {
  copyFile,
  lstat,
  mkdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  unlink,
} from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { type NodeEnvSpec, PROJECT_TAGS } from '@keel/core';
import { CliError } from '../../cli-error.js';
import type { EnvironmentBuilder, EnvironmentContext, PreparedEnvironment } from './environment.js';

/** The folder name of a project's dependencies; a link into the cache while `keel run` runs it. */
export const NODE_MODULES = 'node_modules';

/**
 * The `node` environment: the project's locked npm dependencies, installed with `npm ci` once per
 * lockfile into `<cacheDir>/node-envs/<sha256 of the lockfile>-<Node ABI>-<platform>-<arch>/` and
 * reused by every later run with the same lockfile. The project's `node_modules` becomes a link to
 * the cached folder (Node's ES module resolution only looks in `node_modules` folders), and
 * `NODE_PATH` and `PATH` (for `node_modules/.bin`) point there too.
 *
 * `check()` refuses a missing `package.json` or lockfile, a Node.js older than `node_env.node`,
 * and a real `node_modules` folder in the project (keel run does not replace your own install).
 */
export class NodeEnvironment implements EnvironmentBuilder {
  private readonly lockfile: string;

  constructor(
    private readonly projectDir: string,
    private readonly spec: NodeEnvSpec | undefined,
  ) {
    this.lockfile = spec?.lockfile ?? 'package-lock.json';
  }

  async check(): Promise<void> {
    for (const file of ['package.json', this.lockfile]) {
      if (!(await stat(join(this.projectDir, file)).catch(() => undefined))?.isFile()) {
        throw new CliError(
          `the node environment installs locked dependencies with npm ci: '${file}' is missing in ${this.projectDir} (run 'npm install' there and commit it, or use --env-manager local)`,
        );
      }
    }
    const major = Number(process.versions.node.split('.')[0]);
    if (this.spec?.node !== undefined && major < this.spec.node) {
      throw new CliError(
        `this project needs Node.js ${this.spec.node} or newer (node_env.node); this is Node.js ${process.versions.node}: install Node.js ${this.spec.node}`,
      );
    }
    const existing = await lstat(join(this.projectDir, NODE_MODULES)).catch(() => undefined);
    if (existing !== undefined && !existing.isSymbolicLink()) {
      throw new CliError(
        `${join(this.projectDir, NODE_MODULES)} is a folder of its own: remove it to run with the locked dependencies (--env-manager node), or keep it and run with --env-manager local`,
      );
    }
  }

  async prepare(context: EnvironmentContext): Promise<PreparedEnvironment> {
    const lock = await readFile(join(this.projectDir, this.lockfile));
    const hash = createHash('sha256').update(lock).digest('hex');
    const key = `${hash.slice(0, 32)}-abi${process.versions.modules}-${process.platform}-${process.arch}`;
    const envDir = join(context.cacheDir, 'node-envs', key);
    const modules = join(envDir, NODE_MODULES);
    if (await isDirectory(modules)) {
      context.note(`reusing the node environment ${envDir}`);
    } else {
      context.note(`installing the locked dependencies (npm ci) into ${envDir}`);
      await this.install(envDir, context);
    }
    await linkModules(join(this.projectDir, NODE_MODULES), modules);
    return {
      env: {
        NODE_PATH: modules,
        PATH: [join(modules, '.bin'), context.baseEnv.PATH ?? ''].join(delimiter),
      },
      tags: { [PROJECT_TAGS.nodeLockfileHash]: hash },
    };
  }

  /** `npm ci` in a fresh folder renamed into place, so that a crash never leaves half an install. */
  private async install(envDir: string, context: EnvironmentContext): Promise<void> {
    const staging = `${envDir}.tmp-${randomBytes(6).toString('hex')}`;
    await mkdir(staging, { recursive: true });
    try {
      await copyFile(join(this.projectDir, 'package.json'), join(staging, 'package.json'));
      await copyFile(join(this.projectDir, this.lockfile), join(staging, 'package-lock.json'));
      await context.setup(['npm', 'ci', '--no-audit', '--no-fund', '--loglevel=error'], staging);
      await mkdir(join(staging, NODE_MODULES), { recursive: true });
      await rename(staging, envDir).catch(async (error: NodeJS.ErrnoException) => {
        // Another run installed the same lockfile meanwhile: keep theirs.
        if (!(await isDirectory(join(envDir, NODE_MODULES)))) throw error;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}

/** Points `link` at `target`, replacing an older link (never a real folder: `check()` refused those). */
async function linkModules(link: string, target: string): Promise<void> {
  const current = await readlink(link).catch(() => undefined);
  if (current === target) return;
  if (current !== undefined) await unlink(link);
  await symlink(target, link, 'dir');
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
