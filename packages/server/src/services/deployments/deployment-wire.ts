import type { Deployment, DeploymentAction, DeploymentRevision, DeploymentSpec } from '@keel/core';
import type { StoredDeployment } from '../../store/deployment-store.js';
import type { DeploymentRevisionRow } from '../../store/schema.js';

/** Wire form of a live deployment: its row plus the spec of its current revision. */
export function toWireDeployment({ deployment: d, current }: StoredDeployment): Deployment {
  return {
    name: d.name,
    revision: d.revision,
    spec: JSON.parse(current.spec) as DeploymentSpec,
    ...(d.description !== null ? { description: d.description } : {}),
    creation_timestamp: d.creation_timestamp,
    last_updated_timestamp: d.last_updated_timestamp,
    created_by: d.created_by,
    last_updated_by: d.last_updated_by,
  };
}

/** Wire form of one revision: times and users are the revision's own. */
export function toWireRevision(r: DeploymentRevisionRow): DeploymentRevision {
  return {
    name: r.name,
    revision: r.revision,
    spec: JSON.parse(r.spec) as DeploymentSpec,
    ...(r.description !== null ? { description: r.description } : {}),
    creation_timestamp: r.created_at,
    last_updated_timestamp: r.created_at,
    created_by: r.created_by,
    last_updated_by: r.created_by,
    action: r.action as DeploymentAction,
    ...(r.source_revision !== null ? { source_revision: r.source_revision } : {}),
  };
}
