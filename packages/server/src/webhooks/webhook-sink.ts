import { randomUUID } from 'node:crypto';
import { PROMPT_TAG_KEY } from '@keel/core';
import type { Transaction } from 'kysely';
import type { Actor, Change, ChangeSink } from '../changes/change.js';
import type { Clock } from '../services/clock.js';
import type { Database, WebhookOutboxRow } from '../store/schema.js';
import { deliveryBody, eventKey, promptCandidate, toWebhookEvent } from './webhook-events.js';
import type { WebhookStore } from './webhook-store.js';

/** What a {@link WebhookSink} needs. */
export interface WebhookSinkOptions {
  readonly store: WebhookStore;
  readonly clock: Clock;
  /** Called after rows were enqueued (wakes the dispatcher early); it may fire for a transaction that later rolls back. */
  readonly onEnqueued?: () => void;
}

/**
 * The webhook outbox's {@link ChangeSink}: turns a registry change into MLflow's event, finds the
 * ACTIVE webhooks subscribed to it and enqueues one delivery per webhook, all inside the caller's
 * transaction, so a delivery exists if and only if the change committed. Changes that fire no
 * MLflow event (tracking changes, renames…) are ignored. Whether a model is a prompt is read in
 * the same transaction, so a tag that makes it one counts from its own change on.
 *
 * @example
 * const recorder = new ChangeRecorder([auditSink, new WebhookSink({ store, clock })]);
 */
export class WebhookSink implements ChangeSink {
  constructor(private readonly options: WebhookSinkOptions) {}

  async record(trx: Transaction<Database>, _actor: Actor, change: Change): Promise<void> {
    const model = promptCandidate(change);
    const mapped = toWebhookEvent(change, model !== undefined && (await isPrompt(trx, model)));
    if (mapped === undefined) return;
    const key = eventKey(mapped.event);
    const hooks = await this.options.store.activeSubscribers(key, trx);
    const subscribed = hooks.filter((hook) => (JSON.parse(hook.events) as string[]).includes(key));
    if (subscribed.length === 0) return;
    const now = this.options.clock();
    const body = deliveryBody(mapped.event, mapped.data, now);
    const rows: WebhookOutboxRow[] = subscribed.map((hook) => ({
      delivery_id: randomUUID(),
      webhook_id: hook.webhook_id,
      event: key,
      payload: body,
      created_at: now,
      next_attempt_at: now,
      attempts: 0,
      state: 'pending',
      claimed_until: 0,
      claimed_by: null,
    }));
    await this.options.store.enqueue(rows, trx);
    this.options.onEnqueued?.();
  }
}

/** Whether the registered model `name` carries {@link PROMPT_TAG_KEY} (MLflow's mark of a prompt). */
async function isPrompt(trx: Transaction<Database>, name: string): Promise<boolean> {
  const tag = await trx
    .selectFrom('registered_model_tags')
    .select('key')
    .where('name', '=', name)
    .where('key', '=', PROMPT_TAG_KEY)
    .executeTakeFirst();
  return tag !== undefined;
}
