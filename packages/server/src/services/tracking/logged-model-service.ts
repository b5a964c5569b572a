import { randomBytes } from 'node:crypto';
import { invalidParameter, LOGGED_MODEL_SEARCH_SCHEMA, notFound } from '@keel/core';
import type { ArtifactObject } from '../../artifacts/artifact-store.js';
import type { Actor } from '../../changes/change.js';
import { LoggedModelStore, type StoredLoggedModel } from '../../store/logged-model-store.js';
import type { KeyValueRow } from '../../store/schema.js';
import type { ArtifactService, RunFileInfo } from '../artifact-service.js';
import type { Clock } from '../clock.js';
import { searchPage } from '../search-page.js';
import type { ExperimentService } from './experiment-service.js';
import { generateRunName } from './run-names.js';

/** MLflow's LoggedModelStatus, in proto order from 1 (PENDING=1, READY=2, UPLOAD_FAILED=3). */
export const LOGGED_MODEL_STATUSES = [
  'LOGGED_MODEL_PENDING',
  'LOGGED_MODEL_READY',
  'LOGGED_MODEL_UPLOAD_FAILED',
] as const;

/** One of {@link LOGGED_MODEL_STATUSES}. */
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];

/** MLflow's LoggedModel message as it goes on the wire. */
export interface LoggedModelMessage {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    creation_timestamp_ms: number;
    last_updated_timestamp_ms: number;
    artifact_uri: string;
    status: string;
    status_message?: string;
    model_type?: string;
    source_run_id?: string;
    tags: KeyValueRow[];
  };
  /** `metrics` is always empty: Keel's metrics carry no model id (see docs/tracking.md). */
  data: { params: KeyValueRow[]; metrics: never[] };
}

/** What `logged-models` create takes. */
export interface CreateLoggedModelInput {
  experimentId: string;
  name?: string;
  modelType?: string;
  sourceRunId?: string;
  params: readonly KeyValueRow[];
  tags: readonly KeyValueRow[];
}

/** What `logged-models/search` takes; `orderBy` entries are MLflow's `{field_name, ascending}`. */
export interface SearchLoggedModelsInput {
  experimentIds: readonly string[];
  filter?: string;
  orderBy?: readonly { field_name: string; ascending?: boolean }[];
  maxResults?: number;
  pageToken?: string;
}

/** Everything the logged-model service needs. */
export interface LoggedModelServiceOptions {
  store: LoggedModelStore;
  experiments: ExperimentService;
  artifacts: ArtifactService;
  clock: Clock;
}

/**
 * The rules of MLflow 3 logged models (mlflow-compat.md §1.7): ids `m-<32 hex>`, a generated
 * name when none is given, artifacts under `<experiment artifact location>/models/<id>/artifacts`,
 * PENDING until finalized, soft deletion.
 */
export class LoggedModelService {
  constructor(private readonly options: LoggedModelServiceOptions) {}

  async create(input: CreateLoggedModelInput, actor: Actor): Promise<LoggedModelMessage> {
    const experiment = await this.options.experiments.get(input.experimentId);
    if (experiment.lifecycleStage !== 'active') {
      throw invalidParameter(
        `The experiment ${input.experimentId} must be in the 'active' state. Current state is ${experiment.lifecycleStage}.`,
      );
    }
    const modelId = `m-${randomBytes(16).toString('hex')}`;
    const now = this.options.clock();
    const model: StoredLoggedModel = {
      row: {
        model_id: modelId,
        experiment_id: experiment.experimentId,
        name: input.name === undefined || input.name === '' ? generateRunName() : input.name,
        artifact_location: `${experiment.artifactLocation.replace(/\/+$/, '')}/models/${modelId}/artifacts`,
        creation_timestamp_ms: now,
        last_updated_timestamp_ms: now,
        status: 'LOGGED_MODEL_PENDING',
        status_message: null,
        model_type: input.modelType ?? null,
        source_run_id: input.sourceRunId ?? null,
        lifecycle_stage: 'active',
      },
      tags: [...input.tags],
      params: [...input.params],
    };
    const message = toMessage(model);
    await this.options.store.insert(model, actor, message);
    return message;
  }

  async get(modelId: string): Promise<LoggedModelMessage> {
    return toMessage(await this.require(modelId));
  }

  /** Sets the status (MLflow's finalize). */
  async finalize(modelId: string, status: LoggedModelStatus, actor: Actor): Promise<LoggedModelMessage> {
    await this.change(modelId, actor, 'logged_model.finalized', { status }, (trx) =>
      LoggedModelStore.setStatus(trx, modelId, status),
    );
    return this.get(modelId);
  }

