import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '../cli-error.js';
import { withoutCredentials } from './git.js';
import { loadProject, selectEntryPoint } from './load-project.js';
import { parseProjectUri } from './project-source.js';
import { parseParamList } from './run-flags.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('parseProjectUri', () => {
  it('reads URLs and scp forms as git, the rest as directories resolved against cwd', () => {
    expect(parseProjectUri('file:///srv/repo#projects/churn/', '/home/me')).toEqual({
      kind: 'git',
      location: 'file:///srv/repo',
      subdirectory: 'projects/churn',
    });
    expect(parseProjectUri('https://github.com/org/repo.git', '/x').kind).toBe('git');
    expect(parseProjectUri('git@github.com:org/repo.git#sub', '/x')).toEqual({
      kind: 'git',
      location: 'git@github.com:org/repo.git',
      subdirectory: 'sub',
    });
    expect(parseProjectUri('examples/p#a/b', '/work')).toEqual({
      kind: 'local',
      location: '/work/examples/p',
      subdirectory: 'a/b',
    });
    expect(parseProjectUri('/abs/dir', '/work').location).toBe('/abs/dir');
  });

  it('refuses a subdirectory that climbs out or is absolute', () => {
    expect(() => parseProjectUri('file:///srv/repo#../etc', '/')).toThrow(CliError);
    expect(() => parseProjectUri('dir#/etc', '/')).toThrow("Invalid project subdirectory '/etc'");
    expect(() => parseProjectUri('#sub', '/')).toThrow("nothing before '#'");
  });
});

describe('withoutCredentials', () => {
  it('drops tokens from http(s) URLs and keeps ssh users', () => {
    expect(withoutCredentials('https://me:tok@github.com/a/b.git')).toBe('https://github.com/a/b.git');
    expect(withoutCredentials('https://tok@github.com/a/b.git')).toBe('https://github.com/a/b.git');
    expect(withoutCredentials('ssh://git@github.com/a/b.git')).toBe('ssh://git@github.com/a/b.git');
    expect(withoutCredentials('git@github.com:a/b.git')).toBe('git@github.com:a/b.git');
  });
});

describe('parseParamList', () => {
  it('splits on the first =, keeps the last value of a key, refuses an empty key', () => {
    expect(parseParamList(['a=1', 'expr=x=y', 'a=2', 'empty='])).toEqual({ a: '2', expr: 'x=y', empty: '' });
    expect(() => parseParamList(['=1'])).toThrow("Invalid -P '=1': expected key=value");
    expect(() => parseParamList(['novalue'])).toThrow(CliError);
  });
});

describe('loadProject and selectEntryPoint', () => {
  const project = (files: Record<string, string>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-load-project-'));
    dirs.push(dir);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  };

  it('prefers keel-project.yaml over MLproject, and matches MLproject in any case', async () => {
    const both = project({
      'keel-project.yaml': 'entry_points:\n  main: {command: keel}\n',
      MLproject: 'entry_points:\n  main: {command: mlflow}\n',
    });
    expect((await loadProject(both)).file).toBe('keel-project.yaml');
    const lower = project({ mlproject: 'entry_points:\n  main: {command: lower}\n' });
    const loaded = await loadProject(lower);
    expect(loaded.file).toBe('mlproject');
    expect((await selectEntryPoint(loaded, lower, 'main')).command).toBe('lower');
  });

  it('infers the environment of a directory without a project file, and runs its scripts', async () => {
    const dir = project({ 'python_env.yaml': 'dependencies: []\n', 'train.py': 'print(1)\n' });
    const loaded = await loadProject(dir);
    expect(loaded.spec.environment).toEqual({ kind: 'python_env', file: 'python_env.yaml' });
    expect((await selectEntryPoint(loaded, dir, 'train.py', { python: 'python3' })).command).toBe(
      'python3 train.py',
    );
    await expect(selectEntryPoint(loaded, dir, 'missing.py')).rejects.toThrow(
      "Entry point 'missing.py' is not in the project (it has no project file) and is not a script file of the project",
    );
  });

  it('does not run a script outside the project directory', async () => {
    const outside = project({ 'evil.sh': 'echo no\n' });
    const dir = project({ MLproject: 'entry_points:\n  main: {command: x}\n' });
    symlinkSync(outside, join(dir, 'linked'));
    const loaded = await loadProject(dir);
    await expect(selectEntryPoint(loaded, dir, `../${outside.split('/').at(-1)}/evil.sh`)).rejects.toThrow(
      '(entry points: main) and is not a script file',
    );
  });
});
