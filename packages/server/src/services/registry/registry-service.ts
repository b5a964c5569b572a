import {
  alreadyExists,
  canonicalStage,
  invalidParameter,
  type KeyValue,
  MODEL_VERSION_SEARCH_SCHEMA,
  type ModelVersion,
  type ModelVersionStage,
  notFound,
  PROMPT_TAG_KEY,
  parseModelUri,
  REGISTERED_MODEL_SEARCH_SCHEMA,
  REGISTRY_LIMITS,
  type RegisteredModel,
  validateAliasName,
  validateKey,
  validateLength,
} from '@keel/core';
import type { Transaction } from 'kysely';
import { joinArtifactPath } from '../../artifacts/artifact-path.js';
import type { ArtifactObject, ArtifactStore } from '../../artifacts/artifact-store.js';
import { proxiedArtifactPath } from '../../artifacts/proxied-uri.js';
import type { Actor, Change, ChangeSink } from '../../changes/change.js';
import type { RegistryStore, StoredModelVersion, StoredRegisteredModel } from '../../store/registry-store.js';
import type { Database } from '../../store/schema.js';
import { isUniqueViolation } from '../../store/store-errors.js';
import type { Clock } from '../clock.js';
import { searchPage } from '../search-page.js';
import type { LoggedModelService } from '../tracking/logged-model-service.js';
import type { RunService } from '../tracking/run-service.js';
import { copyIntoRegistry, isRegistryStoragePath, proxiedUriOf, resolveSource } from './registry-storage.js';
import { toWireModel, toWireVersion } from './registry-wire.js';

/** Everything the registry service needs. */
export interface RegistryServiceOptions {
  store: RegistryStore;
  /** Where version files are copied to and served from. */
  artifacts: ArtifactStore;
  runs: RunService;
  /** MLflow 3 logged models, which `models:/m-<id>` URIs name. */
  loggedModels: Pick<LoggedModelService, 'require'>;
  /** Sees every registry change inside its transaction (audit log, webhooks). */
  changes: ChangeSink;
  clock: Clock;
}

/** Input of {@link RegistryService.createVersion}. */
export interface CreateVersionInput {
  name: string;
  source: string;
  runId?: string;
  tags?: readonly KeyValue[];
  runLink?: string;
  description?: string;
}

/** A search page request. */
export interface RegistrySearchInput {
  filter?: string;
  orderBy?: readonly string[];
  maxResults?: number;
  pageToken?: string;
}

/** What a model URI resolves to. */
export interface ResolvedModelUri {
  /** The registered model and version (absent for `runs:/` URIs). */
  name?: string;
  version?: number;
  runId?: string;
  /** Artifact-store path of the files (absent when the source is an external URI). */
  storageLocation?: string;
  /** Where a client downloads the files from. */
  artifactUri: string;
}

/**
 * MLflow's model registry: registered models, versions numbered per model and never reused,
 * stages with `archive_existing_versions`, aliases, tags, searches. Versions created from a run's
 * artifacts get an immutable copy in registry storage. Every change is handed to the change sink
 * in the transaction that makes it, with the actor who made it.
 */
export class RegistryService {
  constructor(private readonly options: RegistryServiceOptions) {}

