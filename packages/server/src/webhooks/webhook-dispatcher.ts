import { randomUUID } from 'node:crypto';
import { DEFAULT_WEBHOOK_DELIVERY, type WebhookDeliveryConfig } from '../config.js';
import type { Clock } from '../services/clock.js';
import { sendWebhookRequest } from './webhook-http.js';
import type { OutboxState, StoredDelivery, WebhookStore } from './webhook-store.js';

/** Where the dispatcher reports trouble it cannot hand to anyone (pino's `warn`/`error` fit). */
export interface WebhookLogger {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** What a {@link WebhookDispatcher} needs. */
export interface WebhookDispatcherOptions {
  readonly store: WebhookStore;
  readonly clock: Clock;
  /** Delivery settings; missing fields take {@link DEFAULT_WEBHOOK_DELIVERY}. */
  readonly config?: Partial<WebhookDeliveryConfig>;
  /** @default a logger that drops everything */
  readonly logger?: WebhookLogger;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Rows claimed per poll and sent concurrently. @default 16 */
  readonly batchSize?: number;
}

const silentLogger: WebhookLogger = { warn: () => undefined, error: () => undefined };

/**
 * Sends the webhook outbox. One per server process: {@link start} begins a background loop that
 * claims due pending rows (a conditional UPDATE, so several processes or replicas on one store
 * never send the same row twice at once), POSTs each with MLflow's signed headers, logs every
 * attempt, and retries non-2xx answers and network errors with exponential backoff plus jitter
 * until `maxAttempts`, then marks the row failed. Rows survive restarts: a new dispatcher picks up
 * every pending row, including ones a crashed process had claimed once their lease runs out.
 *
 * @example
 * const dispatcher = new WebhookDispatcher({ store: new WebhookStore(db), clock: Date.now });
 * dispatcher.start();
 * // … on shutdown:
 * await dispatcher.stop();
 */
export class WebhookDispatcher {
  /** Identifies this dispatcher's claims. */
  readonly id = randomUUID();
  private readonly config: WebhookDeliveryConfig;
  private logger: WebhookLogger;
  private readonly random: () => number;
  private readonly batchSize: number;
  private loop: Promise<void> | undefined;
  private abort = new AbortController();
  private wakeUp: (() => void) | undefined;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.config = Object.freeze({ ...DEFAULT_WEBHOOK_DELIVERY, ...options.config });
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
    this.batchSize = options.batchSize ?? 16;
  }

  /** The resolved delivery settings. */
  get settings(): WebhookDeliveryConfig {
    return this.config;
  }

  /** Whether the background loop runs. */
  get running(): boolean {
    return this.loop !== undefined;
  }

  /** Starts the background loop, logging to `logger` when given; a no-op when it already runs. */
  start(logger?: WebhookLogger): void {
    if (this.loop !== undefined) return;
    if (logger) this.logger = logger;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /**
   * Stops the loop and waits for it. Requests in flight are aborted and their rows handed back
   * unchanged (no attempt counted), so the next dispatcher sends them again.
   */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (loop === undefined) return;
    this.abort.abort();
    this.wakeUp?.();
    await loop;
    this.loop = undefined;
  }

  /** Polls now instead of at the end of the current interval (new rows were enqueued). */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Claims one batch of due rows and sends them; returns how many were claimed. The loop calls
   * it; tests may call it directly on a dispatcher that is not started.
   */
  async runOnce(signal: AbortSignal = new AbortController().signal): Promise<number> {
    const now = this.options.clock();
    // Long enough for the request and its bookkeeping; a crashed owner's rows free up after it.
    const leaseUntil = now + this.config.timeoutMs * 2 + 5000;
    const rows = await this.options.store.claimDue(now, leaseUntil, this.id, this.batchSize);
    await Promise.all(rows.map((row) => this.deliverSafely(row, signal)));
    return rows.length;
  }

  /** Delay before retry number `attempt` (1-based): base·2^(attempt−1), capped, plus up to 25% jitter. */
  backoffMs(attempt: number): number {
    const exponential = Math.min(this.config.backoffMaxMs, this.config.backoffBaseMs * 2 ** (attempt - 1));
    return Math.min(this.config.backoffMaxMs, Math.round(exponential * (1 + 0.25 * this.random())));
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let claimed = 0;
      try {
        claimed = await this.runOnce(signal);
      } catch (error) {
        // The store may be briefly unreachable (PostgreSQL restart); keep polling.
        this.logger.error({ err: error }, 'webhook dispatcher: poll failed');
      }
      if (claimed === 0 && !signal.aborted) await this.sleep(this.config.pollIntervalMs, signal);
    }
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wakeUp = done;
    });
  }

  private async deliverSafely(row: StoredDelivery, signal: AbortSignal): Promise<void> {
    try {
      await this.deliver(row, signal);
    } catch (error) {
      // The claim lapses on its own; the row is retried after the lease.
      this.logger.error({ err: error, deliveryId: row.delivery_id }, 'webhook dispatcher: delivery failed');
    }
  }

  private async deliver(row: StoredDelivery, signal: AbortSignal): Promise<void> {
    const { store, clock } = this.options;
    const attempt = row.attempts + 1;
    const hook = await store.get(row.webhook_id);
    // A deleted webhook takes its outbox rows with it; nothing left to do.
    if (!hook) return;
    if (hook.status !== 'ACTIVE') {
      const now = clock();
      await store.recordAttempt(row, this.id, {
        attempt,
        time: now,
        statusCode: null,
        error: `not sent: webhook is ${hook.status}`,
        durationMs: 0,
        state: 'failed',
        nextAttemptAt: now,
      });
      return;
    }
    const time = clock();
    const response = await sendWebhookRequest({
      url: hook.url,
      deliveryId: row.delivery_id,
      body: row.payload,
      secret: hook.secret,
      timeoutMs: this.config.timeoutMs,
      signal,
      now: time,
    });
    if (response.aborted) {
      await store.release(row.delivery_id, this.id);
      return;
    }
    const ok = response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300;
    const state: OutboxState = ok ? 'delivered' : attempt >= this.config.maxAttempts ? 'failed' : 'pending';
    const finished = clock();
    const mine = await store.recordAttempt(row, this.id, {
      attempt,
      time,
      statusCode: response.statusCode ?? null,
      error: ok ? null : (response.error ?? 'failed'),
      durationMs: response.durationMs,
      state,
      nextAttemptAt: state === 'pending' ? finished + this.backoffMs(attempt) : finished,
    });
    if (!mine) {
      this.logger.warn(
        { deliveryId: row.delivery_id },
        'webhook dispatcher: claim expired before the attempt was recorded',
      );
    } else if (state === 'failed') {
      this.logger.warn(
        { deliveryId: row.delivery_id, webhookId: row.webhook_id, attempts: attempt },
        'webhook delivery failed permanently',
      );
    }
  }
}
