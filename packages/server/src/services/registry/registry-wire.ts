import type { ModelVersion, ModelVersionStage, ModelVersionStatus, RegisteredModel } from '@keel/core';
import type { StoredModelVersion, StoredRegisteredModel } from '../../store/registry-store.js';

/** Wire form of a stored model version (MLflow's `ModelVersion`; the number as a string). */
export function toWireVersion(v: StoredModelVersion): ModelVersion {
  return {
    name: v.name,
    version: String(v.version),
    creation_timestamp: v.creation_timestamp,
    last_updated_timestamp: v.last_updated_timestamp,
    ...(v.user_id !== '' ? { user_id: v.user_id } : {}),
    current_stage: v.current_stage as ModelVersionStage,
    ...(v.description !== null ? { description: v.description } : {}),
    source: v.source,
    ...(v.run_id !== null ? { run_id: v.run_id } : {}),
    status: v.status as ModelVersionStatus,
    ...(v.status_message !== null ? { status_message: v.status_message } : {}),
    tags: v.tags,
    ...(v.run_link !== null ? { run_link: v.run_link } : {}),
    aliases: v.aliases,
  };
}

/** Wire form of a stored registered model (MLflow's `RegisteredModel`). */
export function toWireModel(m: StoredRegisteredModel): RegisteredModel {
  return {
    name: m.name,
    creation_timestamp: m.creation_timestamp,
    last_updated_timestamp: m.last_updated_timestamp,
    ...(m.description !== null ? { description: m.description } : {}),
    latest_versions: m.latestVersions.map(toWireVersion),
    tags: m.tags,
    aliases: m.aliases.map((a) => ({ alias: a.alias, version: String(a.version) })),
  };
}