  async createModel(
    input: { name: string; tags?: readonly KeyValue[]; description?: string },
    actor: Actor,
  ): Promise<RegisteredModel> {
    validateModelName(input.name, 'name');
    const tags = input.tags ?? [];
    for (const tag of tags) validateTag(tag.key, tag.value);
    if (input.description !== undefined) validateDescription(input.description);
    const now = this.options.clock();
    try {
      return await this.options.store.transaction(async (store, trx) => {
        if (await store.getModel(input.name)) throw modelExists(input.name);
        await store.insertModel(
          {
            name: input.name,
            creation_timestamp: now,
            last_updated_timestamp: now,
            description: input.description ?? null,
            user_id: userIdOf(actor),
            next_version: 1,
          },
          dedupe(tags),
        );
        const after = toWireModel(await requireModel(store, input.name));
        await this.record(trx, actor, modelChange('registered_model.created', input.name, undefined, after));
        return after;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw modelExists(input.name);
      throw error;
    }
  }

  async getModel(name: string): Promise<RegisteredModel> {
    return toWireModel(await requireModel(this.options.store, name));
  }

  async renameModel(name: string, newName: string, actor: Actor): Promise<RegisteredModel> {
    validateModelName(newName, 'new_name');
    try {
      return await this.options.store.transaction(async (store, trx) => {
        const before = toWireModel(await requireModel(store, name));
        if (newName === name) return before;
        if (await store.getModel(newName)) throw modelExists(newName);
        await store.renameModel(name, newName, this.options.clock());
        const after = toWireModel(await requireModel(store, newName));
        await this.record(trx, actor, modelChange('registered_model.renamed', newName, before, after));
        return after;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw modelExists(newName);
      throw error;
    }
  }

  async updateModel(name: string, description: string | undefined, actor: Actor): Promise<RegisteredModel> {
    if (description !== undefined) validateDescription(description);
    return this.options.store.transaction(async (store, trx) => {
      const before = toWireModel(await requireModel(store, name));
      await store.updateModel(name, {
        ...(description !== undefined ? { description } : {}),
        last_updated_timestamp: this.options.clock(),
      });
      const after = toWireModel(await requireModel(store, name));
      await this.record(trx, actor, modelChange('registered_model.updated', name, before, after));
      return after;
    });
  }

  /** Deletes a model with all its versions, tags and aliases; the versions' copies are removed afterwards. */
  async deleteModel(name: string, actor: Actor): Promise<void> {
    const locations = await this.options.store.transaction(async (store, trx) => {
      const model = await requireModel(store, name);
      const versions = await store.searchVersions({
        filter: { kind: 'comparison', entity: 'attribute', key: 'name', op: '=', value: name, position: 0 },
        orderBy: [],
        offset: 0,
        limit: Number.MAX_SAFE_INTEGER,
      });
      await store.deleteModel(name);
      await this.record(
        trx,
        actor,
        modelChange('registered_model.deleted', name, toWireModel(model), undefined),
      );
      return versions.map((v) => v.storage_location);
    });
    await this.removeCopies(locations);
  }

  async searchModels(
    input: RegistrySearchInput,
  ): Promise<{ models: RegisteredModel[]; nextPageToken?: string }> {
    const page = await searchPage(
      input,
      {
        schema: REGISTERED_MODEL_SEARCH_SCHEMA,
        defaultMax: REGISTRY_LIMITS.modelsSearchDefault,
        max: REGISTRY_LIMITS.modelsSearchMax,
      },
      (query) => this.options.store.searchModels(query),
    );
    return {
      models: page.items.map(toWireModel),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  }

  async getLatestVersions(name: string, stages?: readonly string[]): Promise<ModelVersion[]> {
    const canonical = stages?.length ? stages.map((s) => canonicalStage(s, 'stages')) : undefined;
    await requireModel(this.options.store, name);
    return (await this.options.store.latestVersions(name, canonical)).map(toWireVersion);
  }

  async setModelTag(name: string, key: string, value: string, actor: Actor): Promise<void> {
    validateTag(key, value);
    await this.options.store.transaction(async (store, trx) => {
      await requireModel(store, name);
      const previous = await store.getModelTag(name, key);
      await store.setModelTag(name, key, value);
      await this.record(trx, actor, {
        action: 'registered_model_tag.set',
        entity: 'registered_model',
        entityId: name,
        ...(previous !== undefined ? { before: { key, value: previous } } : {}),
        after: { key, value },
      });
    });
  }

  async deleteModelTag(name: string, key: string, actor: Actor): Promise<void> {
    await this.options.store.transaction(async (store, trx) => {
      await requireModel(store, name);
      const previous = await store.getModelTag(name, key);
      if (previous === undefined)
        throw notFound(`No tag with name: ${key} in registered model with name: ${name}`);
      await store.deleteModelTag(name, key);
      await this.record(trx, actor, {
        action: 'registered_model_tag.deleted',
        entity: 'registered_model',
        entityId: name,
        before: { key, value: previous },
      });
    });
  }

  /**
   * Registers a new version. A source inside Keel's artifact store is validated and its files are
   * copied into registry storage before the transaction that creates the row; if that
   * transaction fails, the copy is removed. A prompt version (tagged `mlflow.prompt.is_prompt`)
   * keeps its source as given, unchecked and uncopied, as in MLflow.
   */
  async createVersion(input: CreateVersionInput, actor: Actor): Promise<ModelVersion> {
    validateModelName(input.name, 'name');
    if (input.source === '') throw invalidParameter("Missing value for required parameter 'source'");
    const tags = input.tags ?? [];
    for (const tag of tags) validateTag(tag.key, tag.value);
    if (input.description !== undefined) validateDescription(input.description);
    await requireModel(this.options.store, input.name);
    // A prompt version (MLflow's prompt registry tags it) has no files: its template is a tag and
    // its source a placeholder the client sends (`dummy-source`), recorded as is, as MLflow does.
    const resolved = tags.some((tag) => tag.key === PROMPT_TAG_KEY)
      ? { ...(input.runId !== undefined ? { runId: input.runId } : {}) }
      : await resolveSource(input.source, input.runId, {
          store: this.options.artifacts,
          requireRun: (runId) => this.options.runs.requireRun(runId),
          storageOfModelUri: async (uri) => (await this.resolveModelUri(uri)).storageLocation,
        });
    const location =
      resolved.storePath === undefined
        ? undefined
        : await copyIntoRegistry(
            this.options.artifacts,
            resolved.storePath,
            input.source,
            this.options.clock(),
          );
    try {
      return await this.options.store.transaction(async (store, trx) => {
        await requireModel(store, input.name);
        const now = this.options.clock();
        const version = await store.allocateVersion(input.name);
        await store.insertVersion(
          {
            name: input.name,
            version,
            creation_timestamp: now,
            last_updated_timestamp: now,
            user_id: userIdOf(actor),
            current_stage: 'None',
            description: input.description ?? null,
            source: input.source,
            storage_location: location ?? null,
            run_id: resolved.runId ?? null,
            run_link: input.runLink || null,
            status: 'READY',
            status_message: null,
          },
          dedupe(tags),
        );
        await store.updateModel(input.name, { last_updated_timestamp: now });
        const after = toWireVersion(await requireVersion(store, input.name, version));
        await this.record(trx, actor, versionChange('model_version.created', after, undefined, after));
        return after;
      });
    } catch (error) {
      if (location !== undefined) await this.removeCopies([location]);
      throw error;
    }
  }

  async getVersion(name: string, version: string): Promise<ModelVersion> {
    return toWireVersion(await requireVersion(this.options.store, name, parseVersion(version)));
  }

  async updateVersion(name: string, version: string, description: string | undefined, actor: Actor) {
    const number = parseVersion(version);
    if (description !== undefined) validateDescription(description);
    return this.options.store.transaction(async (store, trx) => {
      const before = toWireVersion(await requireVersion(store, name, number));
      await store.updateVersion(name, number, {
        ...(description !== undefined ? { description } : {}),
        last_updated_timestamp: this.options.clock(),
      });
      const after = toWireVersion(await requireVersion(store, name, number));
      await this.record(trx, actor, versionChange('model_version.updated', after, before, after));
      return after;
    });
  }

  /** Deletes a version (its tags and aliases go with it); its number is never handed out again. */
  async deleteVersion(name: string, version: string, actor: Actor): Promise<void> {
    const number = parseVersion(version);
    const location = await this.options.store.transaction(async (store, trx) => {
      const before = await requireVersion(store, name, number);
      await store.deleteVersion(name, number);
      await store.updateModel(name, { last_updated_timestamp: this.options.clock() });
      const wire = toWireVersion(before);
      await this.record(trx, actor, versionChange('model_version.deleted', wire, wire, undefined));
      return before.storage_location;
    });
    await this.removeCopies([location]);
  }

  async searchVersions(
    input: RegistrySearchInput,
  ): Promise<{ versions: ModelVersion[]; nextPageToken?: string }> {
    const page = await searchPage(
      input,
      {
        schema: MODEL_VERSION_SEARCH_SCHEMA,
        defaultMax: REGISTRY_LIMITS.versionsSearchDefault,
        max: REGISTRY_LIMITS.versionsSearchMax,
      },
      (query) => this.options.store.searchVersions(query),
    );
    return {
      versions: page.items.map(toWireVersion),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  }

  /** Where a client downloads the version's files: its registry copy, or the external source. */
  async getDownloadUri(name: string, version: string): Promise<string> {
    return artifactUriOf(await requireVersion(this.options.store, name, parseVersion(version)));
  }

  /**
   * Moves a version to a stage. With `archiveExisting` (only for Staging and Production) every
   * other version in that stage moves to Archived, each recorded as its own change.
   */
  async transitionStage(
    name: string,
    version: string,
    stage: string,
    archiveExisting: boolean,
    actor: Actor,
  ): Promise<ModelVersion> {
    const number = parseVersion(version);
    const target = canonicalStage(stage);
    if (archiveExisting && target !== 'Staging' && target !== 'Production') {
      throw invalidParameter(
        `Invalid value for parameter 'archive_existing_versions': existing versions can only be archived when moving to Staging or Production, not '${target}'`,
      );
    }
    return this.options.store.transaction(async (store, trx) => {
      const before = toWireVersion(await requireVersion(store, name, number));
      const now = this.options.clock();
      const changes: Change[] = [];
      if (archiveExisting) {
        for (const other of await store.versionsInStage(name, target, number)) {
          changes.push(await this.moveStage(store, other, 'Archived', now));
        }
      }
      await store.updateVersion(name, number, { current_stage: target, last_updated_timestamp: now });
      await store.updateModel(name, { last_updated_timestamp: now });
      const after = toWireVersion(await requireVersion(store, name, number));
      changes.push(versionChange('model_version.stage_transitioned', after, before, after));
      // Recorded after every row change: the audit log's lock must be the last one a transaction
      // takes, or two transactions could wait on each other (docs/audit.md).
      for (const change of changes) await this.record(trx, actor, change);
      return after;
    });
  }

  async setVersionTag(name: string, version: string, key: string, value: string, actor: Actor) {
    const number = parseVersion(version);
    validateTag(key, value);
    await this.options.store.transaction(async (store, trx) => {
      await requireVersion(store, name, number);
      const previous = await store.getVersionTag(name, number, key);
      await store.setVersionTag(name, number, key, value);
      await this.record(trx, actor, {
        action: 'model_version_tag.set',
        entity: 'model_version',
        entityId: versionId(name, number),
        ...(previous !== undefined ? { before: { key, value: previous } } : {}),
        after: { key, value },
      });
    });
  }

  async deleteVersionTag(name: string, version: string, key: string, actor: Actor) {
    const number = parseVersion(version);
    await this.options.store.transaction(async (store, trx) => {
      await requireVersion(store, name, number);
      const previous = await store.getVersionTag(name, number, key);
      if (previous === undefined) {
        throw notFound(`No tag with name: ${key} for model version (name=${name}, version=${number})`);
      }
      await store.deleteVersionTag(name, number, key);
      await this.record(trx, actor, {
        action: 'model_version_tag.deleted',
        entity: 'model_version',
        entityId: versionId(name, number),
        before: { key, value: previous },
      });
    });
  }

  /** Points an alias at a version, moving it from any other version of the model. */
  async setAlias(name: string, alias: string, version: string, actor: Actor): Promise<void> {
    validateAliasName(alias);
    const number = parseVersion(version);
    await this.options.store.transaction(async (store, trx) => {
      await requireVersion(store, name, number);
      const previous = await store.getAlias(name, alias);
      if (previous === number) return;
      await store.setAlias(name, alias, number);
      await this.record(trx, actor, {
        action: 'registered_model_alias.set',
        entity: 'registered_model',
        entityId: name,
        ...(previous !== undefined ? { before: { alias, version: String(previous) } } : {}),
        after: { alias, version: String(number) },
      });
    });
  }

  /** Removes an alias; removing one that does not exist is not an error (as in MLflow). */
  async deleteAlias(name: string, alias: string, actor: Actor): Promise<void> {
    await this.options.store.transaction(async (store, trx) => {
      await requireModel(store, name);
      const previous = await store.getAlias(name, alias);
      if (previous === undefined) return;
      await store.deleteAlias(name, alias);
      await this.record(trx, actor, {
        action: 'registered_model_alias.deleted',
        entity: 'registered_model',
        entityId: name,
        before: { alias, version: String(previous) },
      });
    });
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const version = await this.options.store.getAlias(name, alias);
    if (version === undefined) {
      await requireModel(this.options.store, name);
      throw notFound(`Registered model alias ${alias} not found.`);
    }
    return toWireVersion(await requireVersion(this.options.store, name, version));
  }

  /**
   * Resolves `models:/name/3`, `models:/name@alias`, `models:/name/<stage>`, `models:/name/latest`,
   * `models:/m-<id>` (a logged model's artifacts) and `runs:/<run_id>/path` to the files they name.
   *
   * @example
   * await registry.resolveModelUri('models:/churn@champion')
   * // { name: 'churn', version: 4, storageLocation: 'registry/…', artifactUri: 'mlflow-artifacts:/registry/…' }
   */
  async resolveModelUri(uri: string): Promise<ResolvedModelUri> {
    const parsed = parseModelUri(uri);
    let version: StoredModelVersion | undefined;
    switch (parsed.kind) {
      case 'run': {
        const run = await this.options.runs.requireRun(parsed.runId);
        const base = run.artifact_uri.replace(/\/+$/, '');
        return { runId: parsed.runId, artifactUri: parsed.path === '' ? base : `${base}/${parsed.path}` };
      }
      case 'logged': {
        const { row } = await this.options.loggedModels.require(parsed.modelId);
        const storageLocation = proxiedArtifactPath(row.artifact_location);
        return {
          ...(row.source_run_id !== null ? { runId: row.source_run_id } : {}),
          ...(storageLocation !== undefined ? { storageLocation } : {}),
          artifactUri: row.artifact_location,
        };
      }
      case 'version':
        version = await requireVersion(this.options.store, parsed.name, parsed.version);
        break;
      case 'alias': {
        const number = await this.options.store.getAlias(parsed.name, parsed.alias);
        if (number === undefined) throw notFound(`Registered model alias ${parsed.alias} not found.`);
        version = await requireVersion(this.options.store, parsed.name, number);
        break;
      }
      case 'stage':
      case 'latest': {
        await requireModel(this.options.store, parsed.name);
        const stages = parsed.kind === 'stage' ? [canonicalStage(parsed.stage, 'stage')] : undefined;
        const latest = await this.options.store.latestVersions(parsed.name, stages);
        version = latest.reduce<StoredModelVersion | undefined>(
          (best, v) => (best === undefined || v.version > best.version ? v : best),
          undefined,
        );
        if (version === undefined) {
          throw notFound(
            `No versions of model '${parsed.name}'${parsed.kind === 'stage' ? ` in stage '${parsed.stage}'` : ''}`,
          );
        }
        break;
      }
      default: {
        const exhaustive: never = parsed;
        throw new Error(`unknown model URI kind ${String(exhaustive)}`);
      }
    }
    return {
      name: version.name,
      version: version.version,
      ...(version.run_id !== null ? { runId: version.run_id } : {}),
      ...(version.storage_location !== null ? { storageLocation: version.storage_location } : {}),
      artifactUri: artifactUriOf(version),
    };
  }

  /** Opens one file of a version's registry copy (`/model-versions/get-artifact`). */
  async openVersionArtifact(name: string, version: string, path: string): Promise<ArtifactObject> {
    const stored = await requireVersion(this.options.store, name, parseVersion(version));
    if (stored.storage_location === null) {
      throw invalidParameter(
        `Model version (name=${name}, version=${stored.version}) has the external source '${stored.source}', which this server does not serve`,
      );
    }
    return this.options.artifacts.get(joinArtifactPath(stored.storage_location, path));
  }

  /** Versions registered from a run (for lineage). */
  async versionsOfRun(runId: string): Promise<StoredModelVersion[]> {
    return this.options.store.versionsOfRun(runId);
  }

  /** A stored version (for lineage). */
  async requireStoredVersion(name: string, version: string): Promise<StoredModelVersion> {
    return requireVersion(this.options.store, name, parseVersion(version));
  }

  /** Moves a version to another stage and returns the change to record. */
  private async moveStage(
    store: RegistryStore,
    version: StoredModelVersion,
    stage: ModelVersionStage,
    now: number,
  ): Promise<Change> {
    const before = toWireVersion(version);
    await store.updateVersion(version.name, version.version, {
      current_stage: stage,
      last_updated_timestamp: now,
    });
    const after = toWireVersion(await requireVersion(store, version.name, version.version));
    return versionChange('model_version.stage_transitioned', after, before, after);
  }

  private record(trx: Transaction<Database>, actor: Actor, change: Change): Promise<void> {
    return this.options.changes.record(trx, actor, change);
  }

  /** Best effort: a copy left behind wastes space but never changes what a version serves. */
  private async removeCopies(locations: readonly (string | null)[]): Promise<void> {
    for (const location of locations) {
      if (location === null || !isRegistryStoragePath(location)) continue;
      const folder = location.split('/').slice(0, 2).join('/');
      await this.options.artifacts.deletePrefix(folder).catch(() => undefined);
    }
  }
}

async function requireModel(store: RegistryStore, name: string): Promise<StoredRegisteredModel> {
  const model = await store.getModel(name);
  if (!model) throw notFound(`Registered Model with name=${name} not found`);
  return model;
}

async function requireVersion(
  store: RegistryStore,
  name: string,
  version: number,
): Promise<StoredModelVersion> {
  const found = await store.getVersion(name, version);
  if (!found) throw notFound(`Model Version (name=${name}, version=${version}) not found`);
  return found;
}

function artifactUriOf(version: StoredModelVersion): string {
  return version.storage_location === null ? version.source : proxiedUriOf(version.storage_location);
}

/** Parses a version number from the wire (a string of digits). */
export function parseVersion(version: string, field = 'version'): number {
  if (!/^\d{1,15}$/.test(version.trim())) {
    throw invalidParameter(
      `Invalid value '${version.slice(0, 100)}' for parameter '${field}': a model version must be a positive integer`,
    );
  }
  return Number(version.trim());
}

function validateModelName(name: string, field: string): void {
  if (name.trim() === '') throw invalidParameter(`Missing value for required parameter '${field}'`);
  validateLength(name, REGISTRY_LIMITS.maxModelNameLength, `parameter '${field}'`);
}

function validateTag(key: string, value: string): void {
  validateKey(key, 'tag key');
  validateLength(value, REGISTRY_LIMITS.maxTagValueLength, `tag '${key}'`);
}

function validateDescription(description: string): void {
  validateLength(description, REGISTRY_LIMITS.maxDescriptionLength, "parameter 'description'");
}

function dedupe(tags: readonly KeyValue[]): KeyValue[] {
  return [...new Map(tags.map((t) => [t.key, t])).values()];
}

function userIdOf(actor: Actor): string {
  return actor.user === 'anonymous' ? '' : actor.user;
}

function modelExists(name: string) {
  return alreadyExists(`Registered Model (name=${name}) already exists.`);
}

function versionId(name: string, version: number | string): string {
  return `${name}/${version}`;
}

function modelChange(action: string, name: string, before: unknown, after: unknown): Change {
  return {
    action,
    entity: 'registered_model',
    entityId: name,
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
  };
}

function versionChange(action: string, id: ModelVersion, before: unknown, after: unknown): Change {
  return {
    action,
    entity: 'model_version',
    entityId: versionId(id.name, id.version),
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
  };
}