  async delete(modelId: string, actor: Actor): Promise<void> {
    await this.change(modelId, actor, 'logged_model.deleted', undefined, (trx) =>
      LoggedModelStore.markDeleted(trx, modelId),
    );
  }

  async setTags(modelId: string, tags: readonly KeyValueRow[], actor: Actor): Promise<LoggedModelMessage> {
    await this.change(modelId, actor, 'logged_model_tag.set', { tags }, (trx) =>
      LoggedModelStore.setEntries(trx, 'logged_model_tags', modelId, tags),
    );
    return this.get(modelId);
  }

  async deleteTag(modelId: string, key: string, actor: Actor): Promise<void> {
    await this.change(modelId, actor, 'logged_model_tag.deleted', { key }, async (trx) => {
      // Thrown inside the transaction, so nothing is recorded.
      if (!(await LoggedModelStore.deleteTag(trx, modelId, key))) {
        throw notFound(`No tag with key '${key}' found for model with ID '${modelId}'.`);
      }
    });
  }

  async logParams(modelId: string, params: readonly KeyValueRow[], actor: Actor): Promise<void> {
    await this.change(modelId, actor, 'logged_model_param.logged', { params }, (trx) =>
      LoggedModelStore.setEntries(trx, 'logged_model_params', modelId, params),
    );
  }

  /** One page of active models of the experiments; newest first unless `orderBy` says otherwise. */
  async search(
    input: SearchLoggedModelsInput,
  ): Promise<{ models: LoggedModelMessage[]; nextPageToken?: string }> {
    const experimentIds = input.experimentIds.map((id) => {
      const numeric = Number(id);
      if (!/^\d+$/.test(id) || !Number.isSafeInteger(numeric)) {
        throw invalidParameter(`Invalid value '${id}' for parameter 'experiment_ids'`);
      }
      return numeric;
    });
    const orderBy = (input.orderBy ?? []).map(
      (o) => `${o.field_name} ${o.ascending === false ? 'DESC' : 'ASC'}`,
    );
    const page = await searchPage(
      {
        ...(input.filter !== undefined ? { filter: input.filter } : {}),
        orderBy,
        ...(input.maxResults !== undefined ? { maxResults: input.maxResults } : {}),
        ...(input.pageToken !== undefined ? { pageToken: input.pageToken } : {}),
      },
      { schema: LOGGED_MODEL_SEARCH_SCHEMA, defaultMax: 50, max: 50 },
      (query) => this.options.store.search({ ...query, experimentIds }),
    );
    return {
      models: page.items.map(toMessage),
      ...(page.nextPageToken !== undefined ? { nextPageToken: page.nextPageToken } : {}),
    };
  }

  /** One folder of the model's artifacts (`logged-models/{id}/artifacts/directories`). */
  async listArtifacts(modelId: string, path: string): Promise<{ rootUri: string; files: RunFileInfo[] }> {
    const model = await this.require(modelId);
    return this.options.artifacts.listUnder(model.row.artifact_location, path, `Logged model ${modelId}`);
  }

  /** One file of the model's artifacts (`logged-models/{id}/artifacts/files`). */
  async openArtifact(modelId: string, path: string): Promise<ArtifactObject> {
    const model = await this.require(modelId);
    return this.options.artifacts.openUnder(model.row.artifact_location, path, `Logged model ${modelId}`);
  }

  /** An active model, or RESOURCE_DOES_NOT_EXIST. */
  async require(modelId: string): Promise<StoredLoggedModel> {
    const model = await this.options.store.get(modelId);
    if (model === undefined) throw notFound(`Logged model with ID '${modelId}' not found.`);
    return model;
  }

  private async change(
    modelId: string,
    actor: Actor,
    action: string,
    detail: unknown,
    write: Parameters<LoggedModelStore['change']>[4],
  ): Promise<void> {
    const changed = await this.options.store.change(
      modelId,
      this.options.clock(),
      actor,
      action,
      write,
      detail,
    );
    if (!changed) throw notFound(`Logged model with ID '${modelId}' not found.`);
  }
}

function toMessage(model: StoredLoggedModel): LoggedModelMessage {
  const { row } = model;
  return {
    info: {
      model_id: row.model_id,
      experiment_id: String(row.experiment_id),
      name: row.name,
      creation_timestamp_ms: Number(row.creation_timestamp_ms),
      last_updated_timestamp_ms: Number(row.last_updated_timestamp_ms),
      artifact_uri: row.artifact_location,
      status: row.status,
      ...(row.status_message !== null ? { status_message: row.status_message } : {}),
      ...(row.model_type !== null ? { model_type: row.model_type } : {}),
      ...(row.source_run_id !== null ? { source_run_id: row.source_run_id } : {}),
      tags: model.tags,
    },
    data: { params: model.params, metrics: [] },
  };
}
