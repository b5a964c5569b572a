import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KeelError } from '@keel/core';
import type { Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor, Change, ChangeSink } from '../../changes/change.js';
import type { Database } from '../../store/schema.js';
import { runWithArtifacts } from '../../testing/registry-fixtures.js';
import { createTestApp, type JsonBody, type TestApp } from '../../testing/test-app.js';
import { testDialects } from '../../testing/test-stores.js';

const dialects = await testDialects();

/** Records every call; checks the call comes inside a live transaction by querying through it. */
class RecordingSink implements ChangeSink {
  readonly calls: { actor: Actor; change: Change; inTransaction: boolean }[] = [];
  async record(trx: Transaction<Database>, actor: Actor, change: Change): Promise<void> {
    // A transaction's handle refuses to start another one: proof we were handed the transaction.
    let inTransaction = false;
    try {
      await trx.transaction().execute(async () => undefined);
    } catch {
      inTransaction = true;
    }
    // The change is visible inside the transaction before it commits.
    await trx.selectFrom('registered_models').select('name').execute();
    this.calls.push({ actor, change, inTransaction });
  }
}

/** Fails on one action, to prove the change it describes is rolled back. */
class FailingSink implements ChangeSink {
  failOn: string | undefined;
  async record(_trx: Transaction<Database>, _actor: Actor, change: Change): Promise<void> {
    if (change.action === this.failOn) throw new KeelError('TEMPORARILY_UNAVAILABLE', 'sink down');
  }
}

