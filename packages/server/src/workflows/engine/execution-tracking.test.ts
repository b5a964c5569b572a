import type { Run } from '@keel/core';
import type { Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor, Change, ChangeSink } from '../../changes/change.js';
import type { Database } from '../../store/schema.js';
import { createTestStore, type TestStore, testDialects } from '../../testing/test-stores.js';
import {
  call,
  nodeOf,
  out,
  registration,
  startWorkflowApp,
  type WorkflowHarness,
  workflowSpec,
} from '../../testing/workflow-fixtures.js';

const dialects = await testDialects();
const int = { type: 'int' } as const;

/** Fails the creation of any run tagged with workflow `doomed`, as a store error would. */
class DoomedRunsSink implements ChangeSink {
  async record(_trx: Transaction<Database>, _actor: Actor, change: Change): Promise<void> {
    const tags = (change.after as { tags?: { key: string; value: string }[] } | undefined)?.tags ?? [];
    if (
      change.action === 'run.created' &&
      tags.some((t) => t.key === 'keel.workflow' && t.value === 'doomed')
    ) {
      throw new Error('the store refused the run');
    }
  }
}

describe.each(dialects)('execution tracking on %s', (dialect) => {
  let t: TestStore;
  let h: WorkflowHarness;

  beforeAll(async () => {
    t = await createTestStore(dialect);
    h = await startWorkflowApp(t, { changeSinks: [new DoomedRunsSink()] });
  });
  afterAll(async () => {
    await h?.close();
    await t?.dispose();
  });

  /** The runs of an execution of `workflow`, attempt runs by `node#attempt`. */
  async function runsOf(workflow: string, executionId: string): Promise<Map<string, Run>> {
    const experiment = await h.services.experiments.getByName(`workflows/${workflow}`);
    const { runs } = await h.services.runs.search({
      experimentIds: [String(experiment.experimentId)],
      filter: `tags.keel.execution_id = '${executionId}'`,
    });
    const tag = (run: Run, key: string) => run.data.tags?.find((x) => x.key === key)?.value;
    return new Map(
      runs.map((run) => [
        tag(run, 'keel.node_id') === undefined
          ? 'execution'
          : `${tag(run, 'keel.node_id')}#${tag(run, 'keel.attempt')}`,
        run,
      ]),
    );
  }

  const eventsOf = async (runId: string) =>
    (await h.services.audit.search({ entity: 'run', entityId: runId })).events;

  it('creates and ends a run per execution and per attempt, with their audit events', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec(
          'chain',
          { x: int },
          [call('a', 'inc', { x: { input: 'x' } }), call('b', 'double', { x: out('a', 'y') })],
          { y: out('b', 'y') },
        ),
        ['inc', 'double'],
      ),
    );
    const id = await h.launch('chain', { x: 4 }, { cache: 'skip' });
    const execution = await h.wait(id);
    expect(execution).toMatchObject({ state: 'succeeded', outputs: { y: 10 } });
    const runs = await runsOf('chain', id);
    expect([...runs.keys()].sort()).toEqual(['a#1', 'b#1', 'execution']);
    const main = runs.get('execution') as Run;
    expect(main.info).toMatchObject({
      run_id: execution.run_id,
      status: 'FINISHED',
      user_id: 'alice',
      end_time: execution.ended_at,
    });
    for (const nodeId of ['a', 'b']) {
      const node = nodeOf(execution, nodeId);
      const run = runs.get(`${nodeId}#1`) as Run;
      expect(run.info).toMatchObject({
        run_id: node.run_id,
        run_name: nodeId,
        status: 'FINISHED',
        start_time: node.started_at,
        end_time: node.ended_at,
        experiment_id: main.info.experiment_id,
      });
      expect(run.data.tags).toContainEqual({ key: 'mlflow.parentRunId', value: execution.run_id });
      expect(run.data.params).toEqual([{ key: 'x', value: String(node.inputs?.x) }]);
      const events = await eventsOf(run.info.run_id);
      expect(events.map((e) => [e.action, e.actor, e.request_id])).toEqual([
        ['run.created', 'alice', `workflow-execution:${id}`],
        ['run.updated', 'alice', `workflow-execution:${id}`],
      ]);
      expect(events[1]).toMatchObject({
        before: { status: 'RUNNING' },
        after: { status: 'FINISHED', end_time: node.ended_at },
      });
    }
    expect((await eventsOf(main.info.run_id)).map((e) => e.action)).toEqual(['run.created', 'run.updated']);
    expect(await h.services.audit.verify()).toMatchObject({ ok: true });
  });

  it('gives each attempt of a retried task its own run, ended with the attempt', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec('retry', { x: int }, [call('f', 'flaky', { x: { input: 'x' } })], { y: out('f', 'y') }),
        ['flaky'],
      ),
    );
    const id = await h.launch('retry', { x: 1 });
    const execution = await h.wait(id);
    expect(execution.state).toBe('succeeded');
    const runs = await runsOf('retry', id);
    expect(
      ['f#1', 'f#2', 'f#3'].map((key) => [runs.get(key)?.info.run_name, runs.get(key)?.info.status]),
    ).toEqual([
      ['f', 'FAILED'],
      ['f (attempt 2)', 'FAILED'],
      ['f (attempt 3)', 'FINISHED'],
    ]);
    expect(nodeOf(execution, 'f').run_id).toBe(runs.get('f#3')?.info.run_id);
  });

  it('carries on without tracking when its runs cannot be written', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec('doomed', { x: int }, [call('a', 'inc', { x: { input: 'x' } })], { y: out('a', 'y') }),
        ['inc'],
      ),
    );
    const id = await h.launch('doomed', { x: 1 }, { cache: 'skip' });
    const execution = await h.wait(id);
    expect(execution).toMatchObject({ state: 'succeeded', outputs: { y: 2 }, run_id: null });
    expect(nodeOf(execution, 'a').run_id).toBeNull();
    expect((await runsOf('doomed', id)).size).toBe(0);
    expect(await h.services.audit.verify()).toMatchObject({ ok: true });
  });
});
