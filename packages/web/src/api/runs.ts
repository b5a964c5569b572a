/**
 * Typed calls the run page makes: one run, its children, and the registered model versions made
 * from it. Entity types come from `@keel/core`, the same ones the server sends.
 */
import type { ModelVersion, Run } from '@keel/core';
import { mlflowGet, mlflowPost } from './client';

/** `runs/get`: the run with its params, latest metrics, tags and inputs. */
export async function getRun(runId: string, signal?: AbortSignal): Promise<Run> {
  const answer = await mlflowGet<{ run: Run }>('runs/get', { run_id: runId }, signal);
  return answer.run;
}

/** The most child runs the run page lists. */
export const MAX_CHILD_RUNS = 1000;

/** What {@link searchChildRuns} returns. */
export interface ChildRuns {
  runs: Run[];
  /** More children exist than {@link MAX_CHILD_RUNS}. */
  more: boolean;
}

/**
 * `runs/search` for the runs whose `mlflow.parentRunId` tag names `runId`, in the parent's
 * experiment (where MLflow's clients create children), oldest first.
 */
export async function searchChildRuns(
  experimentId: string,
  runId: string,
  signal?: AbortSignal,
): Promise<ChildRuns> {
  const answer = await mlflowPost<{ runs?: Run[]; next_page_token?: string }>(
    'runs/search',
    {
      experiment_ids: [experimentId],
      filter: `tags.mlflow.parentRunId = '${quoted(runId)}'`,
      order_by: ['attributes.start_time ASC'],
      max_results: MAX_CHILD_RUNS,
    },
    signal,
  );
  return { runs: answer.runs ?? [], more: Boolean(answer.next_page_token) };
}

/** `model-versions/search` with `run_id = '<id>'`: the registered versions made from a run. */
export async function searchModelVersionsOfRun(runId: string, signal?: AbortSignal): Promise<ModelVersion[]> {
  const answer = await mlflowGet<{ model_versions?: ModelVersion[] }>(
    'model-versions/search',
    { filter: `run_id = '${quoted(runId)}'`, max_results: 1000 },
    signal,
  );
  return answer.model_versions ?? [];
}

/** Escapes a value for a single-quoted string of MLflow's filter grammar. */
function quoted(value: string): string {
  return value.replaceAll("'", "\\'");
}