describe.each(dialects)('registry changes reach the change sinks (%s)', (dialect) => {
  let t: TestApp;
  const sink = new RecordingSink();
  const failing = new FailingSink();
  let run: JsonBody;
  beforeAll(async () => {
    t = await createTestApp(dialect, { changeSinks: [sink, failing] });
    run = await runWithArtifacts(t, { 'model/MLmodel': 'x' });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('records every change with action, entity, before/after and the actor', async () => {
    const auth = { authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` };
    const call = async (method: 'POST' | 'PATCH' | 'DELETE', path: string, payload: object) => {
      const res = await t.app.inject({
        method,
        url: `/api/2.0/mlflow/${path}`,
        payload,
        headers: { ...auth, 'x-request-id': `req-${path}` },
      });
      expect(res.statusCode, `${path} ${res.payload}`).toBe(200);
      return res.json();
    };
    sink.calls.length = 0;
    await call('POST', 'registered-models/create', { name: 'm' });
    await call('PATCH', 'registered-models/update', { name: 'm', description: 'd' });
    await call('POST', 'registered-models/set-tag', { name: 'm', key: 'k', value: 'v1' });
    await call('POST', 'registered-models/set-tag', { name: 'm', key: 'k', value: 'v2' });
    await call('DELETE', 'registered-models/delete-tag', { name: 'm', key: 'k' });
    await call('POST', 'model-versions/create', { name: 'm', source: `runs:/${run.info.run_id}/model` });
    await call('POST', 'model-versions/create', { name: 'm', source: `runs:/${run.info.run_id}/model` });
    await call('PATCH', 'model-versions/update', { name: 'm', version: '1', description: 'vd' });
    await call('POST', 'model-versions/set-tag', { name: 'm', version: '1', key: 't', value: 'x' });
    await call('DELETE', 'model-versions/delete-tag', { name: 'm', version: '1', key: 't' });
    await call('POST', 'model-versions/transition-stage', { name: 'm', version: '1', stage: 'Staging' });
    await call('POST', 'model-versions/transition-stage', {
      name: 'm',
      version: '2',
      stage: 'Staging',
      archive_existing_versions: true,
    });
    await call('POST', 'registered-models/alias', { name: 'm', alias: 'champ', version: '1' });
    await call('POST', 'registered-models/alias', { name: 'm', alias: 'champ', version: '2' });
    await call('DELETE', 'registered-models/alias', { name: 'm', alias: 'champ' });
    await call('DELETE', 'model-versions/delete', { name: 'm', version: '1' });
    await call('POST', 'registered-models/rename', { name: 'm', new_name: 'm2' });
    await call('DELETE', 'registered-models/delete', { name: 'm2' });

    expect(sink.calls.every((c) => c.inTransaction)).toBe(true);
    expect(sink.calls.every((c) => c.actor.user === 'alice')).toBe(true);
    expect(sink.calls[0]?.actor.requestId).toBe('req-registered-models/create');
    expect(sink.calls.map((c) => [c.change.action, c.change.entity, c.change.entityId])).toEqual([
      ['registered_model.created', 'registered_model', 'm'],
      ['registered_model.updated', 'registered_model', 'm'],
      ['registered_model_tag.set', 'registered_model', 'm'],
      ['registered_model_tag.set', 'registered_model', 'm'],
      ['registered_model_tag.deleted', 'registered_model', 'm'],
      ['model_version.created', 'model_version', 'm/1'],
      ['model_version.created', 'model_version', 'm/2'],
      ['model_version.updated', 'model_version', 'm/1'],
      ['model_version_tag.set', 'model_version', 'm/1'],
      ['model_version_tag.deleted', 'model_version', 'm/1'],
      ['model_version.stage_transitioned', 'model_version', 'm/1'],
      // archive_existing_versions archives version 1 first, then moves version 2.
      ['model_version.stage_transitioned', 'model_version', 'm/1'],
      ['model_version.stage_transitioned', 'model_version', 'm/2'],
      ['registered_model_alias.set', 'registered_model', 'm'],
      ['registered_model_alias.set', 'registered_model', 'm'],
      ['registered_model_alias.deleted', 'registered_model', 'm'],
      ['model_version.deleted', 'model_version', 'm/1'],
      ['registered_model.renamed', 'registered_model', 'm2'],
      ['registered_model.deleted', 'registered_model', 'm2'],
    ]);
    const c = sink.calls.map((x) => x.change);
    expect(c[0]?.before).toBeUndefined();
    expect(c[0]?.after).toMatchObject({ name: 'm' });
    expect(c[1]?.before).not.toHaveProperty('description');
    expect(c[1]?.after).toMatchObject({ description: 'd' });
    expect(c[2]).toMatchObject({ after: { key: 'k', value: 'v1' } });
    expect(c[2]?.before).toBeUndefined();
    expect(c[3]).toMatchObject({ before: { key: 'k', value: 'v1' }, after: { key: 'k', value: 'v2' } });
    expect(c[4]).toMatchObject({ before: { key: 'k', value: 'v2' } });
    expect(c[4]?.after).toBeUndefined();
    expect(c[5]?.after).toMatchObject({ name: 'm', version: '1', current_stage: 'None', status: 'READY' });
    expect(c[11]).toMatchObject({
      before: { current_stage: 'Staging' },
      after: { current_stage: 'Archived' },
    });
    expect(c[12]).toMatchObject({ before: { current_stage: 'None' }, after: { current_stage: 'Staging' } });
    expect(c[13]).toMatchObject({ after: { alias: 'champ', version: '1' } });
    expect(c[14]).toMatchObject({
      before: { alias: 'champ', version: '1' },
      after: { alias: 'champ', version: '2' },
    });
    expect(c[15]).toMatchObject({ before: { alias: 'champ', version: '2' } });
    expect(c[16]).toMatchObject({ before: { version: '1' } });
    expect(c[16]?.after).toBeUndefined();
    expect(c[17]).toMatchObject({ before: { name: 'm' }, after: { name: 'm2' } });
    expect(c[18]).toMatchObject({ before: { name: 'm2' } });
  });

  it('uses x-keel-user, then anonymous, as the actor', async () => {
    sink.calls.length = 0;
    await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/registered-models/create',
      payload: { name: 'who' },
      headers: { 'x-keel-user': 'bob' },
    });
    await t.post('registered-models/set-tag', { name: 'who', key: 'k', value: 'v' });
    expect(sink.calls.map((x) => x.actor.user)).toEqual(['bob', 'anonymous']);
  });

  it('rolls the change back when a sink fails', async () => {
    failing.failOn = 'registered_model.created';
    const res = await t.post('registered-models/create', { name: 'rolled-back' });
    expect(res.status).toBe(503);
    expect((await t.get('registered-models/get', { name: 'rolled-back' })).status).toBe(404);

    failing.failOn = 'model_version.created';
    await t.post('registered-models/create', { name: 'rb' });
    const registryDir = join(t.artifactsDir, 'registry');
    const copiesBefore = existsSync(registryDir) ? readdirSync(registryDir).length : 0;
    const failed = await t.post('model-versions/create', {
      name: 'rb',
      source: `runs:/${run.info.run_id}/model`,
    });
    expect(failed.status).toBe(503);
    expect((await t.get('model-versions/get', { name: 'rb', version: '1' })).status).toBe(404);
    // The partial copy is cleaned up, and the number was not consumed.
    expect(existsSync(registryDir) ? readdirSync(registryDir).length : 0).toBe(copiesBefore);

    failing.failOn = undefined;
    const ok = await t.post('model-versions/create', {
      name: 'rb',
      source: `runs:/${run.info.run_id}/model`,
    });
    expect(ok.body.model_version.version).toBe('1');

    failing.failOn = 'registered_model.deleted';
    expect((await t.call('DELETE', 'registered-models/delete', { name: 'rb' })).status).toBe(503);
    expect((await t.get('model-versions/get', { name: 'rb', version: '1' })).status).toBe(200);
    failing.failOn = undefined;
  });
});
