import { randomUUID } from 'node:crypto';
import { invalidParameter, notFound } from '@keel/core';
import type { Kysely } from 'kysely';
import type { Actor, ChangeSink } from '../changes/change.js';
import type { Clock } from '../services/clock.js';
import { decodePageToken, pageOf } from '../services/page-token.js';
import type { Database } from '../store/schema.js';
import {
  deliveryBody,
  eventKey,
  examplePayload,
  parseEventKey,
  parseWireEvent,
  toWireEvent,
  type WebhookEvent,
  type WireWebhookEvent,
} from './webhook-events.js';
import { sendWebhookRequest } from './webhook-http.js';
import type {
  StoredAttempt,
  StoredDelivery,
  StoredWebhook,
  WebhookPatch,
  WebhookStore,
} from './webhook-store.js';

/** MLflow's `WebhookStatus`, in proto order. */
export const WEBHOOK_STATUSES = ['ACTIVE', 'DISABLED'] as const;
/** One of {@link WEBHOOK_STATUSES}. */
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

/** A webhook on the wire (MLflow's `Webhook` message). The secret is write-only and never appears. */
export interface WireWebhook {
  webhook_id: string;
  name: string;
  description?: string;
  url: string;
  events: WireWebhookEvent[];
  status: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
}

/** MLflow's `WebhookTestResult`. */
export interface WebhookTestResult {
  success: boolean;
  response_status?: number;
  response_body?: string;
  error_message?: string;
}

/** One outbox row with its attempts, as `GET /api/2.0/keel/webhooks/{id}/deliveries` returns it. */
export interface WireDelivery {
  delivery_id: string;
  webhook_id: string;
  event: string;
  state: string;
  attempts: number;
  created_at: number;
  /** When the next attempt is due (pending deliveries only). */
  next_attempt_at?: number;
  attempt_log: {
    attempt: number;
    time: number;
    status_code?: number;
    error?: string;
    duration_ms: number;
  }[];
}

/** Input of {@link WebhookService.create}, as decoded from the request. */
export interface CreateWebhookInput {
  name: string;
  url: string;
  events: readonly { entity: string; action: string }[];
  description?: string;
  secret?: string;
  status?: WebhookStatus;
}

/** Input of {@link WebhookService.update}; absent fields stay as they are. */
export type UpdateWebhookInput = Partial<CreateWebhookInput>;

/** One page of a listing. */
export interface Page {
  maxResults?: number;
  pageToken?: string;
}

/** What a {@link WebhookService} needs. */
export interface WebhookServiceOptions {
  readonly db: Kysely<Database>;
  readonly store: WebhookStore;
  readonly clock: Clock;
  /** Receives `webhook.created|updated|deleted` inside each write's transaction (the audit log). */
  readonly recorder?: ChangeSink;
  /** Timeout of `webhooks/{id}/test` requests. @default 10000 */
  readonly timeoutMs?: number;
}

const MAX_NAME_LENGTH = 256;
const MAX_URL_LENGTH = 2048;
const DEFAULT_MAX_RESULTS = 100;
const MAX_MAX_RESULTS = 1000;

/**
 * MLflow's webhook rules: create, list, get, update, delete and test, plus Keel's delivery log.
 * URLs must be absolute http(s); events must be entity/action pairs MLflow allows; the secret is
 * stored but never returned.
 */
export class WebhookService {
  constructor(private readonly options: WebhookServiceOptions) {}

  async create(actor: Actor, input: CreateWebhookInput): Promise<WireWebhook> {
    const now = this.options.clock();
    const row: StoredWebhook = {
      webhook_id: randomUUID().replaceAll('-', ''),
      name: checkName(input.name),
      description: input.description ?? null,
      url: checkUrl(input.url),
      events: JSON.stringify(checkEvents(input.events).map(eventKey)),
      secret: input.secret === undefined || input.secret === '' ? null : input.secret,
      status: input.status ?? 'ACTIVE',
      creation_timestamp: now,
      last_updated_timestamp: now,
    };
    const wire = toWireWebhook(row);
    await this.options.db.transaction().execute(async (trx) => {
      await this.options.store.insert(row, trx);
      await this.options.recorder?.record(trx, actor, {
        action: 'webhook.created',
        entity: 'webhook',
        entityId: row.webhook_id,
        after: wire,
      });
    });
    return wire;
  }

