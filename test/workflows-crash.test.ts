// End-to-end: a `keel server` running a workflow execution is killed with SIGKILL while a task runs.
// After a restart on the same store, the execution completes: the node that had finished keeps its
// output (its task does not run again) and the interrupted one runs a second attempt.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Execution } from '../packages/core/src/index.js';
import {
  checkPostgres,
  createTestStore,
  type TestStore,
} from '../packages/server/src/testing/test-stores.js';
import {
  bundleSource,
  call,
  nodeOf,
  out,
  type Reply,
  registration,
  workflowSpec,
} from '../packages/server/src/testing/workflow-fixtures.js';
import { directoryHash } from '../packages/server/src/workflows/engine/artifact-values.js';
import { killAll, startKeelServer, waitFor } from './helpers/keel-process.js';

const postgresReachable = await checkPostgres();
const root = mkdtempSync(join(tmpdir(), 'keel-workflows-crash-'));
afterEach(killAll);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Uploads `bundle.mjs` through the artifact proxy as a code package; returns its reference. */
async function uploadPackage(url: string, source: string): Promise<{ path: string; sha256: string }> {
  const fileHash = createHash('sha256').update(source).digest('hex');
  const sha256 = directoryHash([{ path: 'bundle.mjs', sha256: fileHash }]);
  const path = `workflows/code/${sha256}`;
  const res = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${path}/bundle.mjs`, {
    method: 'PUT',
    body: source,
  });
  expect(res.status).toBe(200);
  return { path, sha256 };
}

async function rpc(url: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${url}/api/2.0/keel/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

async function execution(url: string, id: string): Promise<Execution> {
  return (await rpc(url, `executions/get?execution_id=${id}`)).body.execution as Execution;
}

function calls(countsDir: string, task: string): number {
  try {
    return readFileSync(join(countsDir, task), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && !postgresReachable)(
    `workflow execution across a SIGKILL on ${dialect}`,
    () => {
      let store: TestStore | undefined;
      afterAll(async () => {
        await killAll();
        await store?.dispose();
      });

      it('continues after a restart: finished nodes kept, the interrupted task attempted again', async () => {
        store = await createTestStore(dialect);
        const dir = join(root, dialect);
        const countsDir = join(dir, 'counts');
        mkdirSync(countsDir, { recursive: true });
        const args = ['--backend-store-uri', store.uri, '--artifacts-destination', join(dir, 'artifacts')];
        const env = {
          KEEL_WORKFLOW_LEASE_MS: '1500',
          KEEL_WORKFLOW_WORKERS: '2',
          KEEL_WORKFLOW_CACHE_DIR: join(dir, 'workflow-cache'),
          KEEL_PREDICTION_SPILL_DIR: join(dir, 'spill'),
          KEEL_MODEL_CACHE_DIR: join(dir, 'model-cache'),
        };
        const first = await startKeelServer(args, { env });
        const code = await uploadPackage(first.url, bundleSource(countsDir));
        const spec = workflowSpec(
          'crashy',
          { x: { type: 'int' } },
          [call('a', 'double', { x: { input: 'x' } }), call('w', 'slow', { ms: out('a', 'y') })],
          { done: out('w', 'done') },
          { done: { type: 'boolean' } },
        );
        const registered = await rpc(first.url, 'workflows/register', {
          registration: registration(code, spec, ['double', 'slow']),
        });
        expect(registered.status).toBe(200);
        const launched = await rpc(first.url, 'executions/launch', {
          workflow: 'crashy',
          inputs: { x: 1500 },
        });
        expect(launched.status).toBe(200);
        const id = launched.body.execution.execution_id as string;
        await waitFor(async () => calls(countsDir, 'slow') === 1, 20_000, 'the slow task to start');
        expect(nodeOf(await execution(first.url, id), 'w')).toMatchObject({ state: 'running', attempt: 1 });

        expect((await first.kill('SIGKILL')).signal).toBe('SIGKILL');

        const second = await startKeelServer(args, { env });
        await waitFor(
          async () => (await execution(second.url, id)).state === 'succeeded',
          30_000,
          'the execution to complete after the restart',
        );
        const done = await execution(second.url, id);
        expect(done.outputs).toEqual({ done: true });
        expect(nodeOf(done, 'a')).toMatchObject({ state: 'succeeded', attempt: 1, outputs: { y: 3000 } });
        expect(nodeOf(done, 'w')).toMatchObject({ state: 'succeeded', attempt: 2 });
        expect(calls(countsDir, 'double')).toBe(1);
        expect(calls(countsDir, 'slow')).toBe(2);
        const log = await fetch(`${second.url}/api/2.0/keel/executions/${id}/nodes/w/logs?attempt=2`);
        expect(await log.text()).toBe('slow start\n');
        await second.kill('SIGTERM');
      }, 90_000);
    },
  );
}
