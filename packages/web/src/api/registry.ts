/**
 * Typed calls of MLflow's model-registry RPCs the registry pages use (docs/registry.md). Entity
 * types come from `@keel/core`, the ones the server sends.
 */
import type { ModelVersion, RegisteredModel } from '@keel/core';
import { apiRequest, MLFLOW_API, mlflowGet, mlflowPost } from './client';

/** One page of `registered-models/search`. */
export interface RegisteredModelPage {
  models: RegisteredModel[];
  /** Absent on the last page. */
  nextPageToken: string | undefined;
}

/** What {@link searchRegisteredModels} sends. */
export interface SearchRegisteredModelsOptions {
  /** e.g. `name ILIKE '%churn%'`. */
  filter?: string;
  orderBy?: readonly string[];
  /** @default 100 */
  maxResults?: number;
  pageToken?: string;
}

/** `registered-models/search`: one page of registered models. */
export async function searchRegisteredModels(
  options: SearchRegisteredModelsOptions,
  signal?: AbortSignal,
): Promise<RegisteredModelPage> {
  const answer = await mlflowGet<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(
    'registered-models/search',
    {
      max_results: options.maxResults ?? 100,
      filter: options.filter || undefined,
      order_by: options.orderBy,
      page_token: options.pageToken || undefined,
    },
    signal,
  );
  return { models: answer.registered_models ?? [], nextPageToken: answer.next_page_token || undefined };
}

/** `registered-models/get`. */
export async function getRegisteredModel(name: string, signal?: AbortSignal): Promise<RegisteredModel> {
  const answer = await mlflowGet<{ registered_model: RegisteredModel }>(
    'registered-models/get',
    { name },
    signal,
  );
  return answer.registered_model;
}

/** `model-versions/search` for every version of one model, newest first (up to `maxResults`). */
export async function listModelVersions(
  name: string,
  options: { maxResults?: number } = {},
  signal?: AbortSignal,
): Promise<ModelVersion[]> {
  const answer = await mlflowGet<{ model_versions?: ModelVersion[] }>(
    'model-versions/search',
    {
      filter: `name = '${name.replaceAll("'", "''")}'`,
      order_by: ['version_number DESC'],
      max_results: options.maxResults ?? 1000,
    },
    signal,
  );
  return answer.model_versions ?? [];
}

/** `model-versions/get`. */
export async function getModelVersion(
  name: string,
  version: string,
  signal?: AbortSignal,
): Promise<ModelVersion> {
  const answer = await mlflowGet<{ model_version: ModelVersion }>(
    'model-versions/get',
    { name, version },
    signal,
  );
  return answer.model_version;
}

/** `registered-models/alias` POST: points `alias` at `version`, moving it from any other version. */
export async function setModelAlias(name: string, alias: string, version: string): Promise<void> {
  await mlflowPost('registered-models/alias', { name, alias, version });
}

/** `registered-models/alias` DELETE: removes `alias` (removing a missing one is not an error). */
export async function deleteModelAlias(name: string, alias: string): Promise<void> {
  await apiRequest(`${MLFLOW_API}/registered-models/alias`, { method: 'DELETE', body: { name, alias } });
}

/** `model-versions/update`: sets a version's description (`''` clears it). */
export async function updateModelVersionDescription(
  name: string,
  version: string,
  description: string,
): Promise<ModelVersion> {
  const answer = await apiRequest<{ model_version: ModelVersion }>(`${MLFLOW_API}/model-versions/update`, {
    method: 'PATCH',
    body: { name, version, description },
  });
  return answer.model_version;
}
