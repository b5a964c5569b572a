import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { Execution, TaskSpec } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { LocalArtifactStore } from '../artifacts/local/local-artifact-store.js';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import {
  call,
  FAST_SCHEDULER,
  nodeOf,
  out,
  publishPackage,
  registration,
  startWorkflowApp,
  type WorkflowHarness,
  workflowSpec,
} from '../testing/workflow-fixtures.js';

const dialects = await testDialects();
const int = { type: 'int' } as const;

describe.each(dialects)('workflow engine on %s', (dialect) => {
  let t: TestStore;
  let h: WorkflowHarness;

  beforeAll(async () => {
    t = await createTestStore(dialect);
    h = await startWorkflowApp(t);
  });
  afterAll(async () => {
    await h?.close();
    await t?.dispose();
  });

  /** a = inc(x); b = double(a); c = inc(a); d = add(b, c) */
  function diamond(name: string) {
    return registration(
      h.code,
      workflowSpec(
        name,
        { x: int },
        [
          call('a', 'inc', { x: { input: 'x' } }),
          call('b', 'double', { x: out('a', 'y') }),
          call('c', 'inc', { x: out('a', 'y') }),
          call('d', 'add', { a: out('b', 'y'), b: out('c', 'y') }),
        ],
        { result: out('d', 'sum') },
      ),
      ['inc', 'double', 'add'],
    );
  }

  it('runs a diamond DAG, resolves its outputs and records a tracking run per execution and attempt', async () => {
    await h.register(diamond('diamond'));
    const id = await h.launch('diamond', { x: 1 });
    const execution = await h.wait(id);
    expect(execution).toMatchObject({
      state: 'succeeded',
      outputs: { result: 7 },
      mode: 'launch',
      cache_mode: 'use',
      created_by: 'alice',
      error: null,
    });
    expect(execution.nodes.map((n) => [n.node_id, n.state, n.attempt, n.cache])).toEqual([
      ['a', 'succeeded', 1, 'miss'],
      ['b', 'succeeded', 1, 'miss'],
      ['c', 'succeeded', 1, 'miss'],
      ['d', 'succeeded', 1, 'miss'],
    ]);
    expect(nodeOf(execution, 'd')).toMatchObject({ inputs: { a: 4, b: 3 }, outputs: { sum: 7 } });
    expect(execution.run_id).toMatch(/^[0-9a-f]{32}$/);
    const run = await h.app.inject({
      method: 'GET',
      url: `/api/2.0/mlflow/runs/get?run_id=${execution.run_id}`,
    });
    const tags = Object.fromEntries(
      (JSON.parse(run.payload).run.data.tags as { key: string; value: string }[]).map((tag) => [
        tag.key,
        tag.value,
      ]),
    );
    expect(tags).toMatchObject({ 'keel.workflow': 'diamond', 'keel.execution_id': id });
    expect(JSON.parse(run.payload).run.info.status).toBe('FINISHED');
    const attemptRun = await h.app.inject({
      method: 'GET',
      url: `/api/2.0/mlflow/runs/get?run_id=${nodeOf(execution, 'a').run_id}`,
    });
    const data = JSON.parse(attemptRun.payload).run.data;
    expect(data.params).toEqual([{ key: 'x', value: '1' }]);
    expect(data.tags).toContainEqual({ key: 'mlflow.parentRunId', value: execution.run_id });
  });

  it('serves every node of a second launch with the same inputs from the cache', async () => {
    const before = await h.calls('inc');
    const id = await h.launch('diamond', { x: 1 });
    const execution = await h.wait(id);
    expect(execution.state).toBe('succeeded');
    expect(execution.outputs).toEqual({ result: 7 });
    expect(execution.nodes.every((n) => n.state === 'cached' && n.cache === 'hit' && n.attempt === 0)).toBe(
      true,
    );
    expect(await h.calls('inc')).toBe(before);
  });

  it('skips the cache with cache=skip and replaces entries with cache=overwrite', async () => {
    const before = await h.calls('add');
    const skipped = await h.wait(await h.launch('diamond', { x: 1 }, { cache: 'skip' }));
    expect(skipped.cache_mode).toBe('skip');
    expect(skipped.nodes.map((n) => [n.state, n.cache, n.cache_key])).toEqual(
      Array(4).fill(['succeeded', 'disabled', null]),
    );
    const overwritten = await h.wait(await h.launch('diamond', { x: 1 }, { cache: 'overwrite' }));
    expect(overwritten.nodes.every((n) => n.state === 'succeeded' && n.cache === 'miss')).toBe(true);
    expect(await h.calls('add')).toBe(before + 2);
    const cached = await h.wait(await h.launch('diamond', { x: 1 }));
    expect(nodeOf(cached, 'd')).toMatchObject({ state: 'cached', cache: 'hit' });
    const row = await t.store.db
      .selectFrom('workflow_cache')
      .selectAll()
      .where('cache_key', '=', nodeOf(cached, 'd').cache_key as string)
      .executeTakeFirstOrThrow();
    expect(row.execution_id).toBe(overwritten.execution_id);
    expect(await h.calls('add')).toBe(before + 2);
  });

  it('maps a task over 20 items and fans in', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec(
          'fan',
          { xs: { type: 'array', items: int } },
          [
            {
              id: 'm',
              kind: 'map',
              task: 'inc',
              inputs: { x: { input: 'xs' } },
              over: ['x'],
              concurrency: 3,
            },
            call('s', 'sum', { xs: out('m', 'y') }),
          ],
          { total: out('s', 'total') },
        ),
        ['inc', 'sum'],
      ),
    );
    const xs = Array.from({ length: 20 }, (_, i) => 1000 + i);
    const execution = await h.wait(await h.launch('fan', { xs }));
    expect(execution.state).toBe('succeeded');
    expect(execution.outputs).toEqual({ total: xs.reduce((s, x) => s + x + 1, 0) });
    const items = execution.nodes.filter((n) => n.parent_node === 'm');
    expect(items.map((n) => n.node_id)).toEqual(xs.map((_, i) => `m[${i}]`));
    expect(items.every((n) => n.state === 'succeeded' && n.kind === 'task' && n.task === 'inc')).toBe(true);
    expect(nodeOf(execution, 'm')).toMatchObject({ kind: 'map', state: 'succeeded' });
    expect(nodeOf(execution, 'm').outputs).toEqual({ y: xs.map((x) => x + 1) });
    // At most 3 items ran at once.
    const spans = items.map((n): [number, number] => [n.started_at as number, n.ended_at as number]);
    const overlap = Math.max(...spans.map(([s]) => spans.filter(([a, b]) => a <= s && s < b).length));
    expect(overlap).toBeLessThanOrEqual(3);
  });

  it('ends a map cached when the cache served every item, succeeded when some items ran', async () => {
    const xs = Array.from({ length: 20 }, (_, i) => 1000 + i);
    const before = await h.calls('inc');
    const again = await h.wait(await h.launch('fan', { xs }));
    expect(again.state).toBe('succeeded');
    expect(again.nodes.filter((n) => n.parent_node === 'm').every((n) => n.state === 'cached')).toBe(true);
    expect(nodeOf(again, 'm')).toMatchObject({
      kind: 'map',
      state: 'cached',
      cache: 'hit',
      attempt: 0,
      outputs: { y: xs.map((x) => x + 1) },
    });
    expect(nodeOf(again, 's')).toMatchObject({ state: 'cached', cache: 'hit' });
    expect(await h.calls('inc')).toBe(before);

    const mixed = [...xs.slice(0, 10), 5000, 5001];
    const partly = await h.wait(await h.launch('fan', { xs: mixed }));
    expect(partly.state).toBe('succeeded');
    expect(partly.nodes.filter((n) => n.parent_node === 'm').map((n) => n.state)).toEqual([
      ...Array(10).fill('cached'),
      'succeeded',
      'succeeded',
    ]);
    expect(nodeOf(partly, 'm')).toMatchObject({
      state: 'succeeded',
      outputs: { y: mixed.map((x) => x + 1) },
    });
    expect(await h.calls('inc')).toBe(before + 2);
  });

  it('runs the branch side the condition picks, and inlines sub-workflows', async () => {
    const twice = workflowSpec(
      'twice',
      { x: int },
      [call('i1', 'inc', { x: { input: 'x' } }), call('d1', 'double', { x: out('i1', 'y') })],
      { y: out('d1', 'y') },
    );
    await h.register(
      registration(
        h.code,
        workflowSpec(
          'branchy',
          { x: int },
          [
            call('a', 'inc', { x: { input: 'x' } }),
            {
              id: 'br',
              kind: 'branch',
              condition: { op: 'gt', left: out('a', 'y'), right: { literal: 5 } },
              // biome-ignore lint/suspicious/noThenProperty: the branch field is named by the shared contract.
              then: { nodes: [call('big', 'double', { x: out('a', 'y') })], outputs: { v: out('big', 'y') } },
              else: {
                nodes: [{ id: 'sub', kind: 'workflow', workflow: 'twice', inputs: { x: out('a', 'y') } }],
                outputs: { v: out('sub', 'y') },
              },
            },
          ],
          { v: out('br', 'v') },
        ),
        ['inc', 'double'],
        [twice],
      ),
    );
    const big = await h.wait(await h.launch('branchy', { x: 10 }));
    expect(big).toMatchObject({ state: 'succeeded', outputs: { v: 22 } });
    expect(big.nodes.map((n) => n.node_id)).toEqual(['a', 'br', 'br.then.big']);
    expect(nodeOf(big, 'br')).toMatchObject({ inputs: { condition: true }, outputs: { v: 22 } });
    const small = await h.wait(await h.launch('branchy', { x: -5 }));
    expect(small).toMatchObject({ state: 'succeeded', outputs: { v: -6 } });
    expect(small.nodes.map((n) => [n.node_id, n.parent_node, n.state])).toEqual([
      ['a', null, 'succeeded'],
      ['br', null, 'succeeded'],
      ['br.else.sub', 'br', 'succeeded'],
      ['br.else.sub.i1', 'br.else.sub', 'succeeded'],
      ['br.else.sub.d1', 'br.else.sub', 'succeeded'],
    ]);
  });

  it('retries a RetryableError with backoff and succeeds on attempt 3', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec('retry', { x: int }, [call('f', 'flaky', { x: { input: 'x' } })], { y: out('f', 'y') }),
        ['flaky'],
      ),
    );
    const id = await h.launch('retry', { x: 5 });
    const execution = await h.wait(id);
    expect(execution).toMatchObject({ state: 'succeeded', outputs: { y: 5 } });
    expect(nodeOf(execution, 'f')).toMatchObject({ state: 'succeeded', attempt: 3, error: null });
    const attempts = await t.store.db
      .selectFrom('workflow_attempts')
      .selectAll()
      .where('execution_id', '=', id)
      .orderBy('attempt')
      .execute();
    expect(attempts.map((a) => [a.attempt, a.state])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
    expect(JSON.parse(attempts[0]?.error as string)).toMatchObject({
      kind: 'user',
      retryable: true,
      message: 'not yet (attempt 1)',
    });
    // Backoff: the second retry waited about twice as long as the first.
    const gap = (i: number) => (attempts[i]?.started_at as number) - (attempts[i - 1]?.ended_at as number);
    expect(gap(1)).toBeGreaterThanOrEqual(20);
    expect(gap(2)).toBeGreaterThanOrEqual(40);
    const log = await h.app.inject({
      method: 'GET',
      url: `/api/2.0/keel/executions/${id}/nodes/f/logs?attempt=2`,
    });
    expect(log.statusCode).toBe(200);
    expect(log.payload).toContain('attempt 2');
  });

  it('fails fast on a non-retryable failure: downstream skipped, running siblings cancelled', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec(
          'failing',
          { x: int },
          [
            call('a', 'inc', { x: { input: 'x' } }),
            call('slow', 'slow', { ms: { literal: 30_000 } }),
            call('f', 'boom', { x: out('a', 'y') }),
            call('after', 'inc', { x: out('f', 'y') }),
          ],
          { y: out('after', 'y') },
        ),
        ['inc', 'slow', 'boom'],
      ),
    );
    const id = await h.launch('failing', { x: 100 });
    const execution = await h.wait(id);
    expect(execution.state).toBe('failed');
    expect(execution.error).toMatchObject({ kind: 'user', retryable: false });
    expect(execution.error?.message).toContain("Node 'f' failed: boom");
    expect(nodeOf(execution, 'f')).toMatchObject({ state: 'failed', attempt: 1 });
    expect(nodeOf(execution, 'after').state).toBe('skipped');
    expect(nodeOf(execution, 'slow').state).toBe('cancelled');
    expect(await h.calls('boom')).toBe(1);
  });

  it('runs two concurrent identical launches once per task', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec('dedupe', { x: int }, [call('s', 'slowinc', { x: { input: 'x' } })], {
          y: out('s', 'y'),
        }),
        ['slowinc'],
      ),
    );
    const [one, two] = await Promise.all([h.launch('dedupe', { x: 41 }), h.launch('dedupe', { x: 41 })]);
    const results = await Promise.all([h.wait(one as string), h.wait(two as string)]);
    expect(results.map((e) => [e.state, e.outputs])).toEqual([
      ['succeeded', { y: 42 }],
      ['succeeded', { y: 42 }],
    ]);
    expect(await h.calls('slowinc')).toBe(1);
    expect(results.map((e) => nodeOf(e, 's').state).sort()).toEqual(['cached', 'succeeded']);
  });

  it('cancels a running execution', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec(
          'sleepy',
          {},
          [call('s', 'slow', { ms: { literal: 30_000 } }), call('next', 'slow', { ms: { literal: 1 } })],
          {},
        ),
        ['slow'],
      ),
    );
    const id = await h.launch('sleepy', {});
    await h.wait(id, (e) => e.nodes.some((n) => n.state === 'running'));
    const cancelled = await h.post('executions/cancel', { execution_id: id });
    expect(cancelled.status).toBe(200);
    expect(['cancelling', 'cancelled']).toContain(cancelled.body.execution.state);
    const execution = await h.wait(id);
    expect(execution.state).toBe('cancelled');
    expect(execution.nodes.every((n) => n.state === 'cancelled' || n.state === 'succeeded')).toBe(true);
    expect(nodeOf(execution, 's').state).toBe('cancelled');
  });

  it('relaunches with the same version and inputs', async () => {
    const parent = (await h.get('executions/list', { workflow: 'diamond', max_results: 1 })).body
      .executions[0];
    const res = await h.post('executions/relaunch', { execution_id: parent.execution_id, cache: 'skip' });
    expect(res.status).toBe(200);
    expect(res.body.execution).toMatchObject({
      mode: 'relaunch',
      parent_execution_id: parent.execution_id,
      inputs: { x: 1 },
      version: parent.version,
      cache_mode: 'skip',
    });
    const execution = await h.wait(res.body.execution.execution_id);
    expect(execution).toMatchObject({ state: 'succeeded', outputs: { result: 7 } });
  });

  it('recovers a failed execution: finished nodes reused, the failed one runs again', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec(
          'gated',
          { x: int },
          [
            call('a', 'double', { x: { input: 'x' } }),
            call('g', 'gate', { x: out('a', 'y') }),
            call('h', 'double', { x: out('g', 'y') }),
          ],
          { y: out('h', 'y') },
        ),
        ['double', 'gate'],
      ),
    );
    const failed = await h.wait(await h.launch('gated', { x: 7 }, { cache: 'skip' }));
    expect(failed.state).toBe('failed');
    expect(nodeOf(failed, 'h').state).toBe('skipped');
    const doubles = await h.calls('double');
    const notYet = await h.post('executions/recover', { execution_id: failed.execution_id });
    expect(notYet.status).toBe(200);
    await h.wait(notYet.body.execution.execution_id);
    await writeFile(join(h.countsDir, 'fixed'), 'yes');
    const recovered = await h.post('executions/recover', { execution_id: failed.execution_id });
    expect(recovered.body.execution).toMatchObject({
      mode: 'recover',
      parent_execution_id: failed.execution_id,
    });
    expect(nodeOf(recovered.body.execution, 'a')).toMatchObject({
      state: 'cached',
      cache: 'hit',
      outputs: { y: 14 },
    });
    const execution = await h.wait(recovered.body.execution.execution_id);
    expect(execution).toMatchObject({ state: 'succeeded', outputs: { y: 28 } });
    expect(nodeOf(execution, 'g')).toMatchObject({ state: 'succeeded', attempt: 1 });
    // `a` was reused (not run again); only `h` ran double once more.
    expect(await h.calls('double')).toBe(doubles + 1);
    const again = await h.post('executions/recover', { execution_id: execution.execution_id });
    expect(again.status).toBe(400);
    expect(again.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('hashes file inputs given as artifact paths by content and uploads file outputs', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec(
          'files',
          { data: { type: 'file' } },
          [call('m', 'measure', { file: { input: 'data' } })],
          { chars: out('m', 'chars'), upper: out('m', 'upper') },
          { chars: int, upper: { type: 'file' } },
        ),
        ['measure'],
      ),
    );
    await h.artifacts.put('inputs/a.txt', Readable.from([Buffer.from('hello')]));
    await h.artifacts.put('inputs/b.txt', Readable.from([Buffer.from('hello')]));
    const first = await h.wait(await h.launch('files', { data: 'inputs/a.txt' }));
    expect(first.state).toBe('succeeded');
    expect(first.inputs.data).toMatchObject({
      $artifact: expect.stringMatching(/^workflows\/data\/[0-9a-f]{64}$/),
      kind: 'file',
      size: 5,
    });
    expect(first.outputs).toMatchObject({ chars: 5, upper: { kind: 'file', size: 5 } });
    // The same bytes elsewhere hit the cache.
    const second = await h.wait(await h.launch('files', { data: 'mlflow-artifacts:/inputs/b.txt' }));
    expect(nodeOf(second, 'm')).toMatchObject({ state: 'cached', cache: 'hit' });
    expect(await h.calls('measure')).toBe(1);
    const missing = await h.post('executions/launch', {
      workflow: 'files',
      inputs: { data: 'inputs/none.txt' },
    });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: "inputs.data: artifact 'inputs/none.txt' does not exist",
    });
  });

  it('stores each attempt log and records task tracking calls on the attempt run', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec('talk', { n: int }, [call('c', 'chatty', { n: { input: 'n' } })], { n: out('c', 'n') }),
        ['chatty'],
      ),
    );
    const id = await h.launch('talk', { n: 3 });
    const execution = await h.wait(id);
    expect(execution.state).toBe('succeeded');
    const log = await h.app.inject({ method: 'GET', url: `/api/2.0/keel/executions/${id}/nodes/c/logs` });
    expect(log.headers['content-type']).toContain('text/plain');
    expect(log.payload).toBe('line 0\nline 1\nline 2\ndone on stderr\n');
    const attempt = await t.store.db
      .selectFrom('workflow_attempts')
      .select('log_path')
      .where('execution_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(attempt.log_path).toBe(`workflows/logs/${id}/c/1.jsonl`);
    const run = await h.app.inject({
      method: 'GET',
      url: `/api/2.0/mlflow/runs/get?run_id=${nodeOf(execution, 'c').run_id}`,
    });
    const data = JSON.parse(run.payload).run.data;
    expect(data.metrics).toMatchObject([{ key: 'lines', value: 3 }]);
    expect(data.tags).toContainEqual({ key: 'chatty', value: 'yes' });
  });

  it('keeps the stream (and ctx.log level) of every stored log line', async () => {
    await h.register(
      registration(h.code, workflowSpec('streams', {}, [call('s', 'streams', {})], {}), ['streams']),
    );
    const id = await h.launch('streams', {});
    expect((await h.wait(id)).state).toBe('succeeded');
    const url = `/api/2.0/keel/executions/${id}/nodes/s/logs`;
    const jsonl = await h.app.inject({ method: 'GET', url: `${url}?format=jsonl` });
    expect(jsonl.statusCode).toBe(200);
    expect(jsonl.headers['content-type']).toContain('application/x-ndjson');
    const lines = jsonl.payload
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { time: number; stream: string; text: string; level?: string });
    const of = (stream: string) =>
      lines.filter((line) => line.stream === stream).map(({ text, level }) => ({ text, level }));
    expect(of('stdout')).toEqual([
      { text: 'to stdout\n', level: undefined },
      { text: '[info] info line {"n":1}\n', level: 'info' },
      { text: 'no newline', level: undefined },
    ]);
    expect(of('stderr')).toEqual([
      { text: 'to stderr\n', level: undefined },
      { text: '[warn] warn line\n', level: 'warn' },
    ]);
    expect(lines.every((line) => Number.isInteger(line.time) && line.time > 0)).toBe(true);
    // The stored artifact is those lines; the plain text is their texts, as before.
    const stored = await h.artifacts.get(`workflows/logs/${id}/s/1.jsonl`);
    expect(await text(stored.stream)).toBe(jsonl.payload);
    const plain = await h.app.inject({ method: 'GET', url });
    expect(plain.payload).toBe(lines.map((line) => line.text).join(''));
  });
});

