import type { Run } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { commitUrl, runDurationMs, splitTags, summarizeRun } from './run-summary';

function run(tags: Record<string, string>, info: Partial<Run['info']> = {}): Run {
  return {
    info: {
      run_id: 'r1',
      run_uuid: 'r1',
      run_name: 'r',
      experiment_id: '1',
      user_id: 'from-info',
      status: 'FINISHED',
      start_time: 1000,
      end_time: 61_000,
      artifact_uri: 'mlflow-artifacts:/1/r1/artifacts',
      lifecycle_stage: 'active',
      ...info,
    },
    data: { tags: Object.entries(tags).map(([key, value]) => ({ key, value })) },
    inputs: {},
    outputs: {},
  };
}

describe('summarizeRun', () => {
  it('reads the source, git commit, parent and note from system tags', () => {
    const summary = summarizeRun(
      run({
        'mlflow.user': 'ada',
        'mlflow.source.name': 'train.py',
        'mlflow.source.type': 'LOCAL',
        'mlflow.source.git.commit': 'abc1234',
        'mlflow.source.git.repoURL': 'https://github.com/acme/churn.git',
        'mlflow.parentRunId': 'p1',
        'mlflow.note.content': 'first try',
      }),
    );
    expect(summary).toEqual({
      user: 'ada',
      sourceName: 'train.py',
      sourceType: 'LOCAL',
      gitCommit: 'abc1234',
      gitRepoUrl: 'https://github.com/acme/churn.git',
      gitBranch: undefined,
      parentRunId: 'p1',
      note: 'first try',
    });
  });

  it("falls back to the run's user_id and leaves absent tags undefined", () => {
    const summary = summarizeRun(run({ 'mlflow.source.name': '' }));
    expect(summary.user).toBe('from-info');
    expect(summary.sourceName).toBeUndefined();
    expect(summary.parentRunId).toBeUndefined();
  });
});

describe('splitTags', () => {
  it('separates mlflow.* system tags from user tags, sorted by key', () => {
    const { system, user } = splitTags([
      { key: 'team', value: 'growth' },
      { key: 'mlflow.user', value: 'ada' },
      { key: 'dataset', value: 'v2' },
      { key: 'mlflow.runName', value: 'r' },
    ]);
    expect(system.map((t) => t.key)).toEqual(['mlflow.runName', 'mlflow.user']);
    expect(user.map((t) => t.key)).toEqual(['dataset', 'team']);
  });
});

describe('commitUrl', () => {
  it('links commits on known hosts, in https and ssh forms', () => {
    expect(commitUrl('https://github.com/acme/churn.git', 'abc1234')).toBe(
      'https://github.com/acme/churn/commit/abc1234',
    );
    expect(commitUrl('git@gitlab.com:group/sub/proj.git', 'abc1234')).toBe(
      'https://gitlab.com/group/sub/proj/commit/abc1234',
    );
    expect(commitUrl('git@bitbucket.org:team/repo.git', 'abc1234')).toBe(
      'https://bitbucket.org/team/repo/commits/abc1234',
    );
  });

  it('gives no link for unknown hosts or odd commits', () => {
    expect(commitUrl('https://git.internal/acme/churn', 'abc1234')).toBeUndefined();
    expect(commitUrl('https://github.com/acme/churn', 'not a sha')).toBeUndefined();
    expect(commitUrl(undefined, 'abc1234')).toBeUndefined();
  });
});

describe('runDurationMs', () => {
  it('is end − start, now − start while running, unknown otherwise', () => {
    expect(runDurationMs(run({}), 0)).toBe(60_000);
    expect(runDurationMs(run({}, { status: 'RUNNING', end_time: 0 }), 31_000)).toBe(30_000);
    expect(runDurationMs(run({}, { status: 'FAILED', end_time: 0 }), 31_000)).toBeUndefined();
  });
});
