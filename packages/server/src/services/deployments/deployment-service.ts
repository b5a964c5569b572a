import {
  alreadyExists,
  DEPLOYMENT_LIMITS,
  type Deployment,
  type DeploymentAction,
  type DeploymentRevision,
  invalidParameter,
  notFound,
  parseDeploymentSpec,
  validateDeploymentName,
  validateLength,
} from '@keel/core';
import type { Transaction } from 'kysely';
import type { Actor, Change, ChangeSink } from '../../changes/change.js';
import type { DeploymentStore, StoredDeployment } from '../../store/deployment-store.js';
import type { Database, DeploymentRevisionRow, DeploymentRow } from '../../store/schema.js';
import { isUniqueViolation } from '../../store/store-errors.js';
import type { Clock } from '../clock.js';
import { toWireDeployment, toWireRevision } from './deployment-wire.js';

/** Everything the deployment service needs. */
export interface DeploymentServiceOptions {
  store: DeploymentStore;
  /** Sees every deployment change inside its transaction (audit log, webhooks). */
  changes: ChangeSink;
  clock: Clock;
}

/** Input of {@link DeploymentService.create}; `spec` is checked with `parseDeploymentSpec`. */
export interface CreateDeploymentInput {
  name: string;
  spec: unknown;
  /** @default none */
  description?: string;
}

/** Input of {@link DeploymentService.update}: at least one field; `''` clears the description. */
export interface UpdateDeploymentInput {
  spec?: unknown;
  description?: string;
}

/** What one revision-making change writes. */
interface RevisionChange {
  action: DeploymentAction;
  /** Canonical JSON of the spec. */
  spec: string;
  description: string | null;
  sourceRevision: number | null;
}

/**
 * Deployments: named, versioned serving configurations. Every change — create, update,
 * rollback — is a new revision numbered 1, 2, … per name, written with the deployment row in one
 * transaction and recorded through the change sink (entity `deployment`, actions
 * `deployment.created|updated|rolled_back|deleted`) in that same transaction.
 *
 * Writers of one deployment take turns on its row (see `DeploymentStore.lock`), so concurrent
 * updates get consecutive revision numbers, never the same one. An update that changes nothing
 * makes no revision. Deleting keeps the revisions (readable through {@link revisions} and
 * {@link getRevision}); creating the name again continues its numbering, so a
 * (deployment, revision) pair always names one spec. Model URIs are checked for syntax only:
 * whether they resolve is the runtime's concern (the deployment is not ready until they do).
 *
 * @example
 * const d = await deployments.create(actor, {
 *   name: 'fraud',
 *   spec: { routes: [{ name: 'stable', model: 'models:/fraud@champion', weight: 90 }, { name: 'canary', model: 'models:/fraud/8', weight: 10 }] },
 * });
 * await deployments.rollback(actor, 'fraud', 1); // revision 3, with revision 1's spec
 */
export class DeploymentService {
  constructor(private readonly options: DeploymentServiceOptions) {}

  /** Creates a deployment at its first revision. @throws RESOURCE_ALREADY_EXISTS for a live name. */
  async create(actor: Actor, input: CreateDeploymentInput): Promise<Deployment> {
    validateDeploymentName(input.name);
    const spec = JSON.stringify(parseDeploymentSpec(input.spec));
    const description = checkDescription(input.description);
    try {
      return await this.options.store.transaction(async (store, trx) => {
        const existing = await store.lock(input.name);
        if (existing !== undefined && existing.deleted_at === null) throw deploymentExists(input.name);
        const now = this.options.clock();
        const deployment: DeploymentRow = {
          name: input.name,
          revision: existing === undefined ? 1 : existing.revision + 1,
          description,
          creation_timestamp: now,
          created_by: actor.user,
          last_updated_timestamp: now,
          last_updated_by: actor.user,
          deleted_at: null,
        };
        const { name, ...fields } = deployment;
        if (existing === undefined) await store.insert(deployment);
        else await store.update(name, fields);
        const current = revisionRow(deployment, now, actor, {
          action: 'created',
          spec,
          description,
          sourceRevision: null,
        });
        await store.insertRevision(current);
        const after = toWireDeployment({ deployment, current });
        await this.record(trx, actor, change('deployment.created', name, undefined, after));
        return after;
      });
    } catch (error) {
      // Two creates of a new name at once: the second insert hits the primary key.
      if (isUniqueViolation(error)) throw deploymentExists(input.name);
      throw error;
    }
  }

  /** The deployment at its current revision. @throws RESOURCE_DOES_NOT_EXIST */
  async get(name: string): Promise<Deployment> {
    const stored = await this.options.store.get(name);
    if (stored === undefined) throw deploymentNotFound(name);
    return toWireDeployment(stored);
  }

  /** Every live deployment, by name. */
  async list(): Promise<Deployment[]> {
    return (await this.options.store.list()).map(toWireDeployment);
  }

  /**
   * Replaces the spec and/or the description, making a new revision; when both equal the
   * current ones nothing is written and the current revision is returned.
   */
  async update(actor: Actor, name: string, input: UpdateDeploymentInput): Promise<Deployment> {
    if (input.spec === undefined && input.description === undefined) {
      throw invalidParameter("Nothing to update: give 'spec', 'description' or both");
    }
    const spec = input.spec === undefined ? undefined : JSON.stringify(parseDeploymentSpec(input.spec));
    const description = input.description === undefined ? undefined : checkDescription(input.description);
    return this.options.store.transaction(async (store, trx) => {
      const before = await requireLocked(store, name);
      const next: RevisionChange = {
        action: 'updated',
        spec: spec ?? before.current.spec,
        description: description === undefined ? before.deployment.description : description,
        sourceRevision: null,
      };
      if (next.spec === before.current.spec && next.description === before.deployment.description) {
        return toWireDeployment(before);
      }
      return this.newRevision(store, trx, actor, before, next);
    });
  }

