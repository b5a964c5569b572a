import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/** What {@link readGitInfo} finds about the repository a script lives in. */
export interface GitInfo {
  /** The working tree's top folder (the folder holding `.git`). */
  root: string;
  /** The checked-out commit (40 hex digits); absent in a repository without commits. */
  commit?: string;
  /** The checked-out branch; absent on a detached HEAD. */
  branch?: string;
  /** URL of the `origin` remote (else the first remote), with any user name or password removed. */
  repoUrl?: string;
}

/**
 * Finds the git repository containing `startDir` (searching upward for `.git`) and reads its
 * HEAD, refs, `packed-refs` and `config` directly — no git binary needed. Handles `.git` files
 * (`gitdir:` links of worktrees and submodules, with their `commondir`). Returns `undefined`
 * when `startDir` is not inside a repository or the repository cannot be read.
 *
 * @example
 * const git = await readGitInfo(process.cwd());
 * console.log(git?.commit, git?.branch);
 */
export async function readGitInfo(startDir: string): Promise<GitInfo | undefined> {
  try {
    const found = await findGitDir(resolve(startDir));
    if (!found) return undefined;
    const { root, gitDir } = found;
    const commonDir = await readCommonDir(gitDir);
    const head = (await readFile(join(gitDir, 'HEAD'), 'utf8')).trim();
    const info: GitInfo = { root };
    const symbolic = /^ref:\s*(\S+)$/.exec(head);
    if (symbolic) {
      const ref = symbolic[1] as string;
      if (ref.startsWith('refs/heads/')) info.branch = ref.slice('refs/heads/'.length);
      const commit = await resolveRef(ref, gitDir, commonDir);
      if (commit) info.commit = commit;
    } else if (/^[0-9a-f]{40,64}$/i.test(head)) {
      info.commit = head.toLowerCase();
    }
    const repoUrl = await readRemoteUrl(commonDir);
    if (repoUrl) info.repoUrl = repoUrl;
    return info;
  } catch {
    return undefined;
  }
}

async function findGitDir(start: string): Promise<{ root: string; gitDir: string } | undefined> {
  for (let dir = start; ; ) {
    const candidate = join(dir, '.git');
    const info = await stat(candidate).catch(() => undefined);
    if (info?.isDirectory()) return { root: dir, gitDir: candidate };
    if (info?.isFile()) {
      const text = await readFile(candidate, 'utf8');
      const link = /^gitdir:\s*(.+)$/m.exec(text)?.[1]?.trim();
      if (link) return { root: dir, gitDir: isAbsolute(link) ? link : resolve(dir, link) };
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** A worktree's git dir names the shared one (refs, packed-refs, config) in `commondir`. */
async function readCommonDir(gitDir: string): Promise<string> {
  const text = await readFile(join(gitDir, 'commondir'), 'utf8').catch(() => undefined);
  if (text === undefined) return gitDir;
  const link = text.trim();
  return isAbsolute(link) ? link : resolve(gitDir, link);
}

async function resolveRef(
  ref: string,
  gitDir: string,
  commonDir: string,
  depth = 0,
): Promise<string | undefined> {
  if (depth > 5) return undefined;
  for (const dir of gitDir === commonDir ? [gitDir] : [gitDir, commonDir]) {
    const text = await readFile(join(dir, ...ref.split('/')), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const value = text.trim();
    const symbolic = /^ref:\s*(\S+)$/.exec(value);
    if (symbolic) return resolveRef(symbolic[1] as string, gitDir, commonDir, depth + 1);
    if (/^[0-9a-f]{40,64}$/i.test(value)) return value.toLowerCase();
  }
  const packed = await readFile(join(commonDir, 'packed-refs'), 'utf8').catch(() => '');
  for (const line of packed.split('\n')) {
    const match = /^([0-9a-f]{40,64}) (\S+)$/i.exec(line.trim());
    if (match && match[2] === ref) return (match[1] as string).toLowerCase();
  }
  return undefined;
}

/** `remote.origin.url`, else the first remote's url, from the repository's `config`. */
async function readRemoteUrl(commonDir: string): Promise<string | undefined> {
  const text = await readFile(join(commonDir, 'config'), 'utf8').catch(() => '');
  const remotes: { name: string; url?: string }[] = [];
  let current: { name: string; url?: string } | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*([^\s\]"]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]$/.exec(line);
    if (section) {
      current =
        section[1]?.toLowerCase() === 'remote' && section[2] !== undefined ? { name: section[2] } : undefined;
      if (current) remotes.push(current);
      continue;
    }
    const entry = /^([A-Za-z][\w-]*)\s*=\s*(.*)$/.exec(line);
    if (current && entry && entry[1]?.toLowerCase() === 'url' && current.url === undefined) {
      current.url = unquote(entry[2] ?? '');
    }
  }
  const remote = remotes.find((r) => r.name === 'origin' && r.url) ?? remotes.find((r) => r.url);
  return remote?.url === undefined ? undefined : withoutCredentials(remote.url);
}

function unquote(value: string): string {
  const trimmed = value.replace(/\s+[#;].*$/, '').trim();
  if (trimmed.startsWith('"') && trimmed.endsWith('"') && trimmed.length >= 2) {
    return trimmed.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return trimmed;
}

/**
 * A URL without a password or token (`https://user:token@host/…` → `https://host/…`), so that a
 * token never ends up in a run's tags or a message. The user of an `ssh://git@host/…` URL is not a
 * secret and stays. Other strings come back unchanged.
 *
 * @example withoutCredentials('https://x:tok@github.com/a/b.git'); // 'https://github.com/a/b.git'
 */
export function withoutCredentials(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  try {
    const parsed = new URL(url);
    const http = parsed.protocol === 'http:' || parsed.protocol === 'https:';
    if (parsed.password === '' && (!http || parsed.username === '')) return url;
    if (http) parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return url;
  }
}
