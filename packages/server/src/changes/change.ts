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
  | 'workflow';

/**
 * One state change, described after the fact: `action` is `<entity>.<verb>` in snake_case
 * (`experiment.created`, `run.deleted`, `model_version.stage_transitioned`,
 * `registered_model_alias.set`…); `before` and `after` are the relevant wire-shaped values
 * (omitted for creations and deletions respectively).
 */
export interface Change {
  readonly action: string;
  readonly entity: ChangeEntity;
  /** The entity's id: experiment id, run id, model name, `name/version` for versions, webhook id, deployment name, workflow name. */
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
}

/** Hands each change to every sink, in order, inside the caller's transaction. */
export class ChangeRecorder implements ChangeSink {
  constructor(private readonly sinks: readonly ChangeSink[]) {}

  async record(trx: Transaction<Database>, actor: Actor, change: Change): Promise<void> {
    for (const sink of this.sinks) await sink.record(trx, actor, change);
  }
}

/** An actor for changes made outside any request (CLI maintenance, tests). */
export function systemActor(user = 'system'): Actor {
  return { user, requestId: 'system' };
}
