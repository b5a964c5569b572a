/**
 * What the run page reads from a run's tags: MLflow clients record the user, the source and its git
 * commit, the parent run and a description as `mlflow.*` system tags. Pure and unit-tested.
 */
import type { KeyValue, Run } from '@keel/core';

/** Facts about a run that MLflow keeps in system tags. */
export interface RunSummary {
  /** `mlflow.user`, else the run's `user_id`; `''` when neither is set. */
  user: string;
  /** `mlflow.source.name`: the script, notebook or project that ran. */
  sourceName: string | undefined;
  /** `mlflow.source.type`: `LOCAL`, `NOTEBOOK`, `PROJECT`, `JOB`… */
  sourceType: string | undefined;
  /** `mlflow.source.git.commit`. */
  gitCommit: string | undefined;
  /** `mlflow.source.git.repoURL` (or the older `mlflow.gitRepoURL`). */
  gitRepoUrl: string | undefined;
  /** `mlflow.source.git.branch`. */
  gitBranch: string | undefined;
  /** `mlflow.parentRunId`. */
  parentRunId: string | undefined;
  /** `mlflow.note.content`: the run's description (Markdown in MLflow's UI; shown as text here). */
  note: string | undefined;
}

/** The tag prefix of MLflow's system tags. */
export const SYSTEM_TAG_PREFIX = 'mlflow.';

/** Reads {@link RunSummary} from a run. */
export function summarizeRun(run: Run): RunSummary {
  const tags = new Map((run.data.tags ?? []).map((tag) => [tag.key, tag.value]));
  const tag = (key: string) => {
    const value = tags.get(key);
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    user: tag('mlflow.user') ?? run.info.user_id ?? '',
    sourceName: tag('mlflow.source.name'),
    sourceType: tag('mlflow.source.type'),
    gitCommit: tag('mlflow.source.git.commit'),
    gitRepoUrl: tag('mlflow.source.git.repoURL') ?? tag('mlflow.gitRepoURL'),
    gitBranch: tag('mlflow.source.git.branch'),
    parentRunId: tag('mlflow.parentRunId'),
    note: tag('mlflow.note.content'),
  };
}

/** A run's tags split into MLflow's system tags (`mlflow.*`) and the user's, each sorted by key. */
export function splitTags(tags: readonly KeyValue[] | undefined): { system: KeyValue[]; user: KeyValue[] } {
  const sorted = [...(tags ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  return {
    system: sorted.filter((tag) => tag.key.startsWith(SYSTEM_TAG_PREFIX)),
    user: sorted.filter((tag) => !tag.key.startsWith(SYSTEM_TAG_PREFIX)),
  };
}

/**
 * A web link for a git commit when the repository URL is on a host with a known commit page
 * (GitHub, GitLab, Bitbucket; `git@host:owner/repo.git` and `https://…` forms); `undefined` otherwise.
 *
 * @example
 * commitUrl('git@github.com:acme/churn.git', 'a1b2c3'); // 'https://github.com/acme/churn/commit/a1b2c3'
 */
export function commitUrl(repoUrl: string | undefined, commit: string | undefined): string | undefined {
  if (repoUrl === undefined || commit === undefined || !/^[0-9a-f]{7,64}$/i.test(commit)) return undefined;
  const match = /^(?:https?:\/\/|git@|ssh:\/\/git@)([^/:]+)[/:](.+?)(?:\.git)?\/?$/.exec(repoUrl.trim());
  if (match === null) return undefined;
  const [, host = '', repo = ''] = match;
  if (host === 'github.com' || host === 'gitlab.com') return `https://${host}/${repo}/commit/${commit}`;
  if (host === 'bitbucket.org') return `https://${host}/${repo}/commits/${commit}`;
  return undefined;
}

/** A run's length in ms: end − start, or now − start while it runs; `undefined` when unknown. */
export function runDurationMs(run: Run, now: number): number | undefined {
  const { start_time: start, end_time: end, status } = run.info;
  if (!start) return undefined;
  if (end !== undefined && end > 0) return end - start;
  return status === 'RUNNING' ? now - start : undefined;
}
