import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

/**
 * Who made a change and in which request. Built once per request by the HTTP layer (see
 * `http/rpc.ts`) and handed to every state-changing service call, so the audit log and webhook
 * deliveries can say who did what.
 */
export interface Actor {
  /** The authenticated user; until auth exists, the client's identity (Basic-auth user name, `mlflow.user`…) or `anonymous`. */
  readonly user: string;
  readonly requestId: string;
}

/** The kinds of entity whose changes are recorded. */
export type ChangeEntity =
  | 'experiment'
  | 'run'
  | 'registered_model'
  | 'model_version'
  | 'webhook'
  | 'deployment'
  | 'workflow'
  | 'execution'
  | 'logged_model';

/**
 * One state change, described after the fact: `action` is `<entity>.<verb>` in snake_case
 * (`experiment.created`, `run.deleted`, `model_version.stage_transitioned`,
 * `registered_model_alias.set`…); `before` and `after` are the relevant wire-shaped values
 * (omitted for creations and deletions respectively).
 */
export interface Change {
  readonly action: string;
  readonly entity: ChangeEntity;
  /** The entity's id: experiment id, run id, model name, `name/version` for versions, webhook id, deployment name, workflow name, execution id. */
  readonly entityId: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/**
 * Something that must see every change inside the transaction that makes it (the audit log
 * appends a hash-chained event; the webhook outbox enqueues deliveries), so that a change and its
 * record commit or roll back together.
 */
export interface ChangeSink {
  record(trx: Transaction<Database>, actor: Actor, change: Change): Promise<void>;
  /**
   * Several changes at once, in order, as if each were given to {@link record} (the audit log
   * appends them with one read of its chain head). Optional: {@link recordAll} falls back to
   * `record` one by one.
   */
  recordMany?(trx: Transaction<Database>, changes: readonly ActorChange[]): Promise<void>;
}

/** A change and who made it, for {@link ChangeSink.recordMany}. */
export interface ActorChange {
  readonly actor: Actor;
  readonly change: Change;
}

/**
 * Hands `changes` to `sink` in order: through its `recordMany` when it has one, else one
 * `record` call each.
 *
 * @example
 * await recordAll(recorder, trx, [{ actor, change: created }, { actor, change: ended }]);
 */
export async function recordAll(
  sink: ChangeSink,
  trx: Transaction<Database>,
  changes: readonly ActorChange[],
): Promise<void> {
  if (changes.length === 0) return;
  if (sink.recordMany !== undefined) return sink.recordMany(trx, changes);
  for (const { actor, change } of changes) await sink.record(trx, actor, change);
}

/** Hands each change to every sink, in order, inside the caller's transaction. */
export class ChangeRecorder implements ChangeSink {
  constructor(private readonly sinks: readonly ChangeSink[]) {}

  async record(trx: Transaction<Database>, actor: Actor, change: Change): Promise<void> {
    for (const sink of this.sinks) await sink.record(trx, actor, change);
  }

  /** Hands all of `changes` to each sink in turn (see {@link recordAll}). */
  async recordMany(trx: Transaction<Database>, changes: readonly ActorChange[]): Promise<void> {
    for (const sink of this.sinks) await recordAll(sink, trx, changes);
  }
}

/** An actor for changes made outside any request (CLI maintenance, tests). */
export function systemActor(user = 'system'): Actor {
  return { user, requestId: 'system' };
}
