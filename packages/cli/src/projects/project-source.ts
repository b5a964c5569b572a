import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliError } from '../cli-error.js';
import { cloneAt, type GitState, gitState, withoutCredentials, workTreeRoot } from './git.js';

/** A project URI taken apart: where the code is, and the project's folder inside it. */
export interface ProjectUri {
  /** `git` for URLs (`https://`, `ssh://`, `file://`, `git@host:path`), `local` for a directory. */
  readonly kind: 'git' | 'local';
  /** The URL, or the directory made absolute (for `local`), without `#subdirectory`. */
  readonly location: string;
  /** After `#`, `/`-separated, without leading or trailing slashes; `''` for none. */
  readonly subdirectory: string;
}

/**
 * Parses `<dir | git URL>[#subdirectory]`. Anything with a scheme (`file://`, `https://`,
 * `ssh://`, `git://`) or in scp form (`git@github.com:org/repo.git`) is a git repository; the
 * rest is a local directory, resolved against `cwd`.
 *
 * @throws CliError for an absolute subdirectory or one that climbs out with `..`.
 * @example
 * parseProjectUri('file:///srv/repo.git#projects/churn', '/home/me');
 * // { kind: 'git', location: 'file:///srv/repo.git', subdirectory: 'projects/churn' }
 */
export function parseProjectUri(uri: string, cwd: string): ProjectUri {
  const hash = uri.indexOf('#');
  const base = hash === -1 ? uri : uri.slice(0, hash);
  const sub = hash === -1 ? '' : uri.slice(hash + 1);
  if (base === '') throw new CliError(`Invalid project URI '${uri}': nothing before '#'`);
  const subdirectory = sub.replace(/^\/+|\/+$/g, '');
  if (sub.startsWith('/') || subdirectory.split('/').some((part) => part === '..')) {
    throw new CliError(
      `Invalid project subdirectory '${sub}': it must be a relative path inside the project`,
    );
  }
  const isGit = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(base) || /^[\w.-]+@[\w.-]+:/.test(base);
  return isGit
    ? { kind: 'git', location: base, subdirectory }
    : { kind: 'local', location: resolve(cwd, base), subdirectory };
}

/** A project's code, ready to run: its folder and what is known about where it came from. */
export interface ProjectSource {
  readonly uri: ProjectUri;
  /** The project folder (the checkout or the directory, plus the subdirectory). */
  readonly dir: string;
  /** The git state, when the code is in a git work tree. */
  readonly git?: GitState;
  /** The project's folder relative to the git work tree's root (`''` at the root). */
  readonly subdirectory: string;
  /** For `mlflow.source.name`: the URL as given (no credentials), or `file://<dir>`, plus `#subdirectory`. */
  readonly sourceName: string;
  /** For `keel.project.uri`: where `keel runs reproduce` fetches the code again. */
  readonly fetchUri: string;
  /** Deletes a checkout made for this run; a no-op for a local directory. */
  cleanup(): Promise<void>;
}

/** Options of {@link fetchProjectSource}. */
export interface FetchSourceOptions {
  /** `--version`: a branch, tag or commit; git sources only. */
  readonly version?: string;
  /** Where checkouts of git sources go (`<cacheDir>/checkouts/<random>`, deleted after the run). */
  readonly cacheDir: string;
  /** Paths, relative to the project folder, whose git status does not make the tree dirty. */
  readonly ignore?: readonly string[];
}

/**
 * Gets a project's code: a git URL is cloned into a fresh checkout at `--version` (deleted by
 * `cleanup()`); a local directory is used in place, with its git state (commit, branch, remote,
 * dirty) when it is inside a work tree.
 *
 * @throws CliError for a missing directory or subdirectory, `--version` on a local directory, or
 *   a clone or checkout that fails.
 */
export async function fetchProjectSource(
  uri: ProjectUri,
  options: FetchSourceOptions,
): Promise<ProjectSource> {
  const suffix = uri.subdirectory === '' ? '' : `#${uri.subdirectory}`;
  if (uri.kind === 'local') {
    if (options.version !== undefined) {
      throw new CliError(
        `--version applies to git URIs only; '${uri.location}' is a local directory (check out the version there, or run its file:// URL)`,
      );
    }
    await requireDirectory(uri.location, `project directory '${uri.location}'`);
    const dir = join(uri.location, ...splitSub(uri.subdirectory));
    await requireDirectory(dir, `subdirectory '${uri.subdirectory}' of '${uri.location}'`);
    const root = await workTreeRoot(dir);
    const git =
      root === undefined ? undefined : await gitState(root, ignoredFromRoot(root, dir, options.ignore));
    const subdirectory = root === undefined ? '' : relative(root, dir).split(sep).join('/');
    return {
      uri,
      dir,
      ...(git === undefined ? {} : { git }),
      subdirectory,
      sourceName: `${pathToFileURL(uri.location).href}${suffix}`,
      fetchUri: root === undefined ? dir : pathToFileURL(root).href,
      cleanup: async () => {},
    };
  }
  const checkout = join(options.cacheDir, 'checkouts', `${Date.now()}-${randomBytes(6).toString('hex')}`);
  await mkdir(join(options.cacheDir, 'checkouts'), { recursive: true });
  const cleanup = () => rm(checkout, { recursive: true, force: true });
  try {
    await cloneAt(uri.location, checkout, options.version);
    const dir = join(checkout, ...splitSub(uri.subdirectory));
    await requireDirectory(
      dir,
      `subdirectory '${uri.subdirectory}' of '${withoutCredentials(uri.location)}'`,
    );
    const state = await gitState(checkout, ignoredFromRoot(checkout, dir, options.ignore));
    // The URL as given, not the clone's remote (which is the same, unless git rewrote it).
    const git = { ...state, repoUrl: withoutCredentials(uri.location) };
    return {
      uri,
      dir,
      git,
      subdirectory: uri.subdirectory,
      sourceName: `${withoutCredentials(uri.location)}${suffix}`,
      fetchUri: withoutCredentials(uri.location),
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function splitSub(subdirectory: string): string[] {
  return subdirectory === '' ? [] : subdirectory.split('/');
}

/** `ignore` paths (relative to the project folder) made relative to the work tree's root. */
function ignoredFromRoot(root: string, dir: string, ignore: readonly string[] = []): string[] {
  return ignore.map((path) => relative(root, join(dir, path)).split(sep).join('/'));
}

async function requireDirectory(path: string, what: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) throw new CliError(`${what} does not exist or is not a directory`);
}