  /** Deletes a deployment; its revisions are kept. @throws RESOURCE_DOES_NOT_EXIST */
  async delete(actor: Actor, name: string): Promise<void> {
    await this.options.store.transaction(async (store, trx) => {
      const before = await requireLocked(store, name);
      await store.update(name, { deleted_at: this.options.clock() });
      await this.record(trx, actor, change('deployment.deleted', name, toWireDeployment(before), undefined));
    });
  }

  /**
   * Every revision of a deployment, newest first, including those made before it was deleted
   * (and so also for a deleted deployment). @throws RESOURCE_DOES_NOT_EXIST for a name never used
   */
  async revisions(name: string): Promise<DeploymentRevision[]> {
    const rows = await this.options.store.revisions(name);
    if (rows.length === 0) throw deploymentNotFound(name);
    return rows.map(toWireRevision);
  }

  /** One revision, also of a deleted deployment (to look up what served a prediction). */
  async getRevision(name: string, revision: number): Promise<DeploymentRevision> {
    const row = await this.options.store.getRevision(name, checkRevision(revision));
    if (row === undefined) throw revisionNotFound(name, revision);
    return toWireRevision(row);
  }

  /**
   * Makes a new revision whose spec is revision `toRevision`'s (the description stays as it is).
   * @throws RESOURCE_DOES_NOT_EXIST for an unknown deployment or revision;
   *   INVALID_PARAMETER_VALUE when `toRevision` is the current one.
   */
  async rollback(actor: Actor, name: string, toRevision: number): Promise<Deployment> {
    const revision = checkRevision(toRevision);
    return this.options.store.transaction(async (store, trx) => {
      const before = await requireLocked(store, name);
      const target = await store.getRevision(name, revision);
      if (target === undefined) throw revisionNotFound(name, revision);
      if (revision === before.deployment.revision) {
        throw invalidParameter(
          `Invalid value ${revision} for parameter 'revision': it is the current revision of deployment '${name}'`,
        );
      }
      return this.newRevision(store, trx, actor, before, {
        action: 'rolled_back',
        spec: target.spec,
        description: before.deployment.description,
        sourceRevision: revision,
      });
    });
  }

  /** Writes the next revision of a locked deployment and records the change. */
  private async newRevision(
    store: DeploymentStore,
    trx: Transaction<Database>,
    actor: Actor,
    before: StoredDeployment,
    next: RevisionChange,
  ): Promise<Deployment> {
    const now = this.options.clock();
    const deployment: DeploymentRow = {
      ...before.deployment,
      revision: before.deployment.revision + 1,
      description: next.description,
      last_updated_timestamp: now,
      last_updated_by: actor.user,
    };
    const current = revisionRow(deployment, now, actor, next);
    await store.insertRevision(current);
    await store.update(deployment.name, {
      revision: deployment.revision,
      description: deployment.description,
      last_updated_timestamp: now,
      last_updated_by: actor.user,
    });
    const after = toWireDeployment({ deployment, current });
    const recorded =
      next.sourceRevision === null ? after : { ...after, source_revision: next.sourceRevision };
    await this.record(
      trx,
      actor,
      change(`deployment.${next.action}`, deployment.name, toWireDeployment(before), recorded),
    );
    return after;
  }

  // Recorded after every row change: the audit log's lock must be the last one a transaction
  // takes (docs/audit.md).
  private record(trx: Transaction<Database>, actor: Actor, recorded: Change): Promise<void> {
    return this.options.changes.record(trx, actor, recorded);
  }
}

/** Locks the deployment row and reads it with its current revision; a deleted one is not found. */
async function requireLocked(store: DeploymentStore, name: string): Promise<StoredDeployment> {
  const row = await store.lock(name);
  const stored = row === undefined || row.deleted_at !== null ? undefined : await store.get(name);
  if (stored === undefined) throw deploymentNotFound(name);
  return stored;
}

function revisionRow(
  deployment: DeploymentRow,
  now: number,
  actor: Actor,
  next: RevisionChange,
): DeploymentRevisionRow {
  return {
    name: deployment.name,
    revision: deployment.revision,
    spec: next.spec,
    description: next.description,
    created_at: now,
    created_by: actor.user,
    action: next.action,
    source_revision: next.sourceRevision,
  };
}

/** `''` clears a description (stored as NULL). */
function checkDescription(description: string | undefined): string | null {
  if (description === undefined || description === '') return null;
  validateLength(description, DEPLOYMENT_LIMITS.maxDescriptionLength, "parameter 'description'");
  return description;
}

function checkRevision(revision: number): number {
  if (!Number.isSafeInteger(revision) || revision < 1) {
    throw invalidParameter(
      `Invalid value ${revision} for parameter 'revision': a revision is a whole number of at least 1`,
    );
  }
  return revision;
}

function change(action: string, name: string, before: unknown, after: unknown): Change {
  return {
    action,
    entity: 'deployment',
    entityId: name,
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
  };
}

function deploymentExists(name: string) {
  return alreadyExists(`Deployment with name '${name}' already exists`);
}

function deploymentNotFound(name: string) {
  return notFound(`Deployment with name '${name}' not found`);
}

function revisionNotFound(name: string, revision: number) {
  return notFound(`Deployment '${name}' has no revision ${revision}`);
}
