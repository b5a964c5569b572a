import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import {
  call,
  nodeOf,
  out,
  registration,
  startWorkflowApp,
  type WorkflowHarness,
  workflowSpec,
} from '../testing/workflow-fixtures.js';

const dialects = await testDialects();
const int = { type: 'int' } as const;

/** Reads a server-sent-event stream to its end; returns the events. */
async function readEvents(response: Response): Promise<{ event: string; data: unknown }[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event:'))
    .map((block) => {
      const [event, data] = block.split('\n');
      return {
        event: (event as string).slice('event: '.length),
        data: JSON.parse((data as string).slice(6)),
      };
    });
}

describe.each(dialects)('workflow routes on %s', (dialect) => {
  let t: TestStore;
  let h: WorkflowHarness;
  let address: string;

  beforeAll(async () => {
    t = await createTestStore(dialect);
    h = await startWorkflowApp(t);
    address = await h.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await h?.close();
    await t?.dispose();
  });

  const one = (name: string) =>
    registration(
      h.code,
      workflowSpec(name, { x: int }, [call('a', 'inc', { x: { input: 'x' } })], { y: out('a', 'y') }),
      ['inc'],
    );

  it('registers versions by content hash, idempotently, and refuses a version reused for other content', async () => {
    const first = await h.post('workflows/register', { registration: one('reg') });
    expect(first.status).toBe(200);
    expect(first.body.created).toBe(true);
    expect(first.body.workflow_version).toMatchObject({
      name: 'reg',
      version: expect.stringMatching(/^[0-9a-f]{64}$/),
      is_default: true,
      created_by: 'alice',
      spec: { workflow: { name: 'reg' } },
    });
    expect(first.body.workflow_version.version).toBe(first.body.workflow_version.content_hash);
    const again = await h.post('workflows/register', { registration: one('reg') });
    expect(again.body).toMatchObject({
      created: false,
      workflow_version: { version: first.body.workflow_version.version },
    });

    const v1 = await h.post('workflows/register', { registration: { ...one('reg'), version: 'v1' } });
    expect(v1.body).toMatchObject({ created: true, workflow_version: { version: 'v1', is_default: false } });
    const changed = one('reg');
    changed.workflow.outputs = { y: { literal: 3 } };
    const conflict = await h.post('workflows/register', { registration: { ...changed, version: 'v1' } });
    expect(conflict.status).toBe(400);
    expect(conflict.body.error_code).toBe('RESOURCE_ALREADY_EXISTS');
  });

  it('answers invalid registrations with 400 naming the field', async () => {
    const bad = one('bad');
    bad.workflow.nodes = [call('a', 'inc', { x: { node: 'nope', output: 'y' } })];
    const invalid = await h.post('workflows/register', { registration: bad });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(invalid.body.message).toMatch(/^workflow\.nodes\[0\]\.inputs\.x/);
    const noCode = await h.post('workflows/register', {
      registration: { ...one('nocode'), code: { path: 'workflows/code/missing', sha256: 'd'.repeat(64) } },
    });
    expect(noCode.status).toBe(400);
    expect(noCode.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(noCode.body.message).toMatch(/^registration\.code\.path: /);
    const missing = await h.post('workflows/register', {});
    expect(missing.status).toBe(400);
  });

  it('lists workflows and versions, and switches the default version', async () => {
    await h.register({ ...one('listed'), version: 'a' });
    await h.register({ ...one('listed'), version: 'b', description: 'second' });
    const list = await h.get('workflows/list', { filter: 'listed' });
    expect(list.status).toBe(200);
    expect(list.body.workflows).toEqual([
      expect.objectContaining({ name: 'listed', default_version: 'a', latest_version: 'b', versions: 2 }),
    ]);
    const versions = await h.get('workflows/versions', { name: 'listed', max_results: 1 });
    expect(versions.body.versions).toEqual([
      expect.objectContaining({ name: 'listed', version: 'b', is_default: false, description: 'second' }),
    ]);
    expect(versions.body.versions[0].spec).toBeUndefined();
    const next = await h.get('workflows/versions', {
      name: 'listed',
      max_results: 1,
      page_token: versions.body.next_page_token,
    });
    expect(next.body.versions.map((v: { version: string }) => v.version)).toEqual(['a']);
    const set = await h.post('workflows/set-default', { name: 'listed', version: 'b' });
    expect(set.body.workflow_version).toMatchObject({ version: 'b', is_default: true });
    expect((await h.get('workflows/get', { name: 'listed' })).body.workflow_version.version).toBe('b');
    expect(
      (await h.get('workflows/get', { name: 'listed', version: 'a' })).body.workflow_version.is_default,
    ).toBe(false);
    for (const [path, query] of [
      ['workflows/get', { name: 'nope' }],
      ['workflows/get', { name: 'listed', version: 'zz' }],
      ['workflows/versions', { name: 'nope' }],
    ] as const) {
      const res = await h.get(path, query);
      expect(res.status).toBe(404);
      expect(res.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    }
    const unknown = await h.post('workflows/set-default', { name: 'listed', version: 'zz' });
    expect(unknown.status).toBe(404);
  });

  it('checks launch inputs and options', async () => {
    await h.register(one('inputs'));
    const cases: [Record<string, unknown>, string][] = [
      [{ inputs: { x: 1, y: 2 } }, "inputs.y: workflow 'inputs' has no input 'y'"],
      [{ inputs: {} }, 'inputs.x is required (int)'],
      [{ inputs: { x: 1.5 } }, 'inputs.x must be a whole number (int)'],
      [
        { inputs: { x: 1 }, cache: 'maybe' },
        "Invalid value 'maybe' for parameter 'cache': it must be one of use, skip, overwrite",
      ],
    ];
    for (const [body, message] of cases) {
      const res = await h.post('executions/launch', { workflow: 'inputs', ...body });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error_code: 'INVALID_PARAMETER_VALUE', message });
    }
    const unknown = await h.post('executions/launch', { workflow: 'nope', inputs: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('returns values verbatim (empty lists, nulls) and lists executions with filters', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec(
          'empty',
          { xs: { type: 'array', items: int } },
          [
            { id: 'm', kind: 'map', task: 'inc', inputs: { x: { input: 'xs' } }, over: ['x'] },
            call('s', 'sum', { xs: out('m', 'y') }),
          ],
          { total: out('s', 'total'), ys: out('m', 'y') },
          { total: int, ys: { type: 'array', items: int } },
        ),
        ['inc', 'sum'],
      ),
    );
    const launched = await h.post('executions/launch', { workflow: 'empty', inputs: { xs: [] } });
    expect(launched.body.execution).toMatchObject({
      state: 'queued',
      inputs: { xs: [] },
      outputs: null,
      error: null,
    });
    const done = await h.wait(launched.body.execution.execution_id);
    expect(done).toMatchObject({ state: 'succeeded', outputs: { total: 0, ys: [] } });
    expect(nodeOf(done, 'm').outputs).toEqual({ y: [] });
    const listed = await h.get('executions/list', { workflow: 'empty', state: 'succeeded' });
    expect(listed.body.executions).toHaveLength(1);
    expect(listed.body.executions[0].nodes).toBeUndefined();
    expect((await h.get('executions/list', { workflow: 'empty', state: 'failed' })).body.executions).toEqual(
      [],
    );
    const badState = await h.get('executions/list', { state: 'sleeping' });
    expect(badState.status).toBe(400);
    const missing = await h.get('executions/get', { execution_id: 'nope' });
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    for (const path of ['executions/cancel', 'executions/relaunch', 'executions/recover']) {
      expect((await h.post(path, { execution_id: 'nope' })).status).toBe(404);
    }
    const events = await h.get('audit/events', { entity: 'execution', entity_id: done.execution_id });
    expect(events.body.events.map((e: { action: string }) => e.action)).toEqual(['execution.launched']);
  });

  it('streams a running attempt log over SSE: history, live output, end', async () => {
    await h.register(
      registration(
        h.code,
        workflowSpec('sse', { n: int }, [call('c', 'chatty', { n: { input: 'n' } })], { n: out('c', 'n') }),
        ['chatty'],
      ),
    );
    const id = await h.launch('sse', { n: 8 });
    await h.wait(id, (e) => nodeOf(e, 'c').state === 'running');
    const url = `${address}/api/2.0/keel/executions/${id}/nodes/c/logs?follow=1`;
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = await readEvents(response);
    const text = events
      .filter((e) => e.event === 'log')
      .map((e) => (e.data as { text: string }).text)
      .join('');
    expect(text).toBe(`${Array.from({ length: 8 }, (_, i) => `line ${i}\n`).join('')}done on stderr\n`);
    expect(
      events.filter((e) => e.event === 'log').some((e) => (e.data as { stream: string }).stream === 'stderr'),
    ).toBe(true);
    expect(events.at(-1)).toEqual({ event: 'end', data: { state: 'succeeded' } });
    // After the end: the stored log, each stream's lines labelled, then the end.
    const later = await readEvents(await fetch(url));
    expect(later).toEqual([
      { event: 'log', data: { stream: 'stdout', text: text.replace('done on stderr\n', '') } },
      { event: 'log', data: { stream: 'stderr', text: 'done on stderr\n' } },
      { event: 'end', data: { state: 'succeeded' } },
    ]);
    const unknown = await fetch(`${address}/api/2.0/keel/executions/${id}/nodes/nope/logs?follow=1`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error_code: string }).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('stops streaming when the client goes away', async () => {
    await h.register(
      registration(h.code, workflowSpec('gone', {}, [call('s', 'slow', { ms: { literal: 1500 } })], {}), [
        'slow',
      ]),
    );
    const id = await h.launch('gone', {});
    await h.wait(id, (e) => nodeOf(e, 's').state === 'running');
    // node:http, so that going away closes exactly this connection.
    const first = await new Promise<string>((resolve, reject) => {
      const request = get(`${address}/api/2.0/keel/executions/${id}/nodes/s/logs?follow=1`, (response) => {
        response.once('data', (chunk: Buffer) => {
          request.destroy();
          resolve(chunk.toString('utf8'));
        });
      });
      request.on('error', reject);
    });
    expect(first).toContain('slow start');
    await h.wait(id);
    const log = await h.app.inject({ method: 'GET', url: `/api/2.0/keel/executions/${id}/nodes/s/logs` });
    expect(log.payload).toBe('slow start\n');
  });

  it('answers log requests for unknown nodes and never-run attempts with 404', async () => {
    await h.register(one('logs404'));
    const id = await h.launch('logs404', { x: 500 });
    await h.wait(id);
    const cases = [`${id}/nodes/zz/logs`, `${id}/nodes/a/logs?attempt=7`, `nope/nodes/a/logs`];
    for (const path of cases) {
      const res = await h.app.inject({ method: 'GET', url: `/api/2.0/keel/executions/${path}` });
      expect(res.statusCode).toBe(404);
      expect(JSON.parse(res.payload).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    }
    const again = await h.wait(await h.launch('logs404', { x: 500 }));
    expect(nodeOf(again, 'a').state).toBe('cached');
    const cached = await h.app.inject({
      method: 'GET',
      url: `/api/2.0/keel/executions/${again.execution_id}/nodes/a/logs`,
    });
    expect(cached.statusCode).toBe(404);
  });
});
