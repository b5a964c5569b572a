import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { arch, platform, release, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { TAG_USER } from '@keel/core';
import { readGitInfo } from './git-info.js';

/** The tag keys a run started by the SDK records about where and how it ran. */
export const SYSTEM_TAG_KEYS = {
  user: TAG_USER,
  sourceName: 'mlflow.source.name',
  sourceType: 'mlflow.source.type',
  gitCommit: 'mlflow.source.git.commit',
  gitBranch: 'mlflow.source.git.branch',
  gitRepoUrl: 'mlflow.source.git.repoURL',
  nodeVersion: 'keel.env.node',
  os: 'keel.env.os',
  lockfile: 'keel.env.lockfile',
  lockfileHash: 'keel.env.lockfileHash',
} as const;

/** Lockfiles looked for, in this order within each folder. */
export const LOCKFILE_NAMES = [
  'package-lock.json',
  'npm-shrinkwrap.json',
  'pnpm-lock.yaml',
  'yarn.lock',
  'bun.lock',
] as const;

/** Inputs of {@link collectSystemTags}; tests pass literals, programs take the defaults. */
export interface SystemTagsOptions {
  /** The entry script; pass `undefined` explicitly for none (a REPL). @default process.argv[1] */
  entry?: string | undefined;
  /** The working directory. @default process.cwd() */
  cwd?: string;
  /** Environment, read only when the OS has no user name for the process. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The system tags MLflow's clients record on a new run, plus Keel's record of the environment:
 *
 * | tag | value |
 * |---|---|
 * | `mlflow.user` | the OS user (`os.userInfo()`) |
 * | `mlflow.source.name` | the entry script (`process.argv[1]`, absolute as Node gives it) |
 * | `mlflow.source.type` | `LOCAL` |
 * | `mlflow.source.git.commit` / `.branch` / `.repoURL` | read from the `.git` folder found upward from the entry script, else the working directory (no git binary needed; left out outside a repository) |
 * | `keel.env.node` | `process.version` |
 * | `keel.env.os` | `<platform>-<release>-<arch>`, e.g. `linux-6.1.0-amd64-x64` |
 * | `keel.env.lockfile` / `keel.env.lockfileHash` | name and sha256 of the nearest `package-lock.json`, `pnpm-lock.yaml`, `yarn.lock`… upward (left out when none) |
 *
 * Never throws: what cannot be read is left out.
 *
 * @example
 * const tags = await collectSystemTags();
 * tags['mlflow.source.git.commit']; // '3f2a…' inside a git checkout
 */
export async function collectSystemTags(options: SystemTagsOptions = {}): Promise<Record<string, string>> {
  const entry = 'entry' in options ? options.entry : process.argv[1];
  const cwd = resolve(options.cwd ?? process.cwd());
  const starts = [...new Set([...(entry ? [dirname(resolve(cwd, entry))] : []), cwd])];
  const tags: Record<string, string> = {};
  const user = currentUser(options.env ?? process.env);
  if (user) tags[SYSTEM_TAG_KEYS.user] = user;
  if (entry) tags[SYSTEM_TAG_KEYS.sourceName] = entry;
  tags[SYSTEM_TAG_KEYS.sourceType] = 'LOCAL';
  const [git, lockfile] = await Promise.all([firstGitInfo(starts), findLockfile(starts)]);
  if (git?.commit) tags[SYSTEM_TAG_KEYS.gitCommit] = git.commit;
  if (git?.branch) tags[SYSTEM_TAG_KEYS.gitBranch] = git.branch;
  if (git?.repoUrl) tags[SYSTEM_TAG_KEYS.gitRepoUrl] = git.repoUrl;
  tags[SYSTEM_TAG_KEYS.nodeVersion] = process.version;
  tags[SYSTEM_TAG_KEYS.os] = `${platform()}-${release()}-${arch()}`;
  if (lockfile) {
    tags[SYSTEM_TAG_KEYS.lockfile] = basename(lockfile.path);
    tags[SYSTEM_TAG_KEYS.lockfileHash] = lockfile.sha256;
  }
  return tags;
}

function currentUser(env: Readonly<Record<string, string | undefined>>): string | undefined {
  try {
    const name = userInfo().username;
    if (name) return name;
  } catch {
    // No passwd entry for this uid (common in containers): fall back to the environment.
  }
  return env.USER || env.USERNAME || env.LOGNAME || undefined;
}

async function firstGitInfo(starts: readonly string[]) {
  for (const start of starts) {
    const info = await readGitInfo(start);
    if (info) return info;
  }
  return undefined;
}

/**
 * The nearest lockfile upward from the first start folder that has one, with its sha256.
 * @example const lock = await findLockfile([process.cwd()]); // { path: '/repo/package-lock.json', sha256: '…' }
 */
export async function findLockfile(
  starts: readonly string[],
): Promise<{ path: string; sha256: string } | undefined> {
  for (const start of starts) {
    for (let dir = resolve(start); ; ) {
      for (const name of LOCKFILE_NAMES) {
        const path = join(dir, name);
        const info = await stat(path).catch(() => undefined);
        if (info?.isFile()) {
          try {
            return { path, sha256: await sha256File(path) };
          } catch {
            return undefined;
          }
        }
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
