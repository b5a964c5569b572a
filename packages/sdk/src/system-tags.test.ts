import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectSystemTags, findLockfile, readGitInfo } from './index.js';

const COMMIT_A = 'a'.repeat(40);
const COMMIT_B = '0123456789abcdef0123456789abcdef01234567';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'keel-sdk-git-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes files below `dir`, creating folders. */
function write(files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, content);
  }
}

const CONFIG = `[core]
\trepositoryformatversion = 0
[remote "upstream"]
\turl = https://example.com/upstream.git
[remote "origin"]
\turl = https://ci-bot:s3cr3t@github.com/acme/churn.git
\tfetch = +refs/heads/*:refs/remotes/origin/*
[branch "main"]
\tremote = origin
`;

describe('readGitInfo (hand-made repositories, no git binary)', () => {
  it('reads branch, commit from a loose ref, and the origin URL without credentials', async () => {
    write({
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.git/refs/heads/main': `${COMMIT_A}\n`,
      '.git/config': CONFIG,
      'src/train/train.ts': '',
    });
    expect(await readGitInfo(join(dir, 'src', 'train'))).toEqual({
      root: dir,
      branch: 'main',
      commit: COMMIT_A,
      repoUrl: 'https://github.com/acme/churn.git',
    });
  });

  it('finds a commit in packed-refs, for a branch with a slash', async () => {
    write({
      '.git/HEAD': 'ref: refs/heads/feature/x\n',
      '.git/packed-refs': `# pack-refs with: peeled fully-peeled sorted\n${COMMIT_A} refs/heads/main\n${COMMIT_B} refs/heads/feature/x\n`,
      '.git/config': '[remote "fork"]\n\turl = git@github.com:me/churn.git\n',
    });
    expect(await readGitInfo(dir)).toEqual({
      root: dir,
      branch: 'feature/x',
      commit: COMMIT_B,
      repoUrl: 'git@github.com:me/churn.git',
    });
  });

  it('reads a detached HEAD (no branch)', async () => {
    write({ '.git/HEAD': `${COMMIT_B}\n`, '.git/config': '' });
    expect(await readGitInfo(dir)).toEqual({ root: dir, commit: COMMIT_B });
  });

  it('has a branch but no commit in a repository without commits', async () => {
    write({ '.git/HEAD': 'ref: refs/heads/main\n' });
    expect(await readGitInfo(dir)).toEqual({ root: dir, branch: 'main' });
  });

  it('follows a .git file (worktree) to its git dir and commondir', async () => {
    write({
      'main/.git/HEAD': 'ref: refs/heads/main\n',
      'main/.git/refs/heads/main': `${COMMIT_A}\n`,
      'main/.git/refs/heads/wt': `${COMMIT_B}\n`,
      'main/.git/config': CONFIG,
      'main/.git/worktrees/wt/HEAD': 'ref: refs/heads/wt\n',
      'main/.git/worktrees/wt/commondir': '../..\n',
      'wt/.git': `gitdir: ${join(dir, 'main', '.git', 'worktrees', 'wt')}\n`,
    });
    expect(await readGitInfo(join(dir, 'wt'))).toEqual({
      root: join(dir, 'wt'),
      branch: 'wt',
      commit: COMMIT_B,
      repoUrl: 'https://github.com/acme/churn.git',
    });
  });

  it('answers undefined outside a repository', async () => {
    // tmpdir() itself is not inside a repository on these machines; check a fresh folder there.
    expect(await readGitInfo(dir)).toBeUndefined();
  });

  it('agrees with git itself on a real repository', async () => {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'trunk');
    git('config', 'user.email', 't@example.com');
    git('config', 'user.name', 'T');
    git('remote', 'add', 'origin', 'https://example.com/acme/repo.git');
    writeFileSync(join(dir, 'a.txt'), 'a');
    git('add', 'a.txt');
    git('commit', '-q', '-m', 'first');
    git('pack-refs', '--all');
    writeFileSync(join(dir, 'b.txt'), 'b');
    git('add', 'b.txt');
    git('commit', '-q', '-m', 'second');
    const info = await readGitInfo(dir);
    expect(info).toEqual({
      root: dir,
      branch: 'trunk',
      commit: git('rev-parse', 'HEAD'),
      repoUrl: 'https://example.com/acme/repo.git',
    });
    git('checkout', '-q', '--detach', 'HEAD~1');
    expect(await readGitInfo(dir)).toEqual({
      root: dir,
      commit: git('rev-parse', 'HEAD'),
      repoUrl: 'https://example.com/acme/repo.git',
    });
  });
});

describe('collectSystemTags', () => {
  it('records source, git and lockfile of the entry script', async () => {
    const lock = '{"lockfileVersion":3}\n';
    write({
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.git/refs/heads/main': `${COMMIT_A}\n`,
      '.git/config': CONFIG,
      'project/package-lock.json': lock,
      'project/src/train.js': '',
    });
    const entry = join(dir, 'project', 'src', 'train.js');
    const tags = await collectSystemTags({ entry, cwd: tmpdir(), env: {} });
    expect(tags).toMatchObject({
      'mlflow.source.name': entry,
      'mlflow.source.type': 'LOCAL',
      'mlflow.source.git.commit': COMMIT_A,
      'mlflow.source.git.branch': 'main',
      'mlflow.source.git.repoURL': 'https://github.com/acme/churn.git',
      'keel.env.node': process.version,
      'keel.env.lockfile': 'package-lock.json',
      'keel.env.lockfileHash': createHash('sha256').update(lock).digest('hex'),
    });
    expect(tags['mlflow.user']).toEqual(expect.any(String));
  });

  it('falls back to the working directory and leaves out what it cannot find', async () => {
    write({ 'work/pnpm-lock.yaml': 'lockfileVersion: 9\n' });
    const tags = await collectSystemTags({ entry: undefined, cwd: join(dir, 'work'), env: {} });
    expect(tags).not.toHaveProperty('mlflow.source.name');
    expect(tags).not.toHaveProperty('mlflow.source.git.commit');
    expect(tags['keel.env.lockfile']).toBe('pnpm-lock.yaml');
  });

  it('finds the nearest lockfile upward, preferring package-lock.json within a folder', async () => {
    write({ 'a/yarn.lock': 'y', 'a/package-lock.json': 'p', 'a/b/c/x.js': '' });
    const found = await findLockfile([join(dir, 'a', 'b', 'c')]);
    expect(found?.path).toBe(join(dir, 'a', 'package-lock.json'));
    expect(found?.sha256).toBe(createHash('sha256').update('p').digest('hex'));
    expect(await findLockfile([dir])).toBeUndefined();
  });
});
