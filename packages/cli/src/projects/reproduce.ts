import {
  ENV_MANAGERS,
  type EnvManager,
  PROJECT_BACKENDS,
  PROJECT_SOURCE_TYPE,
  PROJECT_TAGS,
  type ProjectBackend,
  type Run,
} from '@keel/core';
import { CliError } from '../cli-error.js';
import type { ProjectRunRequest } from './project-plan.js';
import { parseProjectUri } from './project-source.js';

/** What `keel runs reproduce` may change about the new run. */
export interface ReproduceOverrides {
  experimentName?: string;
  experimentId?: string;
  runName?: string;
  envManager?: EnvManager;
}

/**
 * The `keel run` request that reproduces `run`: the same project (`keel.project.uri` and
 * subdirectory, else a git URL in `mlflow.source.name`) at the same commit, the same entry point,
 * environment manager and backend, every logged param as `-P`, in the same experiment unless
 * overridden; the new run is tagged `keel.reproducedFrom` = the original's id.
 *
 * @throws CliError naming the difference when the run cannot be reproduced exactly: not a
 *   project run, run from a dirty work tree, or from code outside git (no commit).
 * @example
 * const request = reproductionRequest(await client.getRun(id), {}, process.cwd());
 */
export function reproductionRequest(run: Run, overrides: ReproduceOverrides, cwd: string): ProjectRunRequest {
  const id = run.info.run_id;
  const tags = new Map((run.data.tags ?? []).map((tag) => [tag.key, tag.value]));
  const refuse = (why: string): never => {
    throw new CliError(`run ${id} cannot be reproduced: ${why}`);
  };
  const sourceType = tags.get(PROJECT_TAGS.sourceType);
  if (sourceType !== PROJECT_SOURCE_TYPE) {
    refuse(
      `it was not started from a project (${PROJECT_TAGS.sourceType} is ${sourceType === undefined ? 'not set' : `'${sourceType}'`}, not '${PROJECT_SOURCE_TYPE}')`,
    );
  }
  if (tags.get(PROJECT_TAGS.gitDirty) === 'true') {
    refuse(
      `it ran from a work tree with uncommitted changes (${PROJECT_TAGS.gitDirty} = true), so its code is in no commit`,
    );
  }
  const commit = tags.get(PROJECT_TAGS.gitCommit);
  if (commit === undefined) {
    refuse(
      `it ran from a directory outside git (no ${PROJECT_TAGS.gitCommit} tag), so there is no commit to check out`,
    );
  }
  const uri =
    projectUri(tags, cwd) ??
    refuse(`its tags do not say where the project came from (no ${PROJECT_TAGS.projectUri})`);
  const envManager = overrides.envManager ?? known(ENV_MANAGERS, tags.get(PROJECT_TAGS.env));
  const backend = known(PROJECT_BACKENDS, tags.get(PROJECT_TAGS.backend)) ?? 'local';
  const params = Object.fromEntries((run.data.params ?? []).map((param) => [param.key, param.value]));
  const useOriginalExperiment =
    overrides.experimentId === undefined && overrides.experimentName === undefined;
  return {
    uri,
    version: commit as string,
    entryPoint: tags.get(PROJECT_TAGS.entryPoint) ?? 'main',
    params,
    backend: backend as ProjectBackend,
    cwd,
    relativePathsFrom: 'project',
    tags: { [PROJECT_TAGS.reproducedFrom]: id },
    ...(useOriginalExperiment ? { experimentId: run.info.experiment_id } : {}),
    ...(overrides.experimentId === undefined ? {} : { experimentId: overrides.experimentId }),
    ...(overrides.experimentName === undefined ? {} : { experimentName: overrides.experimentName }),
    ...(overrides.runName === undefined ? {} : { runName: overrides.runName }),
    ...(envManager === undefined ? {} : { envManager: envManager as EnvManager }),
  };
}

/** `keel.project.uri#subdirectory`, else `mlflow.source.name` when it is a git URL (a run of `mlflow run`). */
function projectUri(tags: ReadonlyMap<string, string>, cwd: string): string | undefined {
  const fetchUri = tags.get(PROJECT_TAGS.projectUri);
  if (fetchUri !== undefined) {
    const sub = tags.get(PROJECT_TAGS.projectSubdirectory) ?? '';
    return sub === '' ? fetchUri : `${fetchUri}#${sub}`;
  }
  const name = tags.get(PROJECT_TAGS.sourceName);
  if (name !== undefined && parseProjectUri(name, cwd).kind === 'git') return name;
  return undefined;
}

function known<T extends string>(choices: readonly T[], value: string | undefined): T | undefined {
  return choices.find((choice) => choice === value);
}
