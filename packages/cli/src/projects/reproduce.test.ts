import type { Run } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { reproductionRequest } from './reproduce.js';

function run(tags: Record<string, string>, params: Record<string, string> = {}): Run {
  return {
    info: {
      run_id: 'r1',
      run_uuid: 'r1',
      run_name: 'orig',
      experiment_id: '7',
      status: 'FINISHED',
      start_time: 1,
      artifact_uri: 'mlflow-artifacts:/7/r1/artifacts',
      lifecycle_stage: 'active',
    },
    data: {
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      params: Object.entries(params).map(([key, value]) => ({ key, value })),
    },
    inputs: {},
    outputs: {},
  } as unknown as Run;
}

const PROJECT_RUN = {
  'mlflow.source.type': 'PROJECT',
  'mlflow.source.name': 'file:///repo#sub',
  'mlflow.source.git.commit': 'c0ffee',
  'mlflow.project.entryPoint': 'train',
  'mlflow.project.env': 'node',
  'mlflow.project.backend': 'local',
  'keel.source.git.dirty': 'false',
  'keel.project.uri': 'file:///repo',
  'keel.project.subdirectory': 'sub',
};

describe('reproductionRequest', () => {
  it('asks for the same source, commit, entry point, env and params, in the same experiment', () => {
    expect(reproductionRequest(run(PROJECT_RUN, { alpha: '0.5', data: 'data/x.csv' }), {}, '/cwd')).toEqual({
      uri: 'file:///repo#sub',
      version: 'c0ffee',
      entryPoint: 'train',
      params: { alpha: '0.5', data: 'data/x.csv' },
      backend: 'local',
      envManager: 'node',
      experimentId: '7',
      cwd: '/cwd',
      relativePathsFrom: 'project',
      tags: { 'keel.reproducedFrom': 'r1' },
    });
  });

  it('takes overrides, and a git mlflow.source.name from `mlflow run` when Keel tags are absent', () => {
    const request = reproductionRequest(
      run({
        'mlflow.source.type': 'PROJECT',
        'mlflow.source.name': 'https://github.com/org/repo.git#examples/x',
        'mlflow.source.git.commit': 'abc',
      }),
      { experimentName: 'other', runName: 'again', envManager: 'local' },
      '/',
    );
    expect(request).toMatchObject({
      uri: 'https://github.com/org/repo.git#examples/x',
      version: 'abc',
      entryPoint: 'main',
      experimentName: 'other',
      runName: 'again',
      envManager: 'local',
    });
    expect(request.experimentId).toBeUndefined();
  });

  it.each([
    [
      { 'mlflow.source.type': 'LOCAL' },
      "it was not started from a project (mlflow.source.type is 'LOCAL', not 'PROJECT')",
    ],
    [
      { ...PROJECT_RUN, 'keel.source.git.dirty': 'true' },
      'uncommitted changes (keel.source.git.dirty = true)',
    ],
    [
      { 'mlflow.source.type': 'PROJECT', 'keel.project.uri': '/dir' },
      'outside git (no mlflow.source.git.commit tag)',
    ],
    [
      {
        'mlflow.source.type': 'PROJECT',
        'mlflow.source.git.commit': 'abc',
        'mlflow.source.name': '/local/dir',
      },
      'its tags do not say where the project came from (no keel.project.uri)',
    ],
  ])('refuses %j naming the difference', (tags, message) => {
    expect(() => reproductionRequest(run(tags), {}, '/')).toThrow('run r1 cannot be reproduced: ');
    expect(() => reproductionRequest(run(tags), {}, '/')).toThrow(message);
  });
});
