import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../artifacts/local/local-artifact-store.js';
import { systemActor } from '../changes/change.js';
import { createServices, type Services } from '../services/services.js';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import { TrackingBatch } from './tracking-batch.js';

const dialects = await testDialects();
const actor = { user: 'alice', requestId: 'workflow-execution:e1' };

describe.each(dialects)('RunService.writeBatch on %s', (dialect) => {
  let t: TestStore;
  let services: Services;
  let artifactsDir: string;
  let now = 1_700_000_000_000;

  beforeAll(async () => {
    t = await createTestStore(dialect);
    artifactsDir = mkdtempSync(join(tmpdir(), 'keel-tracking-batch-'));
    services = createServices(t.store, {
      artifacts: new LocalArtifactStore(artifactsDir),
      clock: () => now++,
      predictionSpillDir: join(artifactsDir, 'spill'),
    });
  });
  afterAll(async () => {
    await services?.predictionRecorder.close();
    await t?.dispose();
    if (artifactsDir) rmSync(artifactsDir, { recursive: true, force: true });
  });

  const experiment = () => services.experiments.requireActive('0');
  const write = (batch: TrackingBatch) =>
    t.store.db.transaction().execute((trx) => services.runs.writeBatch(trx, batch));
  const runEvents = (runId: string) =>
    services.audit.search({ entity: 'run', entityId: runId }).then((page) => page.events);

  it('stores runs, tags, params and ends in one go, recorded as the run API records them', async () => {
    const home = await experiment();
    const created = Array.from({ length: 3 }, (_, i) =>
      services.runs.newRun(
        {
          runName: `fit[${i}]`,
          userId: 'alice',
          startTime: 10 + i,
          tags: [{ key: 'keel.node_id', value: `fit[${i}]` }],
        },
        home,
      ),
    );
    const batch = new TrackingBatch();
    for (const [i, { row, tags }] of created.entries()) {
      batch.create(
        { row, tags, params: services.runs.newParams([{ key: 'alpha', value: String(i) }]), actor },
        'e1',
      );
    }
    const [first, second] = created.map(({ row }) => row.run_uuid) as [string, string];
    batch.end({ runId: first, status: 'FINISHED', endTime: 50, previousStatus: 'RUNNING', actor }, 'e1');
    batch.end({ runId: second, status: 'FAILED', endTime: 60, previousStatus: 'RUNNING', actor }, 'e1');
    expect(batch.sources).toEqual(new Set(['e1']));
    await write(batch);

    const run = await services.runs.get(first);
    expect(run.info).toMatchObject({
      run_name: 'fit[0]',
      user_id: 'alice',
      status: 'FINISHED',
      start_time: 10,
      end_time: 50,
    });
    expect(run.info.artifact_uri).toBe(`${home.artifactLocation}/${first}/artifacts`);
    expect(run.data.params).toEqual([{ key: 'alpha', value: '0' }]);
    expect(run.data.tags).toEqual([
      { key: 'keel.node_id', value: 'fit[0]' },
      { key: 'mlflow.runName', value: 'fit[0]' },
    ]);
    expect((await services.runs.get(second)).info).toMatchObject({ status: 'FAILED', end_time: 60 });
    expect((await services.runs.get(created[2]?.row.run_uuid as string)).info.status).toBe('RUNNING');

    // The same events as RunService.create and update would have appended.
    const reference = await services.runs.create(
      { runName: 'fit[0]', userId: 'alice', startTime: 10, tags: [{ key: 'keel.node_id', value: 'fit[0]' }] },
      actor,
    );
    await services.runs.update({ runId: reference.info.run_id, status: 'FINISHED', endTime: 50 }, actor);
    const shape = (events: Awaited<ReturnType<typeof runEvents>>) =>
      events.map((e) => ({
        action: e.action,
        actor: e.actor,
        request_id: e.request_id,
        before: e.before,
        after: e.after,
      }));
    expect(shape(await runEvents(first))).toEqual(shape(await runEvents(reference.info.run_id)));
    expect(await services.audit.verify()).toMatchObject({ ok: true });
  });

  it('writes hundreds of runs with multi-row statements and one chain of events', async () => {
    const home = await experiment();
    const batch = new TrackingBatch();
    const ids: string[] = [];
    for (let i = 0; i < 700; i++) {
      const { row, tags } = services.runs.newRun({ runName: `n${i}`, startTime: i }, home);
      batch.create({ row, tags, params: [{ key: 'i', value: String(i) }], actor }, `e${i % 3}`);
      batch.end(
        {
          runId: row.run_uuid,
          status: 'FINISHED',
          endTime: 1000 + (i % 2),
          previousStatus: 'RUNNING',
          actor,
        },
        `e${i % 3}`,
      );
      ids.push(row.run_uuid);
    }
    await write(batch);
    const finished = await t.store.db
      .selectFrom('runs')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('run_uuid', 'in', ids)
      .where('status', '=', 'FINISHED')
      .executeTakeFirstOrThrow();
    expect(Number(finished.n)).toBe(700);
    const params = await t.store.db
      .selectFrom('params')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('run_uuid', 'in', ids)
      .executeTakeFirstOrThrow();
    expect(Number(params.n)).toBe(700);
    expect((await runEvents(ids[699] as string)).map((e) => e.action)).toEqual([
      'run.created',
      'run.updated',
    ]);
    expect(await services.audit.verify()).toMatchObject({ ok: true });
  });

  it('ends only active runs still in their previous status, and records only the ends it wrote', async () => {
    const home = await experiment();
    const [gone, killed, twice] = ['gone', 'killed', 'twice'].map((runName) =>
      services.runs.newRun({ runName }, home),
    ) as [
      ReturnType<typeof services.runs.newRun>,
      ReturnType<typeof services.runs.newRun>,
      ReturnType<typeof services.runs.newRun>,
    ];
    const create = new TrackingBatch();
    for (const run of [gone, killed, twice]) create.create({ ...run, params: [], actor }, 'e1');
    await write(create);
    await services.runs.delete(gone.row.run_uuid, systemActor());
    await services.runs.update({ runId: killed.row.run_uuid, status: 'KILLED', endTime: 3 }, systemActor());
    const end = new TrackingBatch();
    for (const run of [gone, killed, twice]) {
      end.end(
        { runId: run.row.run_uuid, status: 'FINISHED', endTime: 5, previousStatus: 'RUNNING', actor },
        'e1',
      );
    }
    end.end(
      { runId: twice.row.run_uuid, status: 'FAILED', endTime: 6, previousStatus: 'RUNNING', actor },
      'e1',
    );
    await write(end);
    const status = async (run: typeof gone) => (await services.runs.get(run.row.run_uuid)).info;
    expect(await status(gone)).toMatchObject({ status: 'RUNNING' });
    expect(await status(killed)).toMatchObject({ status: 'KILLED', end_time: 3 });
    expect(await status(twice)).toMatchObject({ status: 'FINISHED', end_time: 5 });
    const actions = async (run: typeof gone) => (await runEvents(run.row.run_uuid)).map((e) => e.action);
    expect(await actions(gone)).toEqual(['run.created', 'run.deleted']);
    expect(await actions(killed)).toEqual(['run.created', 'run.updated']);
    expect(await actions(twice)).toEqual(['run.created', 'run.updated']);
  });

  it('writes nothing, events included, when a part of the batch fails', async () => {
    const events = (await services.audit.verify()).events;
    const home = await experiment();
    const good = services.runs.newRun({ runName: 'good' }, home);
    const orphan = services.runs.newRun(
      { runName: 'orphan' },
      { experimentId: 987_654, artifactLocation: 'x' },
    );
    const batch = new TrackingBatch();
    batch.create({ ...good, params: [], actor }, 'e1');
    batch.create({ ...orphan, params: [], actor }, 'e2');
    await expect(write(batch)).rejects.toThrow();
    expect(await services.runs.requireRun(good.row.run_uuid).catch((e: Error) => e.message)).toMatch(
      /not found/,
    );
    expect(await services.audit.verify()).toMatchObject({ ok: true, events });
  });

  it('validates params as log-batch does', () => {
    expect(
      services.runs.newParams([
        { key: 'a', value: '1' },
        { key: 'a', value: '1' },
      ]),
    ).toEqual([{ key: 'a', value: '1' }]);
    expect(() =>
      services.runs.newParams([
        { key: 'a', value: '1' },
        { key: 'a', value: '2' },
      ]),
    ).toThrow(/'a' was given twice/);
    expect(() => services.runs.newParams([{ key: 'x'.repeat(300), value: '1' }])).toThrow(/param name/);
  });
});
