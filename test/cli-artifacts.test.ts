// End-to-end: the built `keel server` serving artifacts from a folder and from S3 (flags and AWS
// variables wired through the CLI), and `keel gc` deleting the artifacts of the runs it removes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startS3TestServer } from '../packages/server/src/testing/s3-test-server.js';
import { post } from './helpers/http.js';
import { killAll, runKeel, startKeelServer } from './helpers/keel-process.js';

const s3 = await startS3TestServer();
const dir = mkdtempSync(join(tmpdir(), 'keel-cli-artifacts-'));
afterEach(killAll);
afterAll(async () => {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Destination {
  name: string;
  /** Flags for both `keel server` and `keel gc`. */
  flags: string[];
  env: Record<string, string>;
}

const destinations: Destination[] = [
  { name: 'a local folder', flags: ['--artifacts-destination', join(dir, 'artifacts')], env: {} },
  ...(s3
    ? [
        {
          name: 'S3',
          flags: ['--artifacts-destination', `s3://${s3.bucket}/cli-e2e`, '--s3-endpoint-url', s3.endpoint],
          env: {
            AWS_ACCESS_KEY_ID: 'S3RVER',
            AWS_SECRET_ACCESS_KEY: 'S3RVER',
            AWS_REGION: 'us-east-1',
            // The AWS SDK warns on Node 20 that its 2027 releases need Node 22; not this test's subject.
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          },
        },
      ]
    : []),
];

describe.each(destinations)('keel server and keel gc with artifacts in $name', ({ name, flags, env }) => {
  it('serves artifacts through the proxy and gc deletes those of removed runs only', async () => {
    const db = `sqlite:///${join(dir, `${name.replaceAll(' ', '-')}.db`)}`;
    const server = await startKeelServer(['--backend-store-uri', db, ...flags], { env });
    const proxy = `${server.url}/api/2.0/mlflow-artifacts/artifacts`;
    const runs: { run_id: string; artifact_uri: string }[] = [];
    for (let i = 0; i < 2; i += 1) {
      const created = await post<{ run: { info: { run_id: string; artifact_uri: string } } }>(
        server.url,
        'runs/create',
        {},
      );
      runs.push(created.json.run.info);
    }
    const [doomed, kept] = runs as [(typeof runs)[0], (typeof runs)[0]];
    const fileOf = (run: typeof doomed) =>
      `${proxy}/${run.artifact_uri.replace('mlflow-artifacts:/', '')}/model.txt`;
    for (const run of runs) {
      const put = await fetch(fileOf(run), { method: 'PUT', body: `model of ${run.run_id}` });
      expect(put.status).toBe(200);
    }
    expect(await (await fetch(fileOf(doomed))).text()).toBe(`model of ${doomed.run_id}`);

    expect((await post(server.url, 'runs/delete', { run_id: doomed.run_id })).status).toBe(200);
    const gc = await runKeel(['gc', '--yes', '--backend-store-uri', db, ...flags], { env });
    expect(gc.stderr).toBe('');
    expect(gc.code).toBe(0);
    expect(gc.stdout).toContain(`run\t${doomed.run_id}\tremoved\n`);

    expect((await fetch(fileOf(doomed))).status).toBe(404);
    const survivor = await fetch(fileOf(kept));
    expect(survivor.status).toBe(200);
    expect(await survivor.text()).toBe(`model of ${kept.run_id}`);
  });
});

describe('keel server with a bad artifacts destination', () => {
  it('exits with one line naming the schemes it knows', async () => {
    const result = await runKeel([
      'server',
      '--port',
      '0',
      '--backend-store-uri',
      `sqlite:///${join(dir, 'bad.db')}`,
      '--artifacts-destination',
      'gs://bucket/x',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^error: .*file:\/\/.*s3:\/\//);
  });
});
