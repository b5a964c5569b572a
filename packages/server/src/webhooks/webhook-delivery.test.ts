import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { type Change, systemActor } from '../changes/change.js';
import type { WebhookDeliveryConfig } from '../config.js';
import { openStore } from '../store/database.js';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import {
  closedPortUrl,
  startWebhookReceiver,
  type WebhookReceiver,
  waitFor,
} from '../testing/webhook-receiver.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookService } from './webhook-service.js';
import { WebhookSink } from './webhook-sink.js';
import { WebhookStore } from './webhook-store.js';

const dialects = await testDialects();

const FAST: Partial<WebhookDeliveryConfig> = {
  pollIntervalMs: 10,
  backoffBaseMs: 40,
  backoffMaxMs: 1000,
  maxAttempts: 5,
  timeoutMs: 2000,
};

const versionCreated = (name: string, version = '1'): Change => ({
  action: 'model_version.created',
  entity: 'model_version',
  entityId: `${name}/${version}`,
  after: {
    name,
    version,
    source: `models:/m-${version}`,
    run_id: 'r1',
    description: 'first cut',
    tags: [{ key: 'team', value: 'growth' }],
    current_stage: 'None',
    creation_timestamp: 1,
  },
});

describe.each(dialects)('webhook outbox and delivery on %s', (dialect) => {
  let t: TestStore;
  let store: WebhookStore;
  let service: WebhookService;
  let sink: WebhookSink;
  let receiver: WebhookReceiver;
  const dispatchers: WebhookDispatcher[] = [];

  beforeAll(async () => {
    t = await createTestStore(dialect);
    store = new WebhookStore(t.store.db);
    service = new WebhookService({ db: t.store.db, store, clock: Date.now });
    sink = new WebhookSink({ store, clock: Date.now });
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.dispose();
  });
  beforeEach(async () => {
    receiver.requests.length = 0;
    receiver.answer = () => ({ status: 200, body: 'ok' });
    await t.store.db.deleteFrom('webhook_deliveries').execute();
    await t.store.db.deleteFrom('webhook_outbox').execute();
    await t.store.db.deleteFrom('webhooks').execute();
  });
  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
  });

  const dispatcher = (config: Partial<WebhookDeliveryConfig> = FAST, db = t.store.db) => {
    const d = new WebhookDispatcher({ store: new WebhookStore(db), clock: Date.now, config });
    dispatchers.push(d);
    return d;
  };
  const hook = (
    events: { entity: string; action: string }[] = [{ entity: 'MODEL_VERSION', action: 'CREATED' }],
    extra: { url?: string; status?: 'ACTIVE' | 'DISABLED'; secret?: string } = {},
  ) =>
    service.create(systemActor(), {
      name: 'h',
      url: extra.url ?? receiver.url,
      events,
      secret: extra.secret ?? 'whsec_test',
      ...(extra.status ? { status: extra.status } : {}),
    });
  const record = (change: Change) =>
    t.store.db.transaction().execute((trx) => sink.record(trx, systemActor('alice'), change));
  const outbox = () => t.store.db.selectFrom('webhook_outbox').selectAll().orderBy('created_at').execute();
  const attempts = (deliveryId: string) =>
    t.store.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('delivery_id', '=', deliveryId)
      .orderBy('attempt')
      .execute();
  const settled = (deliveryId: string) =>
    waitFor(
      async () => {
        const row = await store.getDelivery(deliveryId);
        return row && row.state !== 'pending' ? row : undefined;
      },
      10_000,
      `delivery ${deliveryId} to settle`,
    );

  describe('the sink', () => {
    it('enqueues one delivery per ACTIVE webhook subscribed to the event, with MLflow payloads', async () => {
      const subscribed = await hook([
        { entity: 'MODEL_VERSION', action: 'CREATED' },
        { entity: 'REGISTERED_MODEL', action: 'CREATED' },
      ]);
      const second = await hook();
      await hook([{ entity: 'MODEL_VERSION', action: 'CREATED' }], { status: 'DISABLED' });
      await hook([{ entity: 'REGISTERED_MODEL', action: 'CREATED' }]);
      await hook([{ entity: 'MODEL_VERSION_TAG', action: 'SET' }]);

      await record(versionCreated('churn', '3'));
      const rows = await outbox();
      expect(rows.map((r) => r.webhook_id).sort()).toEqual([subscribed.webhook_id, second.webhook_id].sort());
      for (const row of rows) {
        expect(row).toMatchObject({ event: 'model_version.created', state: 'pending', attempts: 0 });
        expect(JSON.parse(row.payload)).toEqual({
          entity: 'model_version',
          action: 'created',
          timestamp: new Date(row.created_at).toISOString(),
          data: {
            name: 'churn',
            version: '3',
            source: 'models:/m-3',
            run_id: 'r1',
            tags: { team: 'growth' },
            description: 'first cut',
          },
        });
      }
      expect(new Set(rows.map((r) => r.delivery_id)).size).toBe(2);
    });

    it('maps tag, alias and model events to MLflow events', async () => {
      await hook([
        { entity: 'REGISTERED_MODEL', action: 'CREATED' },
        { entity: 'MODEL_VERSION_TAG', action: 'SET' },
        { entity: 'MODEL_VERSION_TAG', action: 'DELETED' },
        { entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' },
        { entity: 'MODEL_VERSION_ALIAS', action: 'DELETED' },
      ]);
      const changes: Change[] = [
        {
          action: 'registered_model.created',
          entity: 'registered_model',
          entityId: 'churn',
          after: { name: 'churn', tags: [{ key: 'k', value: 'v' }], description: '' },
        },
        {
          action: 'model_version_tag.set',
          entity: 'model_version',
          entityId: 'churn/2',
          after: { key: 'stage', value: 'qa' },
        },
        {
          action: 'model_version_tag.deleted',
          entity: 'model_version',
          entityId: 'churn/2',
          before: { key: 'stage', value: 'qa' },
        },
        {
          action: 'registered_model_alias.set',
          entity: 'registered_model',
          entityId: 'churn',
          after: { alias: 'champion', version: '2' },
        },
        {
          action: 'registered_model_alias.deleted',
          entity: 'registered_model',
          entityId: 'churn',
          before: { alias: 'champion', version: '2' },
        },
      ];
      for (const change of changes) await record(change);
      const bodies = (await outbox()).map((r) => {
        const { entity, action, data } = JSON.parse(r.payload);
        return { event: r.event, entity, action, data };
      });
      expect(bodies).toEqual([
        {
          event: 'registered_model.created',
          entity: 'registered_model',
          action: 'created',
          data: { name: 'churn', tags: { k: 'v' }, description: null },
        },
        {
          event: 'model_version_tag.set',
          entity: 'model_version_tag',
          action: 'set',
          data: { name: 'churn', version: '2', key: 'stage', value: 'qa' },
        },
        {
          event: 'model_version_tag.deleted',
          entity: 'model_version_tag',
          action: 'deleted',
          data: { name: 'churn', version: '2', key: 'stage' },
        },
        {
          event: 'model_version_alias.created',
          entity: 'model_version_alias',
          action: 'created',
          data: { name: 'churn', alias: 'champion', version: '2' },
        },
        {
          event: 'model_version_alias.deleted',
          entity: 'model_version_alias',
          action: 'deleted',
          data: { name: 'churn', alias: 'champion' },
        },
      ]);
    });

    it('ignores changes that fire no MLflow event', async () => {
      await hook([{ entity: 'REGISTERED_MODEL', action: 'CREATED' }]);
      await record({ action: 'experiment.created', entity: 'experiment', entityId: '1', after: {} });
      await record({ action: 'registered_model.renamed', entity: 'registered_model', entityId: 'x' });
      await record({
        action: 'model_version.stage_transitioned',
        entity: 'model_version',
        entityId: 'x/1',
      });
      expect(await outbox()).toEqual([]);
    });

    it('enqueues nothing when the change rolls back', async () => {
      await hook();
      const failure = new Error('registry write failed');
      await expect(
        t.store.db.transaction().execute(async (trx) => {
          await sink.record(trx, systemActor(), versionCreated('rolled-back'));
          // The change itself fails after the sink ran: the whole transaction rolls back.
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await outbox()).toEqual([]);
      await record(versionCreated('committed'));
      expect(await outbox()).toHaveLength(1);
    });
  });

  describe('the dispatcher', () => {
    it('POSTs the payload with MLflow headers and a verifiable signature, and logs the attempt', async () => {
      const h = await hook();
      await record(versionCreated('churn'));
      const [row] = await outbox();
      if (!row) throw new Error('no outbox row');
      dispatcher().start();
      const done = await settled(row.delivery_id);
      expect(done).toMatchObject({ state: 'delivered', attempts: 1 });

      expect(receiver.requests).toHaveLength(1);
      const request = receiver.requests[0];
      if (!request) throw new Error('no request');
      expect(request.method).toBe('POST');
      expect(request.path).toBe('/hook');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.body).toBe(row.payload);
      expect(request.headers['x-mlflow-delivery-id']).toBe(row.delivery_id);
      const timestamp = String(request.headers['x-mlflow-timestamp']);
      expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(30);
      const expected = createHmac('sha256', 'whsec_test')
        .update(`${row.delivery_id}.${timestamp}.${request.body}`, 'utf8')
        .digest('base64');
      expect(request.headers['x-mlflow-signature']).toBe(`v1,${expected}`);

      const log = await attempts(row.delivery_id);
      expect(log).toEqual([
        {
          delivery_id: row.delivery_id,
          webhook_id: h.webhook_id,
          attempt: 1,
          time: expect.any(Number),
          status_code: 200,
          error: null,
          duration_ms: expect.any(Number),
        },
      ]);
    });

    it('sends no signature header for a webhook without a secret', async () => {
      const h = await hook();
      await service.update(systemActor(), h.webhook_id, { secret: '' });
      await record(versionCreated('unsigned'));
      const [row] = await outbox();
      dispatcher().start();
      await settled(row?.delivery_id ?? '');
      expect(receiver.requests[0]?.headers['x-mlflow-signature']).toBeUndefined();
      expect(receiver.requests[0]?.headers['x-mlflow-delivery-id']).toBe(row?.delivery_id);
    });

    it('retries with exponential backoff: 500, 500, then 200 is three attempts and delivered', async () => {
      await hook();
      receiver.answer = (_request, index) => (index < 2 ? { status: 500, body: 'boom' } : { status: 200 });
      await record(versionCreated('flaky'));
      const [row] = await outbox();
      if (!row) throw new Error('no outbox row');
      dispatcher().start();
      const done = await settled(row.delivery_id);
      expect(done).toMatchObject({ state: 'delivered', attempts: 3 });
      const log = await attempts(row.delivery_id);
      expect(log.map((a) => [a.attempt, a.status_code, a.error])).toEqual([
        [1, 500, 'HTTP 500'],
        [2, 500, 'HTTP 500'],
        [3, 200, null],
      ]);
      // Same delivery, same bytes, every time; the waits grow (40 ms, then 80 ms, plus jitter).
      expect(new Set(receiver.requests.map((r) => r.headers['x-mlflow-delivery-id']))).toEqual(
        new Set([row.delivery_id]),
      );
      expect(new Set(receiver.requests.map((r) => r.body))).toEqual(new Set([row.payload]));
      const [a1, a2, a3] = log;
      expect((a2?.time ?? 0) - (a1?.time ?? 0)).toBeGreaterThanOrEqual(40);
      expect((a3?.time ?? 0) - (a2?.time ?? 0)).toBeGreaterThanOrEqual(80);
    });

    it('marks a delivery failed after the last attempt, logging every error', async () => {
      await hook([{ entity: 'MODEL_VERSION', action: 'CREATED' }], { url: await closedPortUrl() });
      await record(versionCreated('nobody-home'));
      const [row] = await outbox();
      if (!row) throw new Error('no outbox row');
      dispatcher({ ...FAST, maxAttempts: 3, backoffBaseMs: 10 }).start();
      const done = await settled(row.delivery_id);
      expect(done).toMatchObject({ state: 'failed', attempts: 3 });
      const log = await attempts(row.delivery_id);
      expect(log).toHaveLength(3);
      for (const a of log) {
        expect(a.status_code).toBeNull();
        expect(a.error).toMatch(/ECONNREFUSED/);
      }
    });

    it('does not send deliveries of a webhook disabled after they were enqueued', async () => {
      const h = await hook();
      await record(versionCreated('disabled-later'));
      await service.update(systemActor(), h.webhook_id, { status: 'DISABLED' });
      const [row] = await outbox();
      dispatcher().start();
      const done = await settled(row?.delivery_id ?? '');
      expect(done.state).toBe('failed');
      expect(receiver.requests).toEqual([]);
      expect((await attempts(done.delivery_id))[0]?.error).toBe('not sent: webhook is DISABLED');
    });

    it('waits for a claim held by a crashed dispatcher to expire, then delivers', async () => {
      await hook();
      await record(versionCreated('orphan'));
      const [row] = await outbox();
      if (!row) throw new Error('no outbox row');
      await t.store.db
        .updateTable('webhook_outbox')
        .set({ claimed_until: Date.now() + 400, claimed_by: 'crashed' })
        .execute();
      dispatcher().start();
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(receiver.requests).toEqual([]);
      expect((await settled(row.delivery_id)).state).toBe('delivered');
      expect(receiver.requests).toHaveLength(1);
    });

    it('stops promptly mid-request and hands the row back without counting an attempt', async () => {
      await hook();
      receiver.answer = () => ({ status: 200, delayMs: 5000 });
      await record(versionCreated('slow'));
      const [row] = await outbox();
      const d = dispatcher({ ...FAST, timeoutMs: 10_000 });
      d.start();
      await waitFor(() => receiver.requests.length === 1, 5000, 'the request');
      const started = Date.now();
      await d.stop();
      expect(Date.now() - started).toBeLessThan(2000);
      expect(d.running).toBe(false);
      const after = await store.getDelivery(row?.delivery_id ?? '');
      expect(after).toMatchObject({ state: 'pending', attempts: 0, claimed_until: 0, claimed_by: null });
      expect(await attempts(row?.delivery_id ?? '')).toEqual([]);
    });

    it('never sends a delivery twice with two dispatchers on one store', async () => {
      await hook();
      receiver.answer = () => ({ status: 200, delayMs: 3 });
      for (let i = 0; i < 40; i += 1) await record(versionCreated('busy', String(i + 1)));
      const second = openStore(t.uri);
      try {
        const one = dispatcher({ ...FAST, pollIntervalMs: 1 });
        const two = dispatcher({ ...FAST, pollIntervalMs: 1 }, second.db);
        one.start();
        two.start();
        await waitFor(
          async () => (await outbox()).every((r) => r.state === 'delivered'),
          20_000,
          'all 40 deliveries',
        );
        await Promise.all([one.stop(), two.stop()]);
      } finally {
        await second.close();
      }
      const ids = receiver.requests.map((r) => String(r.headers['x-mlflow-delivery-id']));
      expect(ids).toHaveLength(40);
      expect(new Set(ids).size).toBe(40);
      const rows = await outbox();
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
    });
  });

  it('a restart loses nothing: a pending delivery is sent by the next server on the same store', async () => {
    const artifactsDir = mkdtempSync(join(tmpdir(), 'keel-webhook-restart-'));
    const config = {
      artifactsDestination: pathToFileURL(artifactsDir).href,
      logLevel: 'silent',
      webhooks: { ...FAST, maxAttempts: 100, backoffBaseMs: 20, backoffMaxMs: 40 },
    };
    let down = true;
    receiver.answer = () => (down ? { status: 503, body: 'down' } : { status: 200 });
    try {
      const first = await buildApp({ store: t.store, config, logger: false });
      const created = await first.inject({
        method: 'POST',
        url: '/api/2.0/mlflow/webhooks',
        payload: {
          name: 'restart',
          url: receiver.url,
          events: [{ entity: 'MODEL_VERSION', action: 'CREATED' }],
          secret: 's',
        },
      });
      const webhookId = JSON.parse(created.payload).webhook.webhook_id as string;
      await record(versionCreated('survivor'));
      await waitFor(() => receiver.requests.length >= 2, 5000, 'failed attempts');
      await first.close();

      const [row] = await outbox();
      if (!row) throw new Error('no outbox row');
      expect(row.state).toBe('pending');
      const attemptsBefore = row.attempts;
      const requestsAtClose = receiver.requests.length;
      // A request cut short by the close is handed back, not counted.
      expect(requestsAtClose - attemptsBefore).toBeGreaterThanOrEqual(0);
      expect(requestsAtClose - attemptsBefore).toBeLessThanOrEqual(1);
      // The first server's dispatcher is really gone: nothing is sent while no server runs.
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(receiver.requests.length).toBe(requestsAtClose);

      down = false;
      const second = await buildApp({ store: t.store, config, logger: false });
      try {
        const done = await settled(row.delivery_id);
        expect(done).toMatchObject({ state: 'delivered', attempts: attemptsBefore + 1 });
        const log = await second.inject({
          method: 'GET',
          url: `/api/2.0/keel/webhooks/${webhookId}/deliveries`,
        });
        const [delivery] = JSON.parse(log.payload).deliveries;
        expect(delivery).toMatchObject({
          delivery_id: row.delivery_id,
          webhook_id: webhookId,
          event: 'model_version.created',
          state: 'delivered',
          attempts: attemptsBefore + 1,
        });
        expect(delivery.attempt_log).toHaveLength(attemptsBefore + 1);
        expect(delivery.attempt_log.at(-1)).toMatchObject({ attempt: attemptsBefore + 1, status_code: 200 });
        expect(delivery.attempt_log[0]).toMatchObject({ attempt: 1, status_code: 503, error: 'HTTP 503' });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(artifactsDir, { recursive: true, force: true });
    }
  });
});
