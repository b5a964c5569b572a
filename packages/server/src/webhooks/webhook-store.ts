import type { Kysely, Selectable } from 'kysely';
import type { Database, WebhookDeliveryRow, WebhookOutboxRow, WebhookRow } from '../store/schema.js';

/** A webhook as stored. */
export type StoredWebhook = Selectable<WebhookRow>;
/** An outbox row as stored. */
export type StoredDelivery = Selectable<WebhookOutboxRow>;
/** One logged attempt as stored. */
export type StoredAttempt = Selectable<WebhookDeliveryRow>;

/** The states of an outbox row. */
export const OUTBOX_STATES = ['pending', 'delivered', 'failed'] as const;
/** One of {@link OUTBOX_STATES}. */
export type OutboxState = (typeof OUTBOX_STATES)[number];

/** Fields an update may change. */
export type WebhookPatch = Partial<
  Pick<WebhookRow, 'name' | 'description' | 'url' | 'events' | 'secret' | 'status' | 'last_updated_timestamp'>
>;

/** How one attempt ended, as the dispatcher records it. */
export interface AttemptOutcome {
  readonly attempt: number;
  readonly time: number;
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  /** The row's state after this attempt. */
  readonly state: OutboxState;
  /** When to try again (pending rows only). */
  readonly nextAttemptAt: number;
}

/**
 * SQL for webhooks, the delivery outbox and the delivery log. Every method takes the executor to
 * run on, so the sink can enqueue inside the caller's transaction.
 */
export class WebhookStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: WebhookRow, db: Kysely<Database> = this.db): Promise<void> {
    await db.insertInto('webhooks').values(row).execute();
  }

  async get(webhookId: string, db: Kysely<Database> = this.db): Promise<StoredWebhook | undefined> {
    return db.selectFrom('webhooks').selectAll().where('webhook_id', '=', webhookId).executeTakeFirst();
  }

  /** Oldest first, `limit` rows from `offset`. */
  async list(offset: number, limit: number): Promise<StoredWebhook[]> {
    return this.db
      .selectFrom('webhooks')
      .selectAll()
      .orderBy('creation_timestamp')
      .orderBy('webhook_id')
      .offset(offset)
      .limit(limit)
      .execute();
  }

  /** Returns whether the webhook existed. */
  async update(webhookId: string, patch: WebhookPatch, db: Kysely<Database> = this.db): Promise<boolean> {
    const result = await db
      .updateTable('webhooks')
      .set(patch)
      .where('webhook_id', '=', webhookId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Deletes the webhook with its outbox rows and delivery log; returns whether it existed. */
  async delete(webhookId: string, db: Kysely<Database> = this.db): Promise<boolean> {
    await db.deleteFrom('webhook_deliveries').where('webhook_id', '=', webhookId).execute();
    await db.deleteFrom('webhook_outbox').where('webhook_id', '=', webhookId).execute();
    const result = await db.deleteFrom('webhooks').where('webhook_id', '=', webhookId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /**
   * ACTIVE webhooks whose `events` list holds `eventKey`. The LIKE only narrows the scan (its `_`
   * is a wildcard); the caller checks the parsed list exactly.
   */
  async activeSubscribers(eventKey: string, db: Kysely<Database>): Promise<StoredWebhook[]> {
    return db
      .selectFrom('webhooks')
      .selectAll()
      .where('status', '=', 'ACTIVE')
      .where('events', 'like', `%"${eventKey}"%`)
      .execute();
  }

  async enqueue(rows: readonly WebhookOutboxRow[], db: Kysely<Database>): Promise<void> {
    if (rows.length > 0)
      await db
        .insertInto('webhook_outbox')
        .values([...rows])
        .execute();
  }

  /**
   * Claims up to `limit` due pending rows for `owner` until `leaseUntil`. Each claim is a
   * conditional UPDATE that only succeeds while nobody else holds the row, so two dispatchers
   * racing for the same row never both win, on either dialect.
   */
  async claimDue(now: number, leaseUntil: number, owner: string, limit: number): Promise<StoredDelivery[]> {
    const candidates = await this.db
      .selectFrom('webhook_outbox')
      .select('delivery_id')
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where('claimed_until', '<=', now)
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute();
    const claimed: StoredDelivery[] = [];
    for (const { delivery_id } of candidates) {
      const result = await this.db
        .updateTable('webhook_outbox')
        .set({ claimed_until: leaseUntil, claimed_by: owner })
        .where('delivery_id', '=', delivery_id)
        .where('state', '=', 'pending')
        .where('claimed_until', '<=', now)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) continue;
      const row = await this.db
        .selectFrom('webhook_outbox')
        .selectAll()
        .where('delivery_id', '=', delivery_id)
        .executeTakeFirst();
      if (row) claimed.push(row);
    }
    return claimed;
  }

  /**
   * Logs one attempt and moves the row on, in one transaction, only if `owner` still holds the
   * claim (a dispatcher whose lease ran out must not overwrite the next owner's progress).
   * Returns whether the row was still ours.
   */
  async recordAttempt(delivery: StoredDelivery, owner: string, outcome: AttemptOutcome): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('webhook_outbox')
        .set({
          attempts: outcome.attempt,
          state: outcome.state,
          next_attempt_at: outcome.nextAttemptAt,
          claimed_until: 0,
          claimed_by: null,
        })
        .where('delivery_id', '=', delivery.delivery_id)
        .where('claimed_by', '=', owner)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) return false;
      await trx
        .insertInto('webhook_deliveries')
        .values({
          delivery_id: delivery.delivery_id,
          webhook_id: delivery.webhook_id,
          attempt: outcome.attempt,
          time: outcome.time,
          status_code: outcome.statusCode,
          error: outcome.error,
          duration_ms: outcome.durationMs,
        })
        .execute();
      return true;
    });
  }

  /** Gives a claimed row back untouched (the dispatcher is stopping mid-request). */
  async release(deliveryId: string, owner: string): Promise<void> {
    await this.db
      .updateTable('webhook_outbox')
      .set({ claimed_until: 0, claimed_by: null })
      .where('delivery_id', '=', deliveryId)
      .where('claimed_by', '=', owner)
      .execute();
  }

  /** Finishes a row without an HTTP attempt (its webhook was disabled meanwhile). */
  async abandon(deliveryId: string, owner: string): Promise<void> {
    await this.db
      .updateTable('webhook_outbox')
      .set({ state: 'failed', claimed_until: 0, claimed_by: null })
      .where('delivery_id', '=', deliveryId)
      .where('claimed_by', '=', owner)
      .execute();
  }

  async getDelivery(deliveryId: string): Promise<StoredDelivery | undefined> {
    return this.db
      .selectFrom('webhook_outbox')
      .selectAll()
      .where('delivery_id', '=', deliveryId)
      .executeTakeFirst();
  }

  /** A webhook's outbox rows, newest first, `limit` from `offset`. */
  async listDeliveries(webhookId: string, offset: number, limit: number): Promise<StoredDelivery[]> {
    return this.db
      .selectFrom('webhook_outbox')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .orderBy('created_at', 'desc')
      .orderBy('delivery_id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
  }

  /** Every logged attempt of the given deliveries, in attempt order. */
  async attemptsOf(deliveryIds: readonly string[]): Promise<StoredAttempt[]> {
    if (deliveryIds.length === 0) return [];
    return this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('delivery_id', 'in', [...deliveryIds])
      .orderBy('delivery_id')
      .orderBy('attempt')
      .execute();
  }
}
