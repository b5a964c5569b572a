import { fileURLToPath } from 'node:url';
import type { WorkflowRegistration } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlreadyExistsError, KeelClient, NotFoundError } from './index.js';
import { type FakeWorkflowsServer, startFakeWorkflowsServer } from './testing/fake-workflows-server.js';

/** A hand-made registration (the fake does not validate; the real server's tests do). */
function registrationOf(name: string, codeSha = 'a'.repeat(64), version?: string): WorkflowRegistration {
  return {
    workflow: {
      name,
      interface: { inputs: { who: { type: 'string' } }, outputs: {} },
      nodes: [{ id: 'greet', kind: 'task', task: 'greet', inputs: { who: { input: 'who' } } }],
      outputs: {},
    },
    subworkflows: [],
    tasks: [
      {
        name: 'greet',
        kind: 'function',
        interface: { inputs: { who: { type: 'string' } }, outputs: {} },
        retries: 0,
        codeHash: 'b'.repeat(64),
      },
    ],
    code: { path: `workflows/code/${codeSha}`, sha256: codeSha },
    ...(version === undefined ? {} : { version }),
  };
}

let fake: FakeWorkflowsServer;
let keel: KeelClient;

beforeAll(async () => {
  fake = await startFakeWorkflowsServer();
  keel = new KeelClient({ trackingUri: fake.uri, retries: 0 });
});
afterAll(async () => {
  await fake?.close();
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe('keel.workflows', () => {
  it('registers a spec once, refuses the same version with other content', async () => {
    const first = await keel.workflows.registerSpec(registrationOf('alpha', 'a'.repeat(64), 'v1'));
    expect(first).toMatchObject({
      created: true,
      workflowVersion: { name: 'alpha', version: 'v1', is_default: true },
    });
    const again = await keel.workflows.registerSpec(registrationOf('alpha', 'a'.repeat(64), 'v1'));
    expect(again.created).toBe(false);
    const clash = keel.workflows.registerSpec(registrationOf('alpha', 'c'.repeat(64), 'v1'));
    await expect(clash).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(clash).rejects.toMatchObject({ code: 'RESOURCE_ALREADY_EXISTS', status: 409 });
    const [request] = fake.seen('/keel/workflows/register');
    expect(request?.method).toBe('POST');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      registration: registrationOf('alpha', 'a'.repeat(64), 'v1'),
    });
  });

  it('gets the default or a named version, lists versions page by page, sets the default', async () => {
    await keel.workflows.registerSpec(registrationOf('alpha', 'd'.repeat(64), 'v2'));
    await keel.workflows.registerSpec(registrationOf('alpha', 'e'.repeat(64), 'v3'));
    expect((await keel.workflows.get('alpha')).version).toBe('v1');
    const v2 = await keel.workflows.get('alpha', 'v2');
    expect(v2).toMatchObject({
      version: 'v2',
      is_default: false,
      spec: { code: { sha256: 'd'.repeat(64) } },
    });
    expect(fake.seen('/keel/workflows/get').at(-1)?.query).toEqual({ name: 'alpha', version: 'v2' });

    const versions = await collect(keel.workflows.versions('alpha', { maxResults: 2 }));
    expect(versions.map((v) => [v.version, v.is_default])).toEqual([
      ['v3', false],
      ['v2', false],
      ['v1', true],
    ]);
    expect(versions[0]).not.toHaveProperty('spec');
    expect(fake.seen('/keel/workflows/versions').map((r) => r.query)).toEqual([
      { name: 'alpha', max_results: '2' },
      { name: 'alpha', max_results: '2', page_token: '2' },
    ]);

    const made = await keel.workflows.setDefault('alpha', 'v3');
    expect(made).toMatchObject({ version: 'v3', is_default: true });
    expect(JSON.parse(fake.seen('/keel/workflows/set-default')[0]?.body ?? '')).toEqual({
      name: 'alpha',
      version: 'v3',
    });
    expect((await keel.workflows.get('alpha')).version).toBe('v3');
  });

  it('lists workflows by name prefix, page after page', async () => {
    await keel.workflows.registerSpec(registrationOf('beta'));
    await keel.workflows.registerSpec(registrationOf('alpine'));
    const all = await collect(keel.workflows.list({ maxResults: 1 }));
    expect(all.map((w) => w.name)).toEqual(['alpha', 'alpine', 'beta']);
    expect(all[0]).toMatchObject({ default_version: 'v3', latest_version: 'v3', versions: 3 });
    const some = await collect(keel.workflows.list({ filter: 'alp' }));
    expect(some.map((w) => w.name)).toEqual(['alpha', 'alpine']);
    expect(fake.seen('/keel/workflows/list').at(-1)?.query).toEqual({ filter: 'alp' });
  });

  it('throws NotFoundError for an unknown workflow or version', async () => {
    await expect(keel.workflows.get('nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(keel.workflows.setDefault('alpha', 'v9')).rejects.toMatchObject({
      code: 'RESOURCE_DOES_NOT_EXIST',
    });
  });

  it('registers a module: bundles it, uploads the code package, posts its registration', async () => {
    const entry = fileURLToPath(new URL('./testing/hello-workflow.ts', import.meta.url));
    const [hello] = await keel.workflows.register(entry, { version: 'h1', conditions: ['keel-source'] });
    expect(hello).toMatchObject({ name: 'hello', version: 'h1', created: true });
    const spec = (await keel.workflows.get('hello')).spec;
    expect(spec.workflow.nodes.map((n) => n.id)).toEqual(['count', 'greet']);
    expect(spec.workflow.interface.inputs.images).toEqual({ type: 'directory' });
    expect(fake.artifacts.has(`${spec.code.path}/bundle.mjs`)).toBe(true);
  });
});