  async get(webhookId: string): Promise<WireWebhook> {
    return toWireWebhook(await this.require(webhookId));
  }

  async list(page: Page): Promise<{ webhooks: WireWebhook[]; nextPageToken?: string }> {
    const limit = checkMaxResults(page.maxResults);
    const offset = decodePageToken(page.pageToken);
    const rows = await this.options.store.list(offset, limit + 1);
    const { items, nextPageToken } = pageOf(rows, offset, limit);
    return { webhooks: items.map(toWireWebhook), ...(nextPageToken ? { nextPageToken } : {}) };
  }

  async update(actor: Actor, webhookId: string, input: UpdateWebhookInput): Promise<WireWebhook> {
    const patch: WebhookPatch = {};
    if (input.name !== undefined) patch.name = checkName(input.name);
    if (input.description !== undefined)
      patch.description = input.description === '' ? null : input.description;
    if (input.url !== undefined) patch.url = checkUrl(input.url);
    // Protobuf JSON cannot tell an empty list from an absent one: an empty `events` changes nothing.
    if (input.events !== undefined && input.events.length > 0) {
      patch.events = JSON.stringify(checkEvents(input.events).map(eventKey));
    }
    if (input.secret !== undefined) patch.secret = input.secret === '' ? null : input.secret;
    if (input.status !== undefined) patch.status = input.status;
    return this.options.db.transaction().execute(async (trx) => {
      const before = await this.options.store.get(webhookId, trx);
      if (!before) throw webhookNotFound(webhookId);
      patch.last_updated_timestamp = Math.max(this.options.clock(), before.last_updated_timestamp);
      await this.options.store.update(webhookId, patch, trx);
      const after = toWireWebhook({ ...before, ...patch });
      await this.options.recorder?.record(trx, actor, {
        action: 'webhook.updated',
        entity: 'webhook',
        entityId: webhookId,
        before: toWireWebhook(before),
        after,
      });
      return after;
    });
  }

  async delete(actor: Actor, webhookId: string): Promise<void> {
    await this.options.db.transaction().execute(async (trx) => {
      const before = await this.options.store.get(webhookId, trx);
      if (!before) throw webhookNotFound(webhookId);
      await this.options.store.delete(webhookId, trx);
      await this.options.recorder?.record(trx, actor, {
        action: 'webhook.deleted',
        entity: 'webhook',
        entityId: webhookId,
        before: toWireWebhook(before),
      });
    });
  }

  /**
   * Sends an example payload for `event` (by default the webhook's first event) right away,
   * outside the outbox, and reports what the receiver said. Works for DISABLED webhooks too,
   * as MLflow's does.
   */
  async test(webhookId: string, event?: { entity: string; action: string }): Promise<WebhookTestResult> {
    const hook = await this.require(webhookId);
    const chosen = event ? parseWireEvent(event, 'event') : parseEvents(hook)[0];
    if (!chosen) throw invalidParameter(`Webhook ${webhookId} has no events to test`);
    const now = this.options.clock();
    const response = await sendWebhookRequest({
      url: hook.url,
      deliveryId: randomUUID(),
      body: deliveryBody(chosen, examplePayload(chosen), now),
      secret: hook.secret,
      timeoutMs: this.options.timeoutMs ?? 10_000,
      now,
    });
    if (response.statusCode === undefined) {
      return { success: false, error_message: `Failed to test webhook: ${response.error ?? 'no response'}` };
    }
    const success = response.statusCode >= 200 && response.statusCode < 300;
    return {
      success,
      response_status: response.statusCode,
      ...(response.body !== undefined ? { response_body: response.body } : {}),
      ...(success ? {} : { error_message: `Webhook answered HTTP ${response.statusCode}` }),
    };
  }

