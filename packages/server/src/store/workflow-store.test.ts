import { KeelError, type TaskSpec, type WorkflowRegistration } from '@keel/core';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { type Actor, ChangeRecorder } from '../changes/change.js';
import { timeOrderedId } from '../predictions/prediction-record.js';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import { type NewNode, WorkflowStore } from './workflow-store.js';

const dialects = await testDialects();

const alice: Actor = { user: 'alice', requestId: 'req-a' };
const HASH = 'c'.repeat(64);

const fitTask: TaskSpec = {
  name: 'fit',
  kind: 'function',
  interface: { inputs: { alpha: { type: 'float' } }, outputs: { score: { type: 'float' } } },
  retries: 2,
  codeHash: HASH,
};

/** A one-task registration of workflow `name`; `salt` changes its content. */
function registration(name: string, salt = 0): WorkflowRegistration {
  return {
    workflow: {
      name,
      interface: { inputs: { alpha: { type: 'float' } }, outputs: { score: { type: 'float' } } },
      nodes: [{ id: 'fit', kind: 'task', task: 'fit', inputs: { alpha: { literal: salt } } }],
      outputs: { score: { node: 'fit', output: 'score' } },
    },
    subworkflows: [],
    tasks: [fitTask, { ...fitTask, name: 'report' }],
    code: { path: `workflows/code/${name}`, sha256: HASH },
  };
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

describe.each(dialects)('WorkflowStore on %s', (dialect) => {
  let t: TestStore;
  let store: WorkflowStore;
  let audit: AuditLog;
  let now = 1_000_000;

  beforeAll(async () => {
    t = await createTestStore(dialect);
    const clock = () => now;
    audit = new AuditLog({ db: t.store.db, dialect: t.store.dialect, clock });
    store = new WorkflowStore({ db: t.store.db, dialect, changes: new ChangeRecorder([audit]), clock });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it.runIf(dialect === 'sqlite')(
    'polls for work without taking the write lock when there is nothing to claim or take back',
    async () => {
      // Another connection holds SQLite's write lock (as the prediction insert thread does).
      const fresh = await createTestStore('sqlite');
      const idle = new WorkflowStore({
        db: fresh.store.db,
        dialect,
        changes: new ChangeRecorder([]),
        clock: () => now,
      });
      const writer = new Database(fresh.uri.replace(/^sqlite:\/\//, ''));
      writer.exec('BEGIN IMMEDIATE');
      try {
        const started = Date.now();
        expect(await idle.claimExecutions('p1', now, 1_000, 10)).toEqual([]);
        expect(await idle.claimExpired(now)).toEqual({ nodes: [], executions: [] });
        expect(Date.now() - started).toBeLessThan(1_000);
      } finally {
        writer.exec('ROLLBACK');
        writer.close();
        await fresh.dispose();
      }
    },
  );

  /** Registers `name` v1 and creates an execution with nodes `a`, `b` (queued) and `c` (pending). */
  async function execution(name: string, nodes?: NewNode[], createdAt = now): Promise<string> {
    await store.registerVersion(registration(name), 'v1', `${name}-hash`, alice);
    const id = timeOrderedId(createdAt);
    await store.createExecution(
      {
        execution_id: id,
        workflow: name,
        version: 'v1',
        state: 'queued',
        inputs: { alpha: 0.5 },
        created_by: 'alice',
        created_at: createdAt,
      },
      nodes ?? [
        { node_id: 'a', kind: 'task', task: 'fit', state: 'queued', queued_at: now },
        { node_id: 'b', kind: 'task', task: 'fit', state: 'queued', queued_at: now },
        { node_id: 'c', kind: 'task', task: 'report', state: 'pending' },
      ],
    );
    return id;
  }

  describe('versions', () => {
    it('registers a version, makes the first one default, and treats identical content as a no-op', async () => {
      now = 2_000;
      expect(await store.registerVersion(registration('train'), 'v1', 'hash-1', alice)).toBe('created');
      expect(await store.registerVersion(registration('train'), 'v1', 'hash-1', alice)).toBe('exists');
      now = 3_000;
      expect(await store.registerVersion(registration('train', 1), 'v2', 'hash-2', alice)).toBe('created');

      const current = await store.getVersion('train');
      expect(current).toMatchObject({
        name: 'train',
        version: 'v1',
        is_default: true,
        content_hash: 'hash-1',
        created_at: 2_000,
        created_by: 'alice',
        description: null,
      });
      expect(current?.spec).toEqual(registration('train'));
      expect(await store.getVersion('train', 'v2')).toMatchObject({ version: 'v2', is_default: false });
      expect(await store.getVersion('train', 'v3')).toBeUndefined();
      expect(await store.getVersion('nope')).toBeUndefined();
      expect((await store.getTasks('train', 'v2')).map((task) => task.name)).toEqual(['fit', 'report']);
    });

    it('refuses the same version with different content, writing nothing', async () => {
      await store.registerVersion(registration('immutable'), 'v1', 'hash-a', alice);
      const error = await rejection(
        store.registerVersion(registration('immutable', 7), 'v1', 'hash-b', alice),
      );
      expect(error.code).toBe('RESOURCE_ALREADY_EXISTS');
      expect((await store.getVersion('immutable', 'v1'))?.content_hash).toBe('hash-a');
    });

    it('lets one of two concurrent registrations of a new workflow create it', async () => {
      const results = await Promise.all([
        store.registerVersion(registration('racy'), 'v1', 'same', alice),
        store.registerVersion(registration('racy'), 'v1', 'same', alice),
      ]);
      expect(results.sort()).toEqual(['created', 'exists']);
    });

    it('sets the default version (rollback), auditing registrations and default changes', async () => {
      await store.registerVersion(registration('roll'), 'v1', 'h1', alice);
      await store.registerVersion(registration('roll', 1), 'v2', 'h2', alice);
      now = 4_000;
      expect(await store.setDefault('roll', 'v2', alice)).toBe(true);
      expect(await store.setDefault('roll', 'v2', alice)).toBe(false);
      expect((await store.getVersion('roll'))?.version).toBe('v2');
      expect(await store.setDefault('roll', 'v1', alice)).toBe(true);
      expect((await rejection(store.setDefault('roll', 'v9', alice))).code).toBe('RESOURCE_DOES_NOT_EXIST');
      expect((await rejection(store.setDefault('ghost', 'v1', alice))).code).toBe('RESOURCE_DOES_NOT_EXIST');

      const { events } = await audit.search({ entity: 'workflow', entityId: 'roll' });
      expect(events.map((e) => [e.action, e.actor, e.before, e.after])).toEqual([
        [
          'workflow.version_registered',
          'alice',
          undefined,
          expect.objectContaining({ version: 'v1', is_default: true, content_hash: 'h1' }),
        ],
        [
          'workflow.version_registered',
          'alice',
          undefined,
          expect.objectContaining({ version: 'v2', is_default: false }),
        ],
        [
          'workflow.default_version_set',
          'alice',
          { name: 'roll', default_version: 'v1' },
          { name: 'roll', default_version: 'v2' },
        ],
        [
          'workflow.default_version_set',
          'alice',
          { name: 'roll', default_version: 'v2' },
          { name: 'roll', default_version: 'v1' },
        ],
      ]);
      expect((await audit.verify()).ok).toBe(true);
    });

    it('lists workflows by name prefix and versions newest first, page by page', async () => {
      for (const name of ['list-a', 'list-b', 'list-c', 'other']) {
        await store.registerVersion(registration(name), 'v1', 'h', alice);
      }
      const first = await store.listWorkflows({ namePrefix: 'list-' }, { maxResults: 2 });
      expect(first.items.map((w) => w.name)).toEqual(['list-a', 'list-b']);
      expect(first.nextPageToken).toBeDefined();
      const second = await store.listWorkflows(
        { namePrefix: 'list-' },
        { maxResults: 2, pageToken: first.nextPageToken as string },
      );
      expect(second.items.map((w) => w.name)).toEqual(['list-c']);
      expect(second.nextPageToken).toBeUndefined();
      expect((await rejection(store.listWorkflows({}, { maxResults: 2, pageToken: '!!' }))).code).toBe(
        'INVALID_PARAMETER_VALUE',
      );

      for (const [i, version] of ['v2', 'v3'].entries()) {
        now = 10_000 + i;
        await store.registerVersion(registration('list-a', i + 1), version, `h${version}`, alice);
      }
      const versions = await store.listVersions('list-a', { maxResults: 2 });
      expect(versions.items.map((v) => [v.version, v.is_default])).toEqual([
        ['v3', false],
        ['v2', false],
      ]);
      expect(versions.items[0]).not.toHaveProperty('spec');
      const rest = await store.listVersions('list-a', {
        maxResults: 2,
        pageToken: versions.nextPageToken as string,
      });
      expect(rest.items.map((v) => [v.version, v.is_default])).toEqual([['v1', true]]);
    });
  });

  describe('executions and nodes', () => {
    it('creates an execution with its nodes in one transaction and reads them back in order', async () => {
      now = 20_000;
      const id = await execution('exec');
      const got = await store.getExecution(id);
      expect(got).toMatchObject({
        execution_id: id,
        workflow: 'exec',
        version: 'v1',
        state: 'queued',
        inputs: { alpha: 0.5 },
        outputs: null,
        error: null,
        mode: 'launch',
        cache_mode: 'use',
        created_by: 'alice',
        created_at: 20_000,
        updated_at: 20_000,
        owner: null,
      });
      expect(got?.nodes.map((n) => [n.node_id, n.state, n.attempt, n.task, n.not_before])).toEqual([
        ['a', 'queued', 0, 'fit', 0],
        ['b', 'queued', 0, 'fit', 0],
        ['c', 'pending', 0, 'report', 0],
      ]);

      // A duplicate node id fails the whole creation: no execution row is left behind.
      const broken = timeOrderedId(now);
      await expect(
        store.createExecution(
          {
            execution_id: broken,
            workflow: 'exec',
            version: 'v1',
            state: 'queued',
            inputs: {},
            created_by: 'alice',
            created_at: now,
          },
          [
            { node_id: 'x', kind: 'task', state: 'queued' },
            { node_id: 'x', kind: 'task', state: 'queued' },
          ],
        ),
      ).rejects.toThrow();
      expect(await store.getExecution(broken)).toBeUndefined();
    });

    it('adds expanded nodes after the existing ones, once', async () => {
      const id = await execution('expand');
      const items: NewNode[] = [0, 1, 2].map((i) => ({
        node_id: `a[${i}]`,
        kind: 'task',
        task: 'fit',
        parent_node: 'a',
        state: 'queued',
        inputs: { alpha: i / 10 },
      }));
      expect(await store.insertNodes(id, items)).toBe(3);
      expect(await store.insertNodes(id, items)).toBe(0);
      const nodes = await store.getNodes(id);
      expect(nodes.map((n) => n.node_id)).toEqual(['a', 'b', 'c', 'a[0]', 'a[1]', 'a[2]']);
      expect(nodes[4]).toMatchObject({ parent_node: 'a', inputs: { alpha: 0.1 } });
      expect((await store.getNodes(id, ['pending'])).map((n) => n.node_id)).toEqual(['c']);
    });

    it('lets exactly one of 20 concurrent transitions with the same expectation win', async () => {
      const id = await execution('cas');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.transitionNode(
            id,
            'a',
            { state: 'queued', attempt: 0 },
            { state: 'running', attempt: 1, owner: `p${i}`, started_at: now },
          ),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await store.getNode(id, 'a')).toMatchObject({
        state: 'running',
        attempt: 1,
        owner: `p${winner}`,
      });

      // Completion of attempt 1 applies once; a stale attempt number never applies.
      const done = { state: 'succeeded', outputs: { score: 0.9 }, ended_at: now } as const;
      expect(await store.transitionNode(id, 'a', { state: 'running', attempt: 0 }, done)).toBe(false);
      expect(await store.transitionNode(id, 'a', { state: 'running', attempt: 1 }, done)).toBe(true);
      expect(await store.transitionNode(id, 'a', { state: 'running', attempt: 1 }, done)).toBe(false);
      expect(await store.getNode(id, 'a')).toMatchObject({ state: 'succeeded', outputs: { score: 0.9 } });
    });

    it('applies a batch of transitions in one transaction, reporting each', async () => {
      const id = await execution('batch');
      const results = await store.transitionNodes([
        {
          executionId: id,
          nodeId: 'b',
          expect: { state: ['queued', 'pending'], attempt: 0 },
          update: { state: 'skipped' },
        },
        {
          executionId: id,
          nodeId: 'c',
          expect: { state: 'queued', attempt: 0 },
          update: { state: 'skipped' },
        },
        {
          executionId: id,
          nodeId: 'c',
          expect: { state: ['queued', 'pending'], attempt: 0 },
          update: { state: 'failed', error: { kind: 'user', retryable: false, message: 'boom' } },
        },
      ]);
      expect(results).toEqual([true, false, true]);
      expect((await store.getNode(id, 'c'))?.error).toEqual({
        kind: 'user',
        retryable: false,
        message: 'boom',
      });
    });

    it('lists due queued nodes, earliest first, honouring not_before', async () => {
      now = 30_000;
      const id = await execution('due', [
        { node_id: 'late', kind: 'task', state: 'queued', not_before: 30_500 },
        { node_id: 'now', kind: 'task', state: 'queued', not_before: 29_000 },
        { node_id: 'idle', kind: 'task', state: 'pending' },
      ]);
      expect((await store.dueNodes(30_000, 10, [id])).map((n) => n.node_id)).toEqual(['now']);
      expect((await store.dueNodes(31_000, 10, [id])).map((n) => n.node_id)).toEqual(['now', 'late']);
      expect(await store.dueNodes(31_000, 10, [])).toEqual([]);
    });

    it('requeues the running nodes of a dead owner with attempt + 1, once, and frees its executions', async () => {
      now = 40_000;
      const id = await execution('crash');
      await store.transitionNode(
        id,
        'a',
        { state: 'queued', attempt: 0 },
        { state: 'running', attempt: 1, owner: 'dead', lease_until: 40_100, started_at: now },
      );
      await store.transitionNode(
        id,
        'b',
        { state: 'queued', attempt: 0 },
        { state: 'running', attempt: 1, owner: 'alive', lease_until: 99_000, started_at: now },
      );
      await store.appendAttempt({
        execution_id: id,
        node_id: 'a',
        attempt: 1,
        started_at: now,
        worker: 'w1',
      });
      expect(await store.claimExecutions('dead', now, 100, 1000)).toContain(id);

      now = 41_000;
      const [first, second] = await Promise.all([store.claimExpired(now), store.claimExpired(now)]);
      const requeued = [...(first?.nodes ?? []), ...(second?.nodes ?? [])].filter(
        (n) => n.execution_id === id,
      );
      expect(requeued).toEqual([{ execution_id: id, node_id: 'a', attempt: 2 }]);
      expect([...(first?.executions ?? []), ...(second?.executions ?? [])].filter((e) => e === id)).toEqual([
        id,
      ]);

      expect(await store.getNode(id, 'a')).toMatchObject({
        state: 'queued',
        attempt: 2,
        owner: null,
        lease_until: null,
        not_before: 41_000,
        error: { kind: 'system', retryable: true },
      });
      expect(await store.getNode(id, 'b')).toMatchObject({ state: 'running', owner: 'alive' });
      expect(await store.listAttempts(id, 'a')).toMatchObject([
        {
          attempt: 1,
          state: 'failed',
          ended_at: 41_000,
          worker: 'w1',
          error: { kind: 'system', retryable: true },
        },
      ]);
      expect(await store.getExecution(id)).toMatchObject({ owner: null, lease_until: null });
    });

    it('hands executions to one owner at a time, renews its leases, and applies execution transitions by compare-and-set', async () => {
      now = 50_000;
      const id = await execution('owned');
      const [mine, theirs] = await Promise.all([
        store.claimExecutions('p1', now, 1_000, 1000),
        store.claimExecutions('p2', now, 1_000, 1000),
      ]);
      expect([mine, theirs].filter((ids) => ids.includes(id))).toHaveLength(1);
      const owner = mine.includes(id) ? 'p1' : 'p2';
      await store.transitionNode(
        id,
        'a',
        { state: 'queued', attempt: 0 },
        { state: 'running', attempt: 1, owner, lease_until: now + 1_000 },
      );
      expect(await store.renewLeases(owner, 60_000)).toMatchObject({ nodes: 1 });
      expect(await store.getNode(id, 'a')).toMatchObject({ lease_until: 60_000 });
      expect((await store.getExecution(id))?.lease_until).toBe(60_000);

      now = 52_000;
      const other = owner === 'p1' ? 'p2' : 'p1';
      expect(
        await store.transitionExecution(id, { state: 'queued', owner: other }, { state: 'running' }),
      ).toBe(false);
      expect(
        await store.transitionExecution(
          id,
          { state: 'queued', owner },
          { state: 'running', started_at: now },
        ),
      ).toBe(true);
      expect(
        await store.transitionExecution(
          id,
          { state: ['running', 'cancelling'] },
          {
            state: 'succeeded',
            outputs: { score: 1 },
            ended_at: now,
            owner: null,
            lease_until: null,
          },
        ),
      ).toBe(true);
      expect(await store.getExecution(id)).toMatchObject({
        state: 'succeeded',
        outputs: { score: 1 },
        started_at: 52_000,
        updated_at: 52_000,
        owner: null,
      });
      expect(await store.claimExecutions('p3', 99_999_999, 1_000, 1000)).not.toContain(id);
    });

    it('records attempts: appended once, finished once', async () => {
      const id = await execution('attempts');
      expect(await store.appendAttempt({ execution_id: id, node_id: 'a', attempt: 1, started_at: 5 })).toBe(
        true,
      );
      expect(await store.appendAttempt({ execution_id: id, node_id: 'a', attempt: 1, started_at: 6 })).toBe(
        false,
      );
      const end = { state: 'succeeded', ended_at: 9, log_path: 'workflows/logs/a/1.log' } as const;
      expect(await store.finishAttempt(id, 'a', 1, end)).toBe(true);
      expect(await store.finishAttempt(id, 'a', 1, end)).toBe(false);
      expect(await store.listAttempts(id)).toEqual([
        {
          execution_id: id,
          node_id: 'a',
          attempt: 1,
          state: 'succeeded',
          started_at: 5,
          ended_at: 9,
          error: null,
          log_path: 'workflows/logs/a/1.log',
          worker: null,
        },
      ]);
    });

    it('lists executions newest first with filters and page tokens', async () => {
      await store.registerVersion(registration('lister'), 'v2', 'lister-v2', alice);
      const ids = [];
      for (const at of [70_001, 70_002, 70_003]) ids.push(await execution('lister', [], at));
      const v2 = timeOrderedId(70_004);
      await store.createExecution(
        {
          execution_id: v2,
          workflow: 'lister',
          version: 'v2',
          state: 'failed',
          inputs: {},
          created_by: 'bob',
          created_at: 70_004,
          mode: 'recover',
          parent_execution_id: ids[0] as string,
          cache_mode: 'overwrite',
        },
        [],
      );
      const page1 = await store.listExecutions({ workflow: 'lister' }, { maxResults: 3 });
      expect(page1.items.map((e) => e.execution_id)).toEqual([v2, ids[2], ids[1]]);
      expect(page1.items[0]).toMatchObject({
        mode: 'recover',
        parent_execution_id: ids[0],
        cache_mode: 'overwrite',
        state: 'failed',
      });
      const page2 = await store.listExecutions(
        { workflow: 'lister' },
        { maxResults: 3, pageToken: page1.nextPageToken as string },
      );
      expect(page2.items.map((e) => e.execution_id)).toEqual([ids[0]]);
      expect(page2.nextPageToken).toBeUndefined();

      const ids2 = (filter: Parameters<WorkflowStore['listExecutions']>[0]) =>
        store
          .listExecutions({ workflow: 'lister', ...filter }, { maxResults: 10 })
          .then((p) => p.items.map((e) => e.execution_id));
      expect(await ids2({ state: 'failed' })).toEqual([v2]);
      expect(await ids2({ state: ['queued', 'failed'], createdBy: 'alice' })).toEqual([
        ids[2],
        ids[1],
        ids[0],
      ]);
      expect(await ids2({ version: 'v2' })).toEqual([v2]);
      expect(await ids2({ from: 70_002, to: 70_004 })).toEqual([ids[2], ids[1]]);
    });
  });

  describe('cache', () => {
    it('keeps the first entry unless overwriting, and counts hits', async () => {
      now = 80_000;
      const entry = {
        cache_key: 'k1',
        task: 'fit',
        outputs: { score: 0.5 },
        execution_id: 'e1',
        node_id: 'a',
      };
      expect(await store.cacheGet('k1')).toBeUndefined();
      expect(await store.cachePut(entry)).toBe(true);
      expect(await store.cachePut({ ...entry, outputs: { score: 0.7 } })).toBe(false);
      await store.cacheHit('k1');
      await store.cacheHit('k1');
      expect(await store.cacheGet('k1')).toEqual({ ...entry, created_at: 80_000, hits: 2 });
      now = 81_000;
      expect(await store.cachePut({ ...entry, outputs: { score: 0.7 }, execution_id: 'e2' }, true)).toBe(
        true,
      );
      expect(await store.cacheGet('k1')).toEqual({
        ...entry,
        outputs: { score: 0.7 },
        execution_id: 'e2',
        created_at: 81_000,
        hits: 0,
      });
    });

    it('reserves a key for one of two racing owners; the holder renews; an expired one is taken over', async () => {
      now = 90_000;
      const [a, b] = await Promise.all([store.reserve('k2', 'a', 1_000), store.reserve('k2', 'b', 1_000)]);
      expect([a, b].filter(Boolean)).toHaveLength(1);
      const holder = a ? 'a' : 'b';
      const other = a ? 'b' : 'a';
      expect(await store.reserve('k2', other, 1_000)).toBe(false);
      now = 90_500;
      expect(await store.reserve('k2', holder, 1_000)).toBe(true); // renewed until 91_500
      now = 91_200;
      expect(await store.reserve('k2', other, 1_000)).toBe(false);
      now = 91_600;
      expect(await store.reserve('k2', other, 1_000)).toBe(true);
      expect(await store.release('k2', holder)).toBe(false);
      expect(await store.release('k2', other)).toBe(true);
      expect(await store.reserve('k2', holder, 1_000)).toBe(true);
    });
  });
});
