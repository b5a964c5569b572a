import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Actor, Change, ChangeSink } from '../changes/change.js';
import type { Clock } from '../services/clock.js';
import type { Database, WebhookOutboxRow } from '../store/schema.js';
import { deliveryBody, eventKey, toWebhookEvent } from './webhook-events.js';
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
 * MLflow event (tracking changes, renames…) are ignored.
 *
 * @example
 * const recorder = new ChangeRecorder([auditSink, new WebhookSink({ store, clock })]);
 */
export class WebhookSink implements ChangeSink {
  constructor(private readonly options: WebhookSinkOptions) {}

  async record(trx: Transaction<Database>, _actor: Actor, change: Change): Promise<void> {
    const mapped = toWebhookEvent(change);
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
