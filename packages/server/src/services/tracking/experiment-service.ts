import {
  alreadyExists,
  EXPERIMENT_SEARCH_SCHEMA,
  type Experiment,
  invalidParameter,
  type KeyValue,
  LIMITS,
  notFound,
  type ViewType,
  validateExperimentId,
  validateKey,
  validateLength,
} from '@keel/core';
import type { Actor } from '../../changes/change.js';
import type { ExperimentStore, StageFilter, StoredExperiment } from '../../store/experiment-store.js';
import { isUniqueViolation } from '../../store/store-errors.js';
import type { Clock } from '../clock.js';
import { searchPage } from '../search-page.js';

/** Maps MLflow's view type onto the lifecycle stages a search returns. */
export function stagesOf(viewType: ViewType | undefined): StageFilter {
  switch (viewType ?? 'ACTIVE_ONLY') {
    case 'ACTIVE_ONLY':
      return 'active';
    case 'DELETED_ONLY':
      return 'deleted';
    case 'ALL':
      return 'all';
    default:
      throw invalidParameter(`Invalid view_type '${String(viewType)}'`);
  }
}

/** Wire form of a stored experiment. */
export function toWireExperiment(e: StoredExperiment): Experiment {
  return {
    experiment_id: String(e.experimentId),
    name: e.name,
    artifact_location: e.artifactLocation,
    lifecycle_stage: e.lifecycleStage,
    last_update_time: e.lastUpdateTime,
    creation_time: e.creationTime,
    tags: e.tags,
  };
}

/** Parses an experiment id; ids that are well formed but not numeric simply do not exist. */
export function parseExperimentId(id: string, field = 'experiment_id'): number | undefined {
  validateExperimentId(id, field);
  return /^\d{1,15}$/.test(id) ? Number(id) : undefined;
}

/** Everything the experiment service needs. */
export interface ExperimentServiceOptions {
  store: ExperimentStore;
  clock: Clock;
  /** Root under which new experiments get `<root>/<experiment_id>` as artifact location. */
  artifactRoot: string;
}

/**
 * MLflow's experiment rules: names unique and ≤500 chars, soft delete and restore, tags. Every
 * state-changing method takes the {@link Actor} its change is recorded under.
 */
export class ExperimentService {
  constructor(private readonly options: ExperimentServiceOptions) {}

  async create(
    input: {
      name: string;
      artifactLocation?: string;
      tags?: readonly KeyValue[];
    },
    actor: Actor,
  ): Promise<string> {
    validateExperimentName(input.name, 'name');
    const artifactLocation = input.artifactLocation === '' ? undefined : input.artifactLocation;
    if (artifactLocation !== undefined) validateArtifactLocation(artifactLocation);
    const tags = input.tags ?? [];
    for (const tag of tags) validateExperimentTag(tag.key, tag.value);
    if (await this.options.store.getByName(input.name)) throw experimentExists(input.name);
    try {
      const id = await this.options.store.insert(
        {
          name: input.name,
          artifactRoot: this.options.artifactRoot,
          tags,
          now: this.options.clock(),
          ...(artifactLocation === undefined ? {} : { artifactLocation }),
        },
        actor,
      );
      return String(id);
    } catch (error) {
      // Two creates with the same name raced past the check above; the unique index decides.
      if (isUniqueViolation(error)) throw experimentExists(input.name);
      throw error;
    }
  }

  /** Any experiment, active or deleted. */
  async get(id: string): Promise<StoredExperiment> {
    const numeric = parseExperimentId(id);
    const experiment = numeric === undefined ? undefined : await this.options.store.get(numeric);
    if (!experiment) throw notFound(`No Experiment with id=${id} exists`);
    return experiment;
  }

  async getByName(name: string): Promise<StoredExperiment> {
    const experiment = await this.options.store.getByName(name);
    if (!experiment) throw notFound(`Could not find experiment with name '${name}'`);
    return experiment;
  }

  async search(input: {
    filter?: string;
    orderBy?: readonly string[];
    viewType?: ViewType;
    maxResults?: number;
    pageToken?: string;
  }): Promise<{ experiments: StoredExperiment[]; nextPageToken?: string }> {
    const page = await searchPage(
      input,
      {
        schema: EXPERIMENT_SEARCH_SCHEMA,
        defaultMax: LIMITS.experimentsSearchDefault,
        max: LIMITS.experimentsSearchMax,
      },
      (query) => this.options.store.search({ ...query, stages: stagesOf(input.viewType) }),
    );
    return { experiments: page.items, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
  }

  async rename(id: string, newName: string, actor: Actor): Promise<void> {
    validateExperimentName(newName, 'new_name');
    const experiment = await this.requireActive(id);
    if (experiment.name === newName) return;
    if (await this.options.store.getByName(newName)) throw experimentExists(newName);
    try {
      await this.options.store.rename(experiment.experimentId, newName, this.options.clock(), actor);
    } catch (error) {
      if (isUniqueViolation(error)) throw experimentExists(newName);
      throw error;
    }
  }

  /** Soft delete: the experiment and all its runs move to the `deleted` stage. */
  async delete(id: string, actor: Actor): Promise<void> {
    const experiment = await this.requireActive(id);
    await this.options.store.setLifecycleStage(
      experiment.experimentId,
      'deleted',
      this.options.clock(),
      actor,
    );
  }

  async restore(id: string, actor: Actor): Promise<void> {
    const experiment = await this.get(id);
    if (experiment.lifecycleStage !== 'deleted') {
      throw invalidParameter(`Cannot restore experiment ${id}: it is not deleted`);
    }
    await this.options.store.setLifecycleStage(
      experiment.experimentId,
      'active',
      this.options.clock(),
      actor,
    );
  }

  async setTag(id: string, key: string, value: string, actor: Actor): Promise<void> {
    validateExperimentTag(key, value);
    const experiment = await this.requireActive(id);
    await this.options.store.setTag(experiment.experimentId, key, value, actor);
  }

  async deleteTag(id: string, key: string, actor: Actor): Promise<void> {
    const experiment = await this.requireActive(id);
    if (!(await this.options.store.deleteTag(experiment.experimentId, key, actor))) {
      throw notFound(`No tag with name '${key}' in experiment ${id}`);
    }
  }

  /** The experiment, which must be active: MLflow refuses changes to deleted experiments. */
  async requireActive(id: string): Promise<StoredExperiment> {
    const experiment = await this.get(id);
    if (experiment.lifecycleStage !== 'active') {
      throw invalidParameter(
        `The experiment ${id} must be in the 'active' state; it is '${experiment.lifecycleStage}'`,
      );
    }
    return experiment;
  }
}

function experimentExists(name: string) {
  return alreadyExists(`Experiment '${name}' already exists`);
}

function validateExperimentName(name: string, field: string): void {
  if (name.trim() === '')
    throw invalidParameter(`Invalid value for parameter '${field}': experiment name must not be empty`);
  validateLength(name, LIMITS.maxExperimentNameLength, `parameter '${field}'`);
}

function validateExperimentTag(key: string, value: string): void {
  validateKey(key, 'experiment tag key');
  validateLength(value, LIMITS.maxExperimentTagValueLength, `experiment tag '${key}'`);
}

function validateArtifactLocation(location: string): void {
  if (location.startsWith('runs:')) {
    throw invalidParameter(`Invalid value for parameter 'artifact_location': it may not be a 'runs:' URI`);
  }
  if (/[?#]/.test(location) && /^[a-z][a-z0-9+.-]*:/i.test(location)) {
    throw invalidParameter(
      `Invalid value for parameter 'artifact_location': URI query strings and fragments are not allowed`,
    );
  }
}
