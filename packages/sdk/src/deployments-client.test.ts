import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  AlreadyExistsError,
  type Deployment,
  type DeploymentRevision,
  InvalidParameterError,
  KeelClient,
  NotFoundError,
} from './index.js';
import { startTestServer, type TestServer } from './testing/test-server.js';

let server: TestServer;
let keel: KeelClient;

beforeAll(async () => {
  server = await startTestServer();
  keel = new KeelClient({
    trackingUri: server.uri,
    retries: 0,
    headers: { 'x-keel-user': 'sdk-user' },
  });
});

afterAll(async () => {
  await server?.close();
});

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected the call to fail'),
    (error: unknown) => error,
  );
}

describe('keel.deployments', () => {
  it('creates, gets, lists, updates, rolls back and deletes a deployment', async () => {
    const created = await keel.deployments.create(
      'fraud',
      {
        routes: [
          { name: 'stable', model: 'models:/fraud@champion', weight: 90 },
          { name: 'canary', model: 'models:/fraud/8', weight: 10 },
        ],
        shadow: 'models:/fraud/9',
        batching: { maxBatchSize: 16 },
        recording: { mode: 'sample', sampleRate: 0.5 },
      },
      { description: 'Fraud scoring' },
    );
    expect(created).toEqual({
      name: 'fraud',
      revision: 1,
      spec: {
        routes: [
          { name: 'stable', model: 'models:/fraud@champion', weight: 90 },
          { name: 'canary', model: 'models:/fraud/8', weight: 10 },
        ],
        shadow: { model: 'models:/fraud/9' },
        batching: { maxBatchSize: 16, maxDelayMs: 0 },
        recording: { mode: 'sample', sampleRate: 0.5 },
      },
      description: 'Fraud scoring',
      creation_timestamp: expect.any(Number),
      last_updated_timestamp: expect.any(Number),
      created_by: 'sdk-user',
      last_updated_by: 'sdk-user',
    });
    expect(await keel.deployments.get('fraud')).toEqual(created);
    expect(await keel.deployments.list()).toEqual([created]);

    const promoted = await keel.deployments.update('fraud', {
      spec: { ...created.spec, routes: [{ name: 'stable', model: 'models:/fraud/8', weight: 1 }] },
    });
    expect(promoted.revision).toBe(2);
    expect(promoted.spec.routes).toEqual([{ name: 'stable', model: 'models:/fraud/8', weight: 1 }]);
    const described = await keel.deployments.update('fraud', { description: 'promoted v8' });
    expect(described).toMatchObject({ revision: 3, description: 'promoted v8', spec: promoted.spec });

    const rolled = await keel.deployments.rollback('fraud', 1);
    expect(rolled).toMatchObject({ revision: 4, spec: created.spec, description: 'promoted v8' });

    const revisions = await keel.deployments.revisions('fraud');
    expect(revisions.map((r) => [r.revision, r.action, r.source_revision])).toEqual([
      [4, 'rolled_back', 1],
      [3, 'updated', undefined],
      [2, 'updated', undefined],
      [1, 'created', undefined],
    ]);
    expect(await keel.deployments.getRevision('fraud', 2)).toEqual(revisions[2]);

    await keel.deployments.delete('fraud');
    expect(await keel.deployments.list()).toEqual([]);
    expect(await rejection(keel.deployments.get('fraud'))).toBeInstanceOf(NotFoundError);
    // The history outlives the deployment.
    expect((await keel.deployments.revisions('fraud')).map((r) => r.revision)).toEqual([4, 3, 2, 1]);
  });

  it('rebuilds typed errors, with the offending spec field in the message', async () => {
    await keel.deployments.create('dup', { routes: [{ model: 'models:/m/1' }] });
    expect(
      await rejection(keel.deployments.create('dup', { routes: [{ model: 'models:/m/1' }] })),
    ).toBeInstanceOf(AlreadyExistsError);

    const bad = await rejection(
      keel.deployments.create('bad', {
        routes: [{ model: 'models:/m/1' }, { model: 'models:/m/2', weight: -1 }],
      }),
    );
    expect(bad).toBeInstanceOf(InvalidParameterError);
    expect((bad as Error).message).toContain('spec.routes[1].weight must be a non-negative number');

    for (const call of [
      () => keel.deployments.get('ghost'),
      () => keel.deployments.update('ghost', { description: 'x' }),
      () => keel.deployments.delete('ghost'),
      () => keel.deployments.revisions('ghost'),
      () => keel.deployments.getRevision('ghost', 1),
      () => keel.deployments.rollback('ghost', 1),
    ]) {
      expect(await rejection(call())).toBeInstanceOf(NotFoundError);
    }
  });

  it('types its answers', () => {
    expectTypeOf(keel.deployments.get).returns.toEqualTypeOf<Promise<Deployment>>();
    expectTypeOf(keel.deployments.revisions).returns.toEqualTypeOf<Promise<DeploymentRevision[]>>();
  });
});
