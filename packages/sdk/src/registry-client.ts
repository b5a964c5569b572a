import {
  KeelError,
  type ModelVersion,
  type ModelVersionStage,
  parseModelUri,
  REGISTRY_LIMITS,
  type RegisteredModel,
} from '@keel/core';
import { type TagsInput, toKeyValues } from './batch-plan.js';
import { InvalidParameterError, NotFoundError } from './errors.js';
import { paginate } from './paginate.js';
import type { KeelRestClient } from './rest-client.js';

/** A model version number: MLflow sends it as a string; numbers are accepted and sent as strings. */
export type VersionNumber = string | number;

/** Options of {@link RegistryClient.createRegisteredModel}. */
export interface CreateRegisteredModelOptions {
  /** @default none */
  description?: string;
  /** @default none */
  tags?: TagsInput;
}

/** Options of {@link RegistryClient.searchRegisteredModels} and {@link RegistryClient.searchModelVersions}. */
export interface SearchRegistryOptions {
  /**
   * MLflow filter, e.g. `name LIKE 'churn%'` for models, `name = 'churn' and run_id = '…'` for
   * versions. @default every model (version)
   */
  filter?: string;
  /** e.g. `['last_updated_timestamp DESC']`. @default name ASC (models), the server's order (versions) */
  orderBy?: readonly string[];
  /** Page size: up to 1000 for models, 200 000 for versions. @default 100 (models), 10 000 (versions) */
  maxResults?: number;
  pageToken?: string;
}

/** Options of {@link RegistryClient.createModelVersion}. */
export interface CreateModelVersionOptions {
  /** The run that produced the files; required by the server for a local `source`. @default none */
  runId?: string;
  /** @default none */
  tags?: TagsInput;
  /** A link back to the run, e.g. in a notebook. @default none */
  runLink?: string;
  /** @default none */
  description?: string;
}

/** Options of {@link RegistryClient.transitionStage}. */
export interface TransitionStageOptions {
  /**
   * Moves the versions currently in the target stage to `Archived` (only for `Staging` and
   * `Production`). @default false
   */
  archiveExistingVersions?: boolean;
}

/** One page of registered models. */
export interface RegisteredModelsPage {
  registeredModels: RegisteredModel[];
  nextPageToken?: string;
}

/** One page of model versions. */
export interface ModelVersionsPage {
  modelVersions: ModelVersion[];
  nextPageToken?: string;
}

/**
 * The model registry of a Keel (or MLflow) server: every `registered-models/*` and
 * `model-versions/*` endpoint as a typed method, plus {@link resolveModelUri} for `models:/`
 * URIs. Reached as `client.registry`; errors are the SDK's typed errors (`NotFoundError`,
 * `AlreadyExistsError`, `InvalidParameterError`…). Version numbers come back as strings, as on
 * MLflow's wire; methods accept a string or a number.
 *
 * @example
 * const keel = new KeelClient();
 * await keel.registry.createRegisteredModel('churn', { description: 'Churn classifier' });
 * const v = await keel.registry.createModelVersion('churn', `runs:/${runId}/model`, { runId });
 * await keel.registry.setAlias('churn', 'champion', v.version);
 * const { version } = await keel.registry.resolveModelUri('models:/churn@champion');
 */
export class RegistryClient {
  private readonly rest: KeelRestClient;

  /** Use `KeelClient.registry`; this shares the client's HTTP settings. */
  constructor(rest: KeelRestClient) {
    this.rest = rest;
  }

  // ---------------------------------------------------------------- registered models

  /**
   * Creates a registered model. Throws `AlreadyExistsError` if the name is taken.
   * @example await keel.registry.createRegisteredModel('churn', { tags: { team: 'growth' } });
   */
  async createRegisteredModel(
    name: string,
    options: CreateRegisteredModelOptions = {},
  ): Promise<RegisteredModel> {
    const { registered_model } = await this.rest.post<{ registered_model: RegisteredModel }>(
      'registered-models/create',
      {
        name,
        ...(options.description === undefined ? {} : { description: options.description }),
        ...(options.tags === undefined ? {} : { tags: toKeyValues(options.tags) }),
      },
    );
    return registered_model;
  }

