import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DEPLOYMENT_BATCHING, type DeploymentSpec, KeelError } from '@keel/core';
import type { Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../../artifacts/local/local-artifact-store.js';
import { type Actor, type Change, type ChangeSink, systemActor } from '../../changes/change.js';
import { DEFAULT_BATCHING } from '../../serving/model-server.js';
import type { Database } from '../../store/schema.js';
import { createTestStore, type TestStore, testDialects } from '../../testing/test-stores.js';
import { createServices, type Services } from '../services.js';

const dialects = await testDialects();

const alice: Actor = { user: 'alice', requestId: 'req-a' };
const bob: Actor = { user: 'bob', requestId: 'req-b' };

/** A spec with one route per weight, all on versions of model `m`. */
const spec = (...weights: number[]) => ({
  routes: weights.map((weight, i) => ({ name: `r${i}`, model: `models:/m/${i + 1}`, weight })),
});

/** Fails on one action, to prove the change it describes is rolled back with it. */
class FailingSink implements ChangeSink {
  failOn: string | undefined;
  async record(_trx: Transaction<Database>, _actor: Actor, change: Change): Promise<void> {
    if (change.action === this.failOn) throw new KeelError('TEMPORARILY_UNAVAILABLE', 'sink down');
  }
}

/** The KeelError a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<KeelError> {
  return promise.then(
    () => expect.unreachable('expected the call to fail'),
    (error: unknown) => {
      expect(error).toBeInstanceOf(KeelError);
      return error as KeelError;
    },
  );
}

it("fills a spec's batching with the model server's defaults", () => {
  expect(DEFAULT_DEPLOYMENT_BATCHING).toEqual(DEFAULT_BATCHING);
});

describe.each(dialects)('DeploymentService on %s', (dialect) => {
  let t: TestStore;
  let services: Services;
  let artifactsDir: string;
  let now = 1_000;
  const failing = new FailingSink();
  beforeAll(async () => {
    t = await createTestStore(dialect);
    artifactsDir = mkdtempSync(join(tmpdir(), 'keel-deployments-'));
    services = createServices(t.store, {
      artifacts: new LocalArtifactStore(artifactsDir),
      clock: () => now,
      changeSinks: [failing],
    });
  });
  afterAll(async () => {
    await t?.dispose();
    if (artifactsDir) rmSync(artifactsDir, { recursive: true, force: true });
  });

  it('creates a deployment at revision 1 with its defaults filled, and reads it back', async () => {
    now = 1_000;
    const created = await services.deployments.create(alice, {
      name: 'crud',
      spec: { routes: [{ model: 'models:/fraud@champion' }], shadow: 'models:/fraud/2' },
      description: 'fraud scoring',
    });
    const expectedSpec: DeploymentSpec = {
      routes: [{ name: 'route-0', model: 'models:/fraud@champion', weight: 1 }],
      shadow: { model: 'models:/fraud/2' },
      batching: { maxBatchSize: 64, maxDelayMs: 0 },
      recording: { mode: 'full' },
    };
    expect(created).toEqual({
      name: 'crud',
      revision: 1,
      spec: expectedSpec,
      description: 'fraud scoring',
      creation_timestamp: 1_000,
      last_updated_timestamp: 1_000,
      created_by: 'alice',
      last_updated_by: 'alice',
    });
    expect(await services.deployments.get('crud')).toEqual(created);
    expect((await services.deployments.list()).filter((d) => d.name === 'crud')).toEqual([created]);

    const again = await rejection(services.deployments.create(bob, { name: 'crud', spec: spec(1) }));
    expect(again.code).toBe('RESOURCE_ALREADY_EXISTS');
  });

  it('makes a revision per update, none for an update that changes nothing', async () => {
    now = 2_000;
    await services.deployments.create(alice, { name: 'upd', spec: spec(1) });
    now = 3_000;
    const second = await services.deployments.update(bob, 'upd', { spec: spec(90, 10) });
    expect(second).toMatchObject({
      revision: 2,
      creation_timestamp: 2_000,
      last_updated_timestamp: 3_000,
      created_by: 'alice',
      last_updated_by: 'bob',
    });
    expect(second.spec.routes.map((r) => r.weight)).toEqual([90, 10]);
    expect(second).not.toHaveProperty('description');

    now = 4_000;
    const described = await services.deployments.update(alice, 'upd', { description: 'canary 10%' });
    expect(described).toMatchObject({ revision: 3, description: 'canary 10%', spec: second.spec });

    now = 5_000;
    const unchanged = await services.deployments.update(bob, 'upd', {
      spec: {
        routes: [
          { name: 'r0', model: 'models:/m/1', weight: 90 },
          { name: 'r1', model: 'models:/m/2', weight: 10 },
        ],
      },
      description: 'canary 10%',
    });
    expect(unchanged).toEqual(described);

    const cleared = await services.deployments.update(bob, 'upd', { description: '' });
    expect(cleared.revision).toBe(4);
    expect(cleared).not.toHaveProperty('description');

    const nothing = await rejection(services.deployments.update(bob, 'upd', {}));
    expect(nothing.code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('lists revisions newest first and rolls back to an earlier spec as a new revision', async () => {
    now = 10_000;
    await services.deployments.create(alice, { name: 'rb', spec: spec(1), description: 'd1' });
    now = 11_000;
    await services.deployments.update(bob, 'rb', { spec: spec(50, 50), description: 'd2' });
    now = 12_000;
    const rolled = await services.deployments.rollback(alice, 'rb', 1);
    expect(rolled).toMatchObject({
      revision: 3,
      description: 'd2',
      last_updated_timestamp: 12_000,
      last_updated_by: 'alice',
    });
    expect(rolled.spec).toEqual((await services.deployments.getRevision('rb', 1)).spec);

    const revisions = await services.deployments.revisions('rb');
    expect(
      revisions.map((r) => [r.revision, r.action, r.source_revision, r.created_by, r.creation_timestamp]),
    ).toEqual([
      [3, 'rolled_back', 1, 'alice', 12_000],
      [2, 'updated', undefined, 'bob', 11_000],
      [1, 'created', undefined, 'alice', 10_000],
    ]);
    expect(revisions.map((r) => r.description)).toEqual(['d2', 'd2', 'd1']);
    expect(revisions[1]?.spec.routes).toHaveLength(2);

    const current = await rejection(services.deployments.rollback(alice, 'rb', 3));
    expect(current.code).toBe('INVALID_PARAMETER_VALUE');
    const missing = await rejection(services.deployments.rollback(alice, 'rb', 9));
    expect(missing.code).toBe('RESOURCE_DOES_NOT_EXIST');
    const zero = await rejection(services.deployments.rollback(alice, 'rb', 0));
    expect(zero.code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('deletes a deployment but keeps its revisions; creating it again continues the numbering', async () => {
    now = 20_000;
    await services.deployments.create(alice, { name: 'del', spec: spec(1) });
    await services.deployments.update(alice, 'del', { spec: spec(2) });
    now = 21_000;
    await services.deployments.delete(bob, 'del');

    for (const call of [
      () => services.deployments.get('del'),
      () => services.deployments.update(alice, 'del', { spec: spec(3) }),
      () => services.deployments.delete(alice, 'del'),
      () => services.deployments.rollback(alice, 'del', 1),
    ]) {
      expect((await rejection(call())).code).toBe('RESOURCE_DOES_NOT_EXIST');
    }
    expect((await services.deployments.list()).map((d) => d.name)).not.toContain('del');
    expect((await services.deployments.revisions('del')).map((r) => r.revision)).toEqual([2, 1]);
    expect((await services.deployments.getRevision('del', 2)).spec.routes[0]?.weight).toBe(2);

    now = 22_000;
    const recreated = await services.deployments.create(bob, { name: 'del', spec: spec(5) });
    expect(recreated).toMatchObject({ revision: 3, creation_timestamp: 22_000, created_by: 'bob' });
    expect((await services.deployments.revisions('del')).map((r) => [r.revision, r.action])).toEqual([
      [3, 'created'],
      [2, 'updated'],
      [1, 'created'],
    ]);
    // A revision from before the delete is a valid rollback target.
    expect((await services.deployments.rollback(bob, 'del', 2)).spec.routes[0]?.weight).toBe(2);
  });

  it('answers RESOURCE_DOES_NOT_EXIST for unknown deployments and revisions', async () => {
    for (const call of [
      () => services.deployments.get('nope'),
      () => services.deployments.update(alice, 'nope', { spec: spec(1) }),
      () => services.deployments.delete(alice, 'nope'),
      () => services.deployments.revisions('nope'),
      () => services.deployments.getRevision('nope', 1),
      () => services.deployments.rollback(alice, 'nope', 1),
    ]) {
      expect((await rejection(call())).code).toBe('RESOURCE_DOES_NOT_EXIST');
    }
  });

  it('refuses bad names, specs and descriptions with INVALID_PARAMETER_VALUE naming the field', async () => {
    const cases: [() => Promise<unknown>, string][] = [
      [() => services.deployments.create(alice, { name: 'a/b', spec: spec(1) }), "parameter 'name'"],
      [() => services.deployments.create(alice, { name: 'v', spec: undefined }), 'spec must be an object'],
      [
        () => services.deployments.create(alice, { name: 'v', spec: { routes: [{ model: 'runs:/r/m' }] } }),
        'spec.routes[0].model',
      ],
      [
        () =>
          services.deployments.create(alice, { name: 'v', spec: spec(1), description: 'x'.repeat(70_000) }),
        "parameter 'description'",
      ],
      [() => services.deployments.update(alice, 'crud', { spec: spec(1, -1) }), 'spec.routes[1].weight'],
    ];
    for (const [call, field] of cases) {
      const error = await rejection(call());
      expect(error.code).toBe('INVALID_PARAMETER_VALUE');
      expect(error.message).toContain(field);
    }
    await expect(services.deployments.get('v')).rejects.toThrow(KeelError);
  });

  it('gives 20 concurrent updates the revisions 2 to 21, no gaps, no duplicates', async () => {
    await services.deployments.create(alice, { name: 'race', spec: spec(1) });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        services.deployments.update({ user: `u${i}`, requestId: `r${i}` }, 'race', { spec: spec(i + 2) }),
      ),
    );
    expect(results.map((d) => d.revision).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 2),
    );
    const revisions = await services.deployments.revisions('race');
    expect(revisions.map((r) => r.revision)).toEqual(Array.from({ length: 21 }, (_, i) => 21 - i));
    // Each update's own spec landed in the revision it was answered with.
    for (const result of results) {
      const stored = revisions.find((r) => r.revision === result.revision);
      expect(stored?.spec).toEqual(result.spec);
      expect(stored?.created_by).toBe(result.last_updated_by);
    }
    expect((await services.deployments.get('race')).revision).toBe(21);
  });

  it('lets exactly one of concurrent creates of a name win', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        services.deployments.create(
          { user: `c${i}`, requestId: `c${i}` },
          { name: 'contested', spec: spec(i + 1) },
        ),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect((o.reason as KeelError).code).toBe('RESOURCE_ALREADY_EXISTS');
    }
    expect((await services.deployments.revisions('contested')).map((r) => r.revision)).toEqual([1]);
  });

  it('records every change in the audit log, with actor, before and after', async () => {
    now = 30_000;
    await services.deployments.create(alice, { name: 'audited', spec: spec(1) });
    await services.deployments.update(bob, 'audited', { spec: spec(1, 1) });
    await services.deployments.update(bob, 'audited', { spec: spec(1, 1) }); // no change, no event
    await services.deployments.rollback(alice, 'audited', 1);
    await services.deployments.delete(bob, 'audited');

    const { events } = await services.audit.search({ entity: 'deployment', entityId: 'audited' });
    expect(events.map((e) => [e.action, e.actor, e.request_id])).toEqual([
      ['deployment.created', 'alice', 'req-a'],
      ['deployment.updated', 'bob', 'req-b'],
      ['deployment.rolled_back', 'alice', 'req-a'],
      ['deployment.deleted', 'bob', 'req-b'],
    ]);
    const [created, updated, rolledBack, deleted] = events;
    expect(created?.before).toBeUndefined();
    expect(created?.after).toMatchObject({ name: 'audited', revision: 1 });
    expect(updated?.before).toMatchObject({ revision: 1 });
    expect(updated?.after).toMatchObject({ revision: 2, spec: { routes: [{ name: 'r0' }, { name: 'r1' }] } });
    expect(rolledBack?.after).toMatchObject({ revision: 3, source_revision: 1 });
    expect(deleted?.before).toMatchObject({ revision: 3 });
    expect(deleted?.after).toBeUndefined();
    expect(await services.audit.verify()).toMatchObject({ ok: true });
  });

  it('rolls a change back when recording it fails', async () => {
    await services.deployments.create(alice, { name: 'atomic', spec: spec(1) });
    failing.failOn = 'deployment.updated';
    try {
      const error = await rejection(services.deployments.update(alice, 'atomic', { spec: spec(7) }));
      expect(error.code).toBe('TEMPORARILY_UNAVAILABLE');
    } finally {
      failing.failOn = undefined;
    }
    expect((await services.deployments.get('atomic')).revision).toBe(1);
    expect((await services.deployments.revisions('atomic')).map((r) => r.revision)).toEqual([1]);

    failing.failOn = 'deployment.created';
    try {
      await rejection(services.deployments.create(alice, { name: 'atomic-2', spec: spec(1) }));
    } finally {
      failing.failOn = undefined;
    }
    expect((await rejection(services.deployments.revisions('atomic-2'))).code).toBe(
      'RESOURCE_DOES_NOT_EXIST',
    );
    // The name is free: nothing of the failed create was kept.
    expect((await services.deployments.create(alice, { name: 'atomic-2', spec: spec(1) })).revision).toBe(1);
  });

  it('sends no webhook deliveries for deployment changes', async () => {
    const rows = await t.store.db.selectFrom('webhook_outbox').select('event').execute();
    expect(rows.filter((r) => r.event.startsWith('deployment'))).toEqual([]);
  });

  it('uses a system actor for changes made outside a request', async () => {
    const made = await services.deployments.create(systemActor('ops'), { name: 'by-system', spec: spec(1) });
    expect(made.created_by).toBe('ops');
  });
});
