import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, type TestStore, testDialects } from '../../testing/test-stores.js';
import {
  call,
  FAST_SCHEDULER,
  nodeOf,
  out,
  registration,
  startWorkflowApp,
  type WorkflowHarness,
  workflowSpec,
} from '../../testing/workflow-fixtures.js';

const dialects = await testDialects();
const int = { type: 'int' } as const;

describe.each(dialects)('scheduler hand-over on %s', (dialect) => {
  let t: TestStore;
  const open: WorkflowHarness[] = [];

  beforeAll(async () => {
    t = await createTestStore(dialect);
  });
  afterEach(async () => {
    for (const harness of open.splice(0).reverse()) await harness.close();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  async function start(leaseMs: number, shared?: WorkflowHarness): Promise<WorkflowHarness> {
    const harness = await startWorkflowApp(t, {
      ...(shared === undefined
        ? {}
        : { shared: { artifacts: shared.artifacts, countsDir: shared.countsDir, code: shared.code } }),
      workflows: { scheduler: { ...FAST_SCHEDULER, leaseMs } },
    });
    open.push(harness);
    return harness;
  }

  /** a = double(x); w = slow(ms = a.y): a finishes quickly, w runs for 2·x ms (`h` is fresh: no call counted yet). */
  async function launchSlow(h: WorkflowHarness, name: string, x: number): Promise<string> {
    await h.register(
      registration(
        h.code,
        workflowSpec(
          name,
          { x: int },
          [call('a', 'double', { x: { input: 'x' } }), call('w', 'slow', { ms: out('a', 'y') })],
          { done: out('w', 'done') },
          { done: { type: 'boolean' } },
        ),
        ['double', 'slow'],
      ),
    );
    const id = await h.launch(name, { x });
    // Running in the store, and the task's code started in its worker.
    await h.wait(id, (e) => nodeOf(e, 'w').state === 'running');
    for (let tries = 0; (await h.calls('slow')) === 0 && tries < 400; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return id;
  }

  it('continues the executions of a process that died: finished nodes kept, running ones attempted again', async () => {
    const first = await start(600);
    const id = await launchSlow(first, 'crashy', 400);
    expect(await first.calls('slow')).toBe(1);
    // As if killed: the workers die, nothing more is written, the leases run out.
    await first.services.workflowScheduler.stop({ release: false });
    const second = await start(600, first);
    const execution = await second.wait(id);
    expect(execution).toMatchObject({ state: 'succeeded', outputs: { done: true } });
    expect(nodeOf(execution, 'a')).toMatchObject({ state: 'succeeded', attempt: 1 });
    expect(nodeOf(execution, 'w')).toMatchObject({ state: 'succeeded', attempt: 2 });
    expect(await second.calls('double')).toBe(1);
    expect(await second.calls('slow')).toBe(2);
    const attempts = await t.store.db
      .selectFrom('workflow_attempts')
      .select(['attempt', 'state', 'error'])
      .where('execution_id', '=', id)
      .where('node_id', '=', 'w')
      .orderBy('attempt')
      .execute();
    expect(attempts.map((a) => [a.attempt, a.state])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
    expect(JSON.parse(attempts[0]?.error as string)).toMatchObject({ kind: 'system', retryable: true });
    // The run the dead process left running is ended by the one that took over.
    const experiment = await second.services.experiments.getByName('workflows/crashy');
    const { runs } = await second.services.runs.search({
      experimentIds: [String(experiment.experimentId)],
      filter: `tags.keel.execution_id = '${id}' and tags.keel.node_id = 'w'`,
    });
    const statuses = runs.map((run) => [
      run.data.tags?.find((t) => t.key === 'keel.attempt')?.value,
      run.info.status,
    ]);
    expect(statuses.sort()).toEqual([
      ['1', 'FAILED'],
      ['2', 'FINISHED'],
    ]);
  });

  it('hands its executions back on a graceful stop, so another process continues at once', async () => {
    const first = await start(60_000);
    const id = await launchSlow(first, 'handover', 1500);
    await first.services.workflowScheduler.stop();
    const row = await t.store.db
      .selectFrom('workflow_executions')
      .select(['owner', 'state'])
      .where('execution_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ owner: null, state: 'running' });
    const node = await t.store.db
      .selectFrom('workflow_nodes')
      .select(['state', 'attempt'])
      .where('execution_id', '=', id)
      .where('node_id', '=', 'w')
      .executeTakeFirstOrThrow();
    expect(node).toEqual({ state: 'queued', attempt: 2 });
    const second = await start(60_000, first);
    const started = Date.now();
    const execution = await second.wait(id);
    // Well within the 60 s lease: nothing had to expire.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(execution.state).toBe('succeeded');
    expect(nodeOf(execution, 'w').attempt).toBe(2);
  });
});
