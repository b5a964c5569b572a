/**
 * Model-registry entities as they travel on MLflow's wire (`model_registry.proto`): snake_case,
 * int64 times as JSON numbers, and the model version number as a **string**. Shared by the
 * server, the SDK and the web UI.
 */
import { invalidParameter } from './errors.js';
import type { KeyValue } from './tracking.js';

/** MLflow's model-version stages, in proto order. `None` is the stage of a new version. */
export const MODEL_VERSION_STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type ModelVersionStage = (typeof MODEL_VERSION_STAGES)[number];

/** Model-version statuses (PENDING_REGISTRATION=1, FAILED_REGISTRATION=2, READY=3). Keel registers synchronously. */
export const MODEL_VERSION_STATUSES = ['PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY'] as const;
export type ModelVersionStatus = (typeof MODEL_VERSION_STATUSES)[number];

/**
 * The tag MLflow's prompt registry puts on a prompt: on its registered model and on each of its
 * versions (a prompt is a registered model carrying it; its presence counts, whatever the value).
 */
export const PROMPT_TAG_KEY = 'mlflow.prompt.is_prompt';

/** The model-version tag holding a prompt version's template. */
export const PROMPT_TEXT_TAG_KEY = 'mlflow.prompt.text';

/** Registry limits, mirroring the column sizes of MLflow's SQL store. */
export const REGISTRY_LIMITS = {
  maxModelNameLength: 256,
  maxAliasLength: 255,
  maxTagValueLength: 5000,
  maxDescriptionLength: 65_535,
  /** registered-models/search (and the legacy list): default and cap of max_results. */
  modelsSearchDefault: 100,
  modelsSearchMax: 1000,
  /** model-versions/search: default and cap of max_results. */
  versionsSearchDefault: 10_000,
  versionsSearchMax: 200_000,
} as const;

/** `{alias, version}` of a registered model. */
export interface RegisteredModelAlias {
  alias: string;
  version: string;
}

/** A model version on the wire. */
export interface ModelVersion {
  name: string;
  /** The version number, as a string (protobuf declares it so). */
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  current_stage: ModelVersionStage;
  description?: string;
  source: string;
  run_id?: string;
  status: ModelVersionStatus;
  status_message?: string;
  tags?: KeyValue[];
  run_link?: string;
  aliases?: string[];
}

/** A registered model on the wire. */
export interface RegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description?: string;
  /** The latest version in each stage (including `None`). */
  latest_versions?: ModelVersion[];
  tags?: KeyValue[];
  aliases?: RegisteredModelAlias[];
}

/**
 * The canonical spelling of a stage, matched case-insensitively as MLflow does.
 *
 * @example
 * canonicalStage('production') // 'Production'
 * canonicalStage('gold')       // throws INVALID_PARAMETER_VALUE
 */
export function canonicalStage(stage: string, field = 'stage'): ModelVersionStage {
  const found = MODEL_VERSION_STAGES.find((s) => s.toLowerCase() === stage.toLowerCase());
  if (found === undefined) {
    throw invalidParameter(
      `Invalid value '${stage.slice(0, 100)}' for parameter '${field}': a model version stage must be one of ${MODEL_VERSION_STAGES.join(', ')}`,
    );
  }
  return found;
}

/** True for the alias names MLflow reserves: `latest` and `v<digits>`, case-insensitively. */
export function isReservedAlias(alias: string): boolean {
  return /^latest$/i.test(alias) || /^v\d+$/i.test(alias);
}

/**
 * Validates an alias name with MLflow's rules: not empty, at most 255 characters, only letters,
 * digits, `_` and `-`, and not a reserved name (`latest`, `v1`, `V23`…).
 */
export function validateAliasName(alias: string, field = 'alias'): void {
  if (alias === '') throw invalidParameter(`Missing value for required parameter '${field}'`);
  if (alias.length > REGISTRY_LIMITS.maxAliasLength) {
    throw invalidParameter(
      `Invalid value for parameter '${field}': length ${alias.length} exceeds the limit of ${REGISTRY_LIMITS.maxAliasLength}`,
    );
  }
  if (!/^[\w-]*$/.test(alias)) {
    throw invalidParameter(
      `Invalid value '${alias.slice(0, 100)}' for parameter '${field}': alias names may only contain alphanumerics, underscores (_) and dashes (-)`,
    );
  }
  if (isReservedAlias(alias)) {
    throw invalidParameter(
      `Invalid value '${alias}' for parameter '${field}': 'latest' and 'v<number>' aliases are reserved (case-insensitive)`,
    );
  }
}
