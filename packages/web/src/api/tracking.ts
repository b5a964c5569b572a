/**
 * Typed calls of MLflow's tracking RPCs the pages use. Entity types come from `@keel/core`, the same
 * ones the server sends, so a wire change breaks the UI's type check, not its users.
 */
import type { Experiment, Run } from '@keel/core';
import { mlflowGet, mlflowPost } from './client';

/** One page of `experiments/search`. */
export interface ExperimentPage {
  experiments: Experiment[];
  /** Absent on the last page. */
  nextPageToken: string | undefined;
}

/** What {@link searchExperiments} sends (MLflow's `experiments/search` fields). */
export interface SearchExperimentsOptions {
  filter?: string;
  orderBy?: readonly string[];
  maxResults?: number;
  pageToken?: string;
}

/** `experiments/search`: one page of active experiments. */
export async function searchExperiments(
  options: SearchExperimentsOptions,
  signal?: AbortSignal,
): Promise<ExperimentPage> {
  const answer = await mlflowPost<{ experiments?: Experiment[]; next_page_token?: string }>(
    'experiments/search',
    {
      max_results: options.maxResults ?? 100,
      ...(options.filter ? { filter: options.filter } : {}),
      ...(options.orderBy ? { order_by: options.orderBy } : {}),
      ...(options.pageToken ? { page_token: options.pageToken } : {}),
    },
    signal,
  );
  return { experiments: answer.experiments ?? [], nextPageToken: answer.next_page_token || undefined };
}

/** `experiments/get`. */
export async function getExperiment(experimentId: string, signal?: AbortSignal): Promise<Experiment> {
  const answer = await mlflowGet<{ experiment: Experiment }>(
    'experiments/get',
    { experiment_id: experimentId },
    signal,
  );
  return answer.experiment;
}

/** One page of `runs/search`. */
export interface RunPage {
  runs: Run[];
  /** Absent on the last page. */
  nextPageToken: string | undefined;
}

/** What {@link searchRuns} sends (MLflow's `runs/search` fields). */
export interface SearchRunsOptions {
  experimentIds: readonly string[];
  /** MLflow's filter grammar, e.g. `metrics.acc > 0.5 AND params.lr = '0.01'`. */
  filter?: string;
  /** e.g. `['metrics.acc DESC']`. */
  orderBy?: readonly string[];
  /** @default 500 */
  maxResults?: number;
  pageToken?: string;
}

/** `runs/search`: one page of active runs. */
export async function searchRuns(options: SearchRunsOptions, signal?: AbortSignal): Promise<RunPage> {
  const answer = await mlflowPost<{ runs?: Run[]; next_page_token?: string }>(
    'runs/search',
    {
      experiment_ids: options.experimentIds,
      max_results: options.maxResults ?? 500,
      ...(options.filter ? { filter: options.filter } : {}),
      ...(options.orderBy && options.orderBy.length > 0 ? { order_by: options.orderBy } : {}),
      ...(options.pageToken ? { page_token: options.pageToken } : {}),
    },
    signal,
  );
  return { runs: answer.runs ?? [], nextPageToken: answer.next_page_token || undefined };
}