  /** Keel's delivery log of one webhook: its deliveries, newest first, each with its attempts. */
  async deliveries(
    webhookId: string,
    page: Page,
  ): Promise<{ deliveries: WireDelivery[]; nextPageToken?: string }> {
    await this.require(webhookId);
    const limit = checkMaxResults(page.maxResults);
    const offset = decodePageToken(page.pageToken);
    const rows = await this.options.store.listDeliveries(webhookId, offset, limit + 1);
    const { items, nextPageToken } = pageOf(rows, offset, limit);
    const attempts = await this.options.store.attemptsOf(items.map((r) => r.delivery_id));
    return {
      deliveries: items.map((row) => toWireDelivery(row, attempts)),
      ...(nextPageToken ? { nextPageToken } : {}),
    };
  }

  private async require(webhookId: string): Promise<StoredWebhook> {
    const hook = await this.options.store.get(webhookId);
    if (!hook) throw webhookNotFound(webhookId);
    return hook;
  }
}

/** The wire form of a stored webhook, without its secret. */
export function toWireWebhook(row: StoredWebhook): WireWebhook {
  return {
    webhook_id: row.webhook_id,
    name: row.name,
    ...(row.description !== null && row.description !== '' ? { description: row.description } : {}),
    url: row.url,
    events: parseEvents(row).map(toWireEvent),
    status: row.status,
    creation_timestamp: row.creation_timestamp,
    last_updated_timestamp: row.last_updated_timestamp,
  };
}

function parseEvents(row: StoredWebhook): WebhookEvent[] {
  return (JSON.parse(row.events) as string[]).flatMap((key) => parseEventKey(key) ?? []);
}

function toWireDelivery(row: StoredDelivery, attempts: readonly StoredAttempt[]): WireDelivery {
  return {
    delivery_id: row.delivery_id,
    webhook_id: row.webhook_id,
    event: row.event,
    state: row.state,
    attempts: row.attempts,
    created_at: row.created_at,
    ...(row.state === 'pending' ? { next_attempt_at: row.next_attempt_at } : {}),
    attempt_log: attempts
      .filter((a) => a.delivery_id === row.delivery_id)
      .map((a) => ({
        attempt: a.attempt,
        time: a.time,
        ...(a.status_code !== null ? { status_code: a.status_code } : {}),
        ...(a.error !== null ? { error: a.error } : {}),
        duration_ms: a.duration_ms,
      })),
  };
}

function webhookNotFound(webhookId: string) {
  return notFound(`Webhook with ID ${webhookId} not found`);
}

function checkName(name: string): string {
  if (name.trim() === '') throw invalidParameter("Missing value for required parameter 'name'");
  if (name.length > MAX_NAME_LENGTH) {
    throw invalidParameter(`Invalid value for parameter 'name': longer than ${MAX_NAME_LENGTH} characters`);
  }
  return name;
}

/**
 * Webhook URLs must be absolute http:// or https:// URLs with a host.
 *
 * @example
 * checkUrl('https://ci.example.com/hooks/mlflow') // ok
 * checkUrl('file:///etc/passwd') // INVALID_PARAMETER_VALUE naming 'url'
 */
export function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidParameter(`Invalid value '${url.slice(0, 200)}' for parameter 'url': not an absolute URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalidParameter(
      `Invalid value '${url.slice(0, 200)}' for parameter 'url': the scheme must be http or https`,
    );
  }
  if (parsed.hostname === '') throw invalidParameter(`Invalid value for parameter 'url': no host`);
  if (url.length > MAX_URL_LENGTH) {
    throw invalidParameter(`Invalid value for parameter 'url': longer than ${MAX_URL_LENGTH} characters`);
  }
  return url;
}

function checkEvents(events: readonly { entity: string; action: string }[]): WebhookEvent[] {
  if (events.length === 0) throw invalidParameter("Missing value for required parameter 'events'");
  const seen = new Map<string, WebhookEvent>();
  events.forEach((raw, index) => {
    const event = parseWireEvent(raw, `events[${index}]`);
    seen.set(eventKey(event), event);
  });
  return [...seen.values()];
}

function checkMaxResults(maxResults: number | undefined): number {
  const value = maxResults ?? DEFAULT_MAX_RESULTS;
  if (value < 1 || value > MAX_MAX_RESULTS) {
    throw invalidParameter(
      `Invalid value ${value} for parameter 'max_results': expected an integer from 1 to ${MAX_MAX_RESULTS}`,
    );
  }
  return value;
}
