import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeelError, PROMPT_TAG_KEY, PROMPT_TEXT_TAG_KEY } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../artifacts/local/local-artifact-store.js';
import { systemActor } from '../changes/change.js';
import { createServices, type Services } from '../services/services.js';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import { VALID_ENTITY_ACTIONS, WEBHOOK_ENTITIES } from './webhook-events.js';

const actor = systemActor('prompt-events-test');
const dialects = await testDialects();

/**
 * MLflow's prompt registry keeps prompts as registered models tagged `mlflow.prompt.is_prompt`,
 * each version tagged too, with its template in `mlflow.prompt.text` and the placeholder source
 * `dummy-source` (what `mlflow.genai.register_prompt` sends). These tests make the same calls.
 */
describe.each(dialects)('prompt webhook events on %s', (dialect) => {
  let t: TestStore;
  let services: Services;
  let artifactsDir: string;
  beforeAll(async () => {
    t = await createTestStore(dialect);
    artifactsDir = mkdtempSync(join(tmpdir(), 'keel-prompt-events-'));
    // A clock that moves on every reading: each change's outbox row has a later `created_at`.
    let now = Date.now();
    services = createServices(t.store, {
      artifacts: new LocalArtifactStore(artifactsDir),
      clock: () => (now += 1),
    });
    // Subscribed to every event MLflow has: what is enqueued is exactly what fired.
    await services.webhooks.create(actor, {
      name: 'all',
      url: 'http://127.0.0.1:9/hook',
      events: WEBHOOK_ENTITIES.flatMap((entity) =>
        VALID_ENTITY_ACTIONS[entity].map((action) => ({ entity, action })),
      ),
    });
  });
  afterAll(async () => {
    await t?.dispose();
    if (artifactsDir) rmSync(artifactsDir, { recursive: true, force: true });
  });

  /** The events enqueued since the last call, as `entity.action` and `data`. */
  let seen = 0;
  const fired = async () => {
    const rows = await t.store.db
      .selectFrom('webhook_outbox')
      .select(['event', 'payload'])
      .orderBy('created_at')
      .execute();
    const all = rows.map((row) => ({ event: row.event, data: JSON.parse(row.payload).data }));
    const fresh = all.slice(seen);
    seen = all.length;
    return fresh;
  };

  it('fires prompt events, not model events, for a prompt and its versions, tags and aliases', async () => {
    await services.registry.createModel(
      { name: 'greeting', tags: [{ key: PROMPT_TAG_KEY, value: 'true' }], description: 'says hello' },
      actor,
    );
    expect(await fired()).toEqual([
      {
        event: 'prompt.created',
        data: { name: 'greeting', tags: { [PROMPT_TAG_KEY]: 'true' }, description: 'says hello' },
      },
    ]);

    const version = await services.registry.createVersion(
      {
        name: 'greeting',
        source: 'dummy-source',
        tags: [
          { key: PROMPT_TAG_KEY, value: 'true' },
          { key: PROMPT_TEXT_TAG_KEY, value: 'Hello {{name}}!' },
        ],
        description: 'first wording',
      },
      actor,
    );
    expect(version).toMatchObject({ version: '1', source: 'dummy-source' });
    expect(await services.registry.getDownloadUri('greeting', '1')).toBe('dummy-source');
    expect(await fired()).toEqual([
      {
        event: 'prompt_version.created',
        data: {
          name: 'greeting',
          version: '1',
          template: 'Hello {{name}}!',
          tags: { [PROMPT_TAG_KEY]: 'true', [PROMPT_TEXT_TAG_KEY]: 'Hello {{name}}!' },
          description: 'first wording',
        },
      },
    ]);

    await services.registry.setModelTag('greeting', 'team', 'growth', actor);
    await services.registry.deleteModelTag('greeting', 'team', actor);
    await services.registry.setVersionTag('greeting', '1', 'reviewed', 'yes', actor);
    await services.registry.deleteVersionTag('greeting', '1', 'reviewed', actor);
    await services.registry.setAlias('greeting', 'production', '1', actor);
    await services.registry.deleteAlias('greeting', 'production', actor);
    expect(await fired()).toEqual([
      { event: 'prompt_tag.set', data: { name: 'greeting', key: 'team', value: 'growth' } },
      { event: 'prompt_tag.deleted', data: { name: 'greeting', key: 'team' } },
      {
        event: 'prompt_version_tag.set',
        data: { name: 'greeting', version: '1', key: 'reviewed', value: 'yes' },
      },
      { event: 'prompt_version_tag.deleted', data: { name: 'greeting', version: '1', key: 'reviewed' } },
      { event: 'prompt_alias.created', data: { name: 'greeting', alias: 'production', version: '1' } },
      { event: 'prompt_alias.deleted', data: { name: 'greeting', alias: 'production' } },
    ]);
  });

  it('keeps model events for a model, whose own tags fire none, and checks its version sources', async () => {
    await services.registry.createModel({ name: 'churn' }, actor);
    await services.registry.setModelTag('churn', 'team', 'growth', actor);
    await services.registry.createVersion({ name: 'churn', source: 's3://models/churn/1' }, actor);
    await services.registry.setAlias('churn', 'champion', '1', actor);
    expect((await fired()).map((e) => e.event)).toEqual([
      'registered_model.created',
      'model_version.created',
      'model_version_alias.created',
    ]);
    // Only a prompt version's source goes unchecked.
    const refused = await services.registry
      .createVersion({ name: 'churn', source: 'dummy-source' }, actor)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KeelError);
    expect((refused as KeelError).code).toBe('INVALID_PARAMETER_VALUE');
  });
});