  /**
   * A registered model with its latest version per stage, tags and aliases. Throws
   * `NotFoundError` if there is none.
   * @example const model = await keel.registry.getRegisteredModel('churn');
   */
  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    const { registered_model } = await this.rest.get<{ registered_model: RegisteredModel }>(
      'registered-models/get',
      { name },
    );
    return registered_model;
  }

  /**
   * Renames a registered model (its versions follow); the new name must be free.
   * @example await keel.registry.renameRegisteredModel('churn', 'churn-v2');
   */
  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    const { registered_model } = await this.rest.post<{ registered_model: RegisteredModel }>(
      'registered-models/rename',
      { name, new_name: newName },
    );
    return registered_model;
  }

  /**
   * Sets a registered model's description (`undefined` leaves it unchanged, `''` clears it).
   * @example await keel.registry.updateRegisteredModel('churn', { description: 'Gradient boosted' });
   */
  async updateRegisteredModel(name: string, patch: { description?: string }): Promise<RegisteredModel> {
    const { registered_model } = await this.rest.patch<{ registered_model: RegisteredModel }>(
      'registered-models/update',
      { name, ...(patch.description === undefined ? {} : { description: patch.description }) },
    );
    return registered_model;
  }

  /**
   * Deletes a registered model with all its versions, tags and aliases (not restorable).
   * @example await keel.registry.deleteRegisteredModel('churn');
   */
  async deleteRegisteredModel(name: string): Promise<void> {
    await this.rest.delete('registered-models/delete', { name });
  }

  /**
   * One page of registered models.
   * @example const { registeredModels } = await keel.registry.searchRegisteredModels({ filter: "name LIKE 'churn%'" });
   */
  async searchRegisteredModels(options: SearchRegistryOptions = {}): Promise<RegisteredModelsPage> {
    const page = await this.rest.get<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(
      'registered-models/search',
      {
        max_results: options.maxResults ?? REGISTRY_LIMITS.modelsSearchDefault,
        filter: options.filter,
        order_by: options.orderBy,
        page_token: options.pageToken,
      },
    );
    return {
      registeredModels: page.registered_models ?? [],
      ...(page.next_page_token ? { nextPageToken: page.next_page_token } : {}),
    };
  }

  /**
   * Every matching registered model, fetching page after page as the loop goes.
   * @example for await (const model of keel.registry.iterateRegisteredModels()) console.log(model.name);
   */
  iterateRegisteredModels(
    options: Omit<SearchRegistryOptions, 'pageToken'> = {},
  ): AsyncGenerator<RegisteredModel> {
    return paginate(async (pageToken) => {
      const page = await this.searchRegisteredModels({
        ...options,
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      return { items: page.registeredModels, nextPageToken: page.nextPageToken };
    });
  }

  /**
   * The latest version in each stage (`None` included), or only in the given stages.
   * @example const [production] = await keel.registry.getLatestVersions('churn', ['Production']);
   */
  async getLatestVersions(
    name: string,
    stages?: readonly (ModelVersionStage | string)[],
  ): Promise<ModelVersion[]> {
    const { model_versions } = await this.rest.post<{ model_versions?: ModelVersion[] }>(
      'registered-models/get-latest-versions',
      { name, ...(stages === undefined ? {} : { stages }) },
    );
    return model_versions ?? [];
  }

  /**
   * Sets (overwrites) a registered model tag.
   * @example await keel.registry.setRegisteredModelTag('churn', 'team', 'growth');
   */
  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.rest.post('registered-models/set-tag', { name, key, value });
  }

  /**
   * Deletes a registered model tag.
   * @example await keel.registry.deleteRegisteredModelTag('churn', 'team');
   */
  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.rest.delete('registered-models/delete-tag', { name, key });
  }

  // ---------------------------------------------------------------- aliases

  /**
   * Points an alias at a version (moving it if it pointed elsewhere). `latest` and `v<digits>`
   * are reserved.
   * @example await keel.registry.setAlias('churn', 'champion', 3);
   */
  async setAlias(name: string, alias: string, version: VersionNumber): Promise<void> {
    await this.rest.post('registered-models/alias', { name, alias, version: String(version) });
  }

  /**
   * Removes an alias.
   * @example await keel.registry.deleteAlias('churn', 'challenger');
   */
  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.rest.delete('registered-models/alias', { name, alias });
  }

  /**
   * The version an alias points at. Throws `NotFoundError` if the alias is not set.
   * @example const champion = await keel.registry.getVersionByAlias('churn', 'champion');
   */
  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const { model_version } = await this.rest.get<{ model_version: ModelVersion }>(
      'registered-models/alias',
      {
        name,
        alias,
      },
    );
    return model_version;
  }

  // ---------------------------------------------------------------- model versions

  /**
   * Registers a new version of an existing model from `source`, e.g. `runs:/<run_id>/model`.
   * The server copies the files into registry storage, so the version never changes afterwards.
   * @example const v = await keel.registry.createModelVersion('churn', `runs:/${runId}/model`, { runId });
   */
  async createModelVersion(
    name: string,
    source: string,
    options: CreateModelVersionOptions = {},
  ): Promise<ModelVersion> {
    const { model_version } = await this.rest.post<{ model_version: ModelVersion }>('model-versions/create', {
      name,
      source,
      ...(options.runId === undefined ? {} : { run_id: options.runId }),
      ...(options.tags === undefined ? {} : { tags: toKeyValues(options.tags) }),
      ...(options.runLink === undefined ? {} : { run_link: options.runLink }),
      ...(options.description === undefined ? {} : { description: options.description }),
    });
    return model_version;
  }

  /**
   * One model version. Throws `NotFoundError` if there is none.
   * @example const v = await keel.registry.getModelVersion('churn', 3);
   */
  async getModelVersion(name: string, version: VersionNumber): Promise<ModelVersion> {
    const { model_version } = await this.rest.get<{ model_version: ModelVersion }>('model-versions/get', {
      name,
      version: String(version),
    });
    return model_version;
  }

  /**
   * Sets a version's description (`undefined` leaves it unchanged).
   * @example await keel.registry.updateModelVersion('churn', 3, { description: 'retrained on May data' });
   */
  async updateModelVersion(
    name: string,
    version: VersionNumber,
    patch: { description?: string },
  ): Promise<ModelVersion> {
    const { model_version } = await this.rest.patch<{ model_version: ModelVersion }>(
      'model-versions/update',
      {
        name,
        version: String(version),
        ...(patch.description === undefined ? {} : { description: patch.description }),
      },
    );
    return model_version;
  }

  /**
   * Deletes a model version (its number is never reused).
   * @example await keel.registry.deleteModelVersion('churn', 1);
   */
  async deleteModelVersion(name: string, version: VersionNumber): Promise<void> {
    await this.rest.delete('model-versions/delete', { name, version: String(version) });
  }

  /**
   * One page of model versions.
   * @example const { modelVersions } = await keel.registry.searchModelVersions({ filter: "name = 'churn'" });
   */
  async searchModelVersions(options: SearchRegistryOptions = {}): Promise<ModelVersionsPage> {
    const page = await this.rest.get<{ model_versions?: ModelVersion[]; next_page_token?: string }>(
      'model-versions/search',
      {
        max_results: options.maxResults ?? REGISTRY_LIMITS.versionsSearchDefault,
        filter: options.filter,
        order_by: options.orderBy,
        page_token: options.pageToken,
      },
    );
    return {
      modelVersions: page.model_versions ?? [],
      ...(page.next_page_token ? { nextPageToken: page.next_page_token } : {}),
    };
  }

  /**
   * Every matching model version, fetching page after page as the loop goes.
   * @example for await (const v of keel.registry.iterateModelVersions({ filter: "name = 'churn'" })) console.log(v.version);
   */
  iterateModelVersions(options: Omit<SearchRegistryOptions, 'pageToken'> = {}): AsyncGenerator<ModelVersion> {
    return paginate(async (pageToken) => {
      const page = await this.searchModelVersions({
        ...options,
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      return { items: page.modelVersions, nextPageToken: page.nextPageToken };
    });
  }

  /**
   * Moves a version to a stage (`None`, `Staging`, `Production`, `Archived`; case-insensitive).
   * @example await keel.registry.transitionStage('churn', 3, 'Production', { archiveExistingVersions: true });
   */
  async transitionStage(
    name: string,
    version: VersionNumber,
    stage: ModelVersionStage | string,
    options: TransitionStageOptions = {},
  ): Promise<ModelVersion> {
    const { model_version } = await this.rest.post<{ model_version: ModelVersion }>(
      'model-versions/transition-stage',
      {
        name,
        version: String(version),
        stage,
        archive_existing_versions: options.archiveExistingVersions ?? false,
      },
    );
    return model_version;
  }

  /**
   * Sets (overwrites) a model version tag.
   * @example await keel.registry.setModelVersionTag('churn', 3, 'validated', 'true');
   */
  async setModelVersionTag(name: string, version: VersionNumber, key: string, value: string): Promise<void> {
    await this.rest.post('model-versions/set-tag', { name, version: String(version), key, value });
  }

  /**
   * Deletes a model version tag.
   * @example await keel.registry.deleteModelVersionTag('churn', 3, 'validated');
   */
  async deleteModelVersionTag(name: string, version: VersionNumber, key: string): Promise<void> {
    await this.rest.delete('model-versions/delete-tag', { name, version: String(version), key });
  }

  /**
   * Where the version's files can be downloaded: its registry copy (`mlflow-artifacts:/…`), or
   * the external source it was registered from.
   * @example const uri = await keel.registry.getModelVersionDownloadUri('churn', 3);
   */
  async getModelVersionDownloadUri(name: string, version: VersionNumber): Promise<string> {
    const { artifact_uri } = await this.rest.get<{ artifact_uri: string }>(
      'model-versions/get-download-uri',
      {
        name,
        version: String(version),
      },
    );
    return artifact_uri;
  }

  // ---------------------------------------------------------------- URIs

  /**
   * The model version a `models:/` URI names, resolved against the server as MLflow's client
   * does: `models:/name/3` (`model-versions/get`), `models:/name@alias` (`registered-models/alias`),
   * `models:/name/<stage>` (the newest version in that stage, case-insensitive) and
   * `models:/name/latest` (the newest version overall), both via `get-latest-versions`.
   *
   * @throws InvalidParameterError for a malformed URI or a `runs:/` URI; NotFoundError when the
   *   model, version or alias does not exist, or no version is in the stage.
   *
   * @example
   * const { name, version } = await keel.registry.resolveModelUri('models:/churn@champion');
   */
  async resolveModelUri(uri: string): Promise<ModelVersion> {
    let parsed: ReturnType<typeof parseModelUri>;
    try {
      parsed = parseModelUri(uri);
    } catch (error) {
      if (error instanceof KeelError) throw new InvalidParameterError(error.code, error.message, 400);
      throw error;
    }
    switch (parsed.kind) {
      case 'version':
        return this.getModelVersion(parsed.name, parsed.version);
      case 'alias':
        return this.getVersionByAlias(parsed.name, parsed.alias);
      case 'stage':
      case 'latest': {
        const stages = parsed.kind === 'stage' ? [parsed.stage] : undefined;
        const newest = newestVersion(await this.getLatestVersions(parsed.name, stages));
        if (newest === undefined) {
          const where = parsed.kind === 'stage' ? ` in stage '${parsed.stage}'` : '';
          throw new NotFoundError(
            'RESOURCE_DOES_NOT_EXIST',
            `No versions of model '${parsed.name}'${where}`,
            404,
          );
        }
        return newest;
      }
      case 'run':
      case 'logged':
        throw new InvalidParameterError(
          'INVALID_PARAMETER_VALUE',
          `Invalid model URI '${uri}': a ${parsed.kind === 'run' ? 'runs:/' : 'logged model'} URI names artifacts, not a registered model version`,
          400,
        );
      default: {
        const exhaustive: never = parsed;
        throw new Error(`unknown model URI kind ${String(exhaustive)}`);
      }
    }
  }
}

/** The version with the highest number (versions are numbered as strings on the wire). */
function newestVersion(versions: readonly ModelVersion[]): ModelVersion | undefined {
  let newest: ModelVersion | undefined;
  for (const v of versions)
    if (newest === undefined || Number(v.version) > Number(newest.version)) newest = v;
  return newest;
}