/** A task that calls the tracking API at the URI its environment names: its own attempt's run. */
const WHEREAMI_BUNDLE = `
export const whereami = { kind: 'keel.task', name: 'whereami', fn: async (_, ctx) => {
  const uri = process.env.KEEL_TRACKING_URI;
  const response = await fetch(uri + '/api/2.0/mlflow/runs/get?run_id=' + ctx.run.id);
  const { run } = await response.json();
  return { uri, mlflow: process.env.MLFLOW_TRACKING_URI, status: run.info.status };
} };
`;

describe.each(dialects)('workflow engine of a listening server on %s', (dialect) => {
  it("gives attempts the server's address as KEEL_TRACKING_URI and MLFLOW_TRACKING_URI", async () => {
    const t = await createTestStore(dialect);
    const root = await mkdtemp(join(tmpdir(), 'keel-tracking-uri-'));
    const artifacts = new LocalArtifactStore(join(root, 'artifacts'));
    const app = await buildApp({
      store: t.store,
      config: {
        artifactsDestination: 'file:///unused',
        logLevel: 'silent',
        predictionSpillDir: join(root, 'spill'),
      },
      logger: false,
      artifacts,
      deployments: false,
      workflows: { workers: 1, cacheDir: join(root, 'cache'), scheduler: FAST_SCHEDULER },
    });
    try {
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      const code = await publishPackage(artifacts, { 'bundle.mjs': WHEREAMI_BUNDLE });
      const str = { type: 'string' } as const;
      const whereami: TaskSpec = {
        name: 'whereami',
        kind: 'function',
        interface: { inputs: {}, outputs: { uri: str, mlflow: str, status: str } },
        retries: 0,
        codeHash: 'c'.repeat(64),
      };
      const workflow = workflowSpec(
        'whereami',
        {},
        [call('w', 'whereami', {})],
        { uri: out('w', 'uri'), mlflow: out('w', 'mlflow'), status: out('w', 'status') },
        { uri: str, mlflow: str, status: str },
      );
      const post = async (path: string, payload: object) =>
        JSON.parse((await app.inject({ method: 'POST', url: `/api/2.0/keel/${path}`, payload })).payload);
      await post('workflows/register', {
        registration: { workflow, subworkflows: [], tasks: [whereami], code },
      });
      const { execution } = await post('executions/launch', { workflow: 'whereami', inputs: {} });
      let done: Execution = execution;
      for (let i = 0; i < 600 && !['succeeded', 'failed', 'cancelled'].includes(done.state); i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        const res = await app.inject({
          method: 'GET',
          url: `/api/2.0/keel/executions/get?execution_id=${execution.execution_id}`,
        });
        done = JSON.parse(res.payload).execution;
      }
      expect(done).toMatchObject({
        state: 'succeeded',
        outputs: { uri: address, mlflow: address, status: 'RUNNING' },
      });
    } finally {
      await app.close();
      await t.dispose();
      await rm(root, { recursive: true, force: true });
    }
  });
});
