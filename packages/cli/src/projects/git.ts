import { execFile } from 'node:child_process';
import { withoutCredentials } from '@keel/sdk';
import { CliError, oneLine } from '../cli-error.js';

/** Kept here for the CLI's projects, which read it from this module. */
export { withoutCredentials };

/** What a project's git checkout is at. */
export interface GitState {
  /** The work tree's top folder. */
  readonly root: string;
  /** `HEAD`, 40 hex digits. */
  readonly commit: string;
  /** The checked-out branch; absent on a detached HEAD (a tag or a commit). */
  readonly branch?: string;
  /** `origin`'s URL (else the first remote's), credentials removed; absent without remotes. */
  readonly repoUrl?: string;
  /** Whether `git status --porcelain` lists anything (untracked files count), beyond `ignore`. */
  readonly dirty: boolean;
}

/**
 * Runs the system `git` with `args` in `cwd` and returns its stdout. Never prompts (a clone that
 * needs credentials fails instead of waiting on a terminal).
 *
 * @throws CliError `git <args…> failed: <git's last line of stderr>`; or that git is not installed.
 */
export function git(args: readonly string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...args],
      {
        ...(cwd === undefined ? {} : { cwd }),
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error === null) return resolve(stdout);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && error.message.includes('spawn git')) {
          return reject(
            new CliError('git is not installed: install git to run projects from git repositories'),
          );
        }
        const detail = stderr.trim().split('\n').filter(Boolean).at(-1) ?? oneLine(error);
        reject(new CliError(`git ${args[0]} failed: ${detail}`));
      },
    );
  });
}

/** The top folder of the git work tree `dir` is in, or `undefined` when it is in none. */
export async function workTreeRoot(dir: string): Promise<string | undefined> {
  try {
    return (await git(['rev-parse', '--show-toplevel'], dir)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The state of the work tree at `root`: commit, branch, remote URL and whether it is dirty.
 * `ignore` lists paths (relative to `root`) whose own status does not count, such as the
 * `node_modules` link `keel run` itself makes.
 *
 * @throws CliError when the repository has no commit yet.
 */
export async function gitState(root: string, ignore: readonly string[] = []): Promise<GitState> {
  const commit = (await git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], root).catch(() => ''))
    .trim()
    .toLowerCase();
  if (commit === '')
    throw new CliError(`git repository '${root}' has no commit yet: commit the project first`);
  const branch = (await git(['symbolic-ref', '--quiet', '--short', 'HEAD'], root).catch(() => '')).trim();
  const repoUrl = await remoteUrl(root);
  const status = await git(
    ['status', '--porcelain', '--untracked-files=all', '--ignore-submodules=none'],
    root,
  );
  const changed = status
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.slice(3).replace(/^"|"$/g, '').replace(/\/$/, ''))
    .filter((path) => !ignore.includes(path));
  return {
    root,
    commit,
    ...(branch === '' ? {} : { branch }),
    ...(repoUrl === undefined ? {} : { repoUrl }),
    dirty: changed.length > 0,
  };
}

/** `origin`'s URL, else the first remote's; credentials removed. */
async function remoteUrl(root: string): Promise<string | undefined> {
  const remotes = (await git(['remote'], root).catch(() => ''))
    .split('\n')
    .map((name) => name.trim())
    .filter(Boolean);
  const name = remotes.includes('origin') ? 'origin' : remotes[0];
  if (name === undefined) return undefined;
  const url = (await git(['remote', 'get-url', name], root).catch(() => '')).trim();
  return url === '' ? undefined : withoutCredentials(url);
}

/**
 * Clones `url` into `dest` (which must not exist) and checks out `version` — a branch, a tag or
 * a commit (full or abbreviated) — or the remote's default branch when `version` is absent.
 *
 * @throws CliError naming the URL or the version that could not be fetched.
 */
export async function cloneAt(url: string, dest: string, version: string | undefined): Promise<void> {
  await git(['clone', '--quiet', '--no-checkout', '--', url, dest]).catch((error: unknown) => {
    throw new CliError(
      `cannot clone '${withoutCredentials(url)}': ${oneLine(error).replace(/^git clone failed: /, '')}`,
    );
  });
  if (version === undefined) {
    await git(['checkout', '--quiet'], dest);
    return;
  }
  if (version.startsWith('-')) throw new CliError(`Invalid --version '${version}'`);
  const branch = await git(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${version}`], dest)
    .then(() => true)
    .catch(() => false);
  if (branch) {
    await git(['checkout', '--quiet', '-B', version, `refs/remotes/origin/${version}`], dest);
    return;
  }
  const commit = await git(['rev-parse', '--verify', '--quiet', `${version}^{commit}`], dest).catch(() => '');
  if (commit.trim() === '') {
    throw new CliError(`version '${version}' is not a branch, tag or commit of '${withoutCredentials(url)}'`);
  }
  await git(['checkout', '--quiet', '--detach', commit.trim()], dest);
}
