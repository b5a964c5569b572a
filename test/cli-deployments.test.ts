// End-to-end: the built `keel` CLI's deployment commands — `keel deployments create|list|get|update|
// delete|revisions|rollback` — against a real `keel server` (SQLite), asserting stdout, exit codes
// and the server's state (read back with the SDK).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Deployment,
  type DeploymentRevision,
  KeelClient,
  NotFoundError,
} from '../packages/sdk/src/index.js';
import { expectOneErrorLine, tableRows } from './helpers/cli.js';
import {
  CAN_FAKE_TERMINAL,
  type KeelServer,
  killAll,
  runKeel,
  runKeelOnTerminal,
  startKeelServer,
} from './helpers/keel-process.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-cli-deployments-'));
  tempDirs.push(dir);
  return dir;
}

let server: KeelServer;
let sdk: KeelClient;

beforeAll(async () => {
  const dir = tempDir();
  server = await startKeelServer([
    '--backend-store-uri',
    `sqlite:///${join(dir, 'keel.db')}`,
    '--artifacts-destination',
    join(dir, 'artifacts'),
  ]);
  sdk = new KeelClient({ trackingUri: server.url, retries: 0 });
});
afterAll(async () => {
  await killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** `keel <args> --tracking-uri <server>`: stdin is a closed pipe, never a terminal. */
function keel(...args: string[]): ReturnType<typeof runKeel> {
  return runKeel([...args, '--tracking-uri', server.url]);
}

const canaryRoutes = ['--route', 'stable=models:/fraud@champion:90', '--route', 'canary=models:/fraud/8:10'];

describe('keel deployments create', () => {
  it('builds the spec from flags and prints one line with the revision', async () => {
    const created = await keel(
      'deployments',
      'create',
      'fraud',
      ...canaryRoutes,
      '--shadow',
      'models:/fraud/9',
      '--batch-max-size',
      '32',
      '--batch-max-delay-ms',
      '2',
      '--workers',
      '2',
      '--max-queue-rows',
      '1000',
      '--sample-rate',
      '0.25',
      '--description',
      'Fraud scoring',
    );
    expect(created).toEqual({
      code: 0,
      signal: null,
      stdout:
        "Created deployment 'fraud' at revision 1: stable 90% models:/fraud@champion, canary 10% models:/fraud/8\n",
      stderr: '',
    });
    expect(await sdk.deployments.get('fraud')).toMatchObject({
      revision: 1,
      description: 'Fraud scoring',
      spec: {
        routes: [
          { name: 'stable', model: 'models:/fraud@champion', weight: 90 },
          { name: 'canary', model: 'models:/fraud/8', weight: 10 },
        ],
        shadow: { model: 'models:/fraud/9' },
        batching: { maxBatchSize: 32, maxDelayMs: 2 },
        resources: { workers: 2, maxQueueRows: 1000 },
        recording: { mode: 'sample', sampleRate: 0.25 },
      },
    });
  });

  it('reads --spec-file (a spec, or a deployment as get --json prints it), flags overriding it', async () => {
    const dir = tempDir();
    const specFile = join(dir, 'spec.json');
    writeFileSync(
      specFile,
      JSON.stringify({ routes: [{ model: 'models:/churn/1' }], recording: { mode: 'hash' } }),
    );
    const fromFile = await keel('deployments', 'create', 'churn', '--spec-file', specFile, '--json');
    expect(fromFile).toMatchObject({ code: 0, stderr: '' });
    const churn = JSON.parse(fromFile.stdout) as Deployment;
    expect(churn.spec).toEqual({
      routes: [{ name: 'route-0', model: 'models:/churn/1', weight: 1 }],
      batching: { maxBatchSize: 64, maxDelayMs: 0 },
      recording: { mode: 'hash' },
    });
    expect(churn).toEqual(await sdk.deployments.get('churn'));

    const exported = join(dir, 'churn.json');
    writeFileSync(exported, (await keel('deployments', 'get', 'churn', '--json')).stdout);
    const copy = await keel(
      'deployments',
      'create',
      'churn-copy',
      '--spec-file',
      exported,
      '--record',
      'full',
    );
    expect(copy.code).toBe(0);
    expect((await sdk.deployments.get('churn-copy')).spec).toEqual({
      ...churn.spec,
      recording: { mode: 'full' },
    });
  });

  it('reports bad input as one error line naming the field, and creates nothing', async () => {
    const unreadable = await keel('deployments', 'create', 'bad', '--spec-file', '/nonexistent/spec.json');
    expectOneErrorLine(unreadable);
    expect(unreadable.stderr).toContain('Cannot read --spec-file /nonexistent/spec.json');

    const runs = await keel('deployments', 'create', 'bad', '--route', 'runs:/abc/model');
    expectOneErrorLine(runs);
    expect(runs.stderr).toContain("Invalid --route 'runs:/abc/model'");

    const duplicate = await keel(
      'deployments',
      'create',
      'bad',
      '--route',
      'a=models:/m/1',
      '--route',
      'a=models:/m/2',
    );
    expectOneErrorLine(duplicate);
    expect(duplicate.stderr).toMatch(
      /spec\.routes\[1\]\.name 'a' is already used .*\(INVALID_PARAMETER_VALUE\)\n$/,
    );

    const zero = await keel('deployments', 'create', 'bad', '--route', 'models:/m/1:0');
    expectOneErrorLine(zero);
    expect(zero.stderr).toMatch(/spec\.routes weights sum to 0.*\(INVALID_PARAMETER_VALUE\)\n$/);

    const noRoute = await keel('deployments', 'create', 'bad');
    expectOneErrorLine(noRoute);
    expect(noRoute.stderr).toContain('give --route (repeatable) or --spec-file');

    const badName = await keel('deployments', 'create', 'bad name', '--route', 'models:/m/1');
    expectOneErrorLine(badName);
    expect(badName.stderr).toMatch(/\(INVALID_PARAMETER_VALUE\)\n$/);

    await sdk.deployments.create('taken', { routes: [{ model: 'models:/m/1' }] });
    const exists = await keel('deployments', 'create', 'taken', '--route', 'models:/m/1');
    expectOneErrorLine(exists);
    expect(exists.stderr).toMatch(/\(RESOURCE_ALREADY_EXISTS\)\n$/);

    await expect(sdk.deployments.get('bad')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('keel deployments list and get', () => {
  beforeAll(async () => {
    await sdk.deployments.create(
      'shown',
      {
        routes: [
          { name: 'stable', model: 'models:/fraud@champion', weight: 90 },
          { name: 'canary', model: 'models:/fraud/8', weight: 10 },
        ],
        shadow: 'models:/fraud/9',
        batching: { maxBatchSize: 32, maxDelayMs: 2 },
        resources: { workers: 2, maxQueueRows: 1000 },
        recording: { mode: 'sample', sampleRate: 0.25 },
      },
      { description: 'Fraud scoring' },
    );
  });

  it('lists deployments as a table with route shares, or as JSON', async () => {
    await keel('deployments', 'create', 'list-a', '--route', 'x=models:/a/1:1', '--route', 'y=models:/a/2:2');
    const table = await keel('deployments', 'list');
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const rows = tableRows(table.stdout);
    expect(rows[0]).toEqual(['NAME', 'REVISION', 'ROUTES', 'SHADOW', 'UPDATED']);
    const row = rows.find((r) => r[0] === 'list-a');
    expect(row?.slice(0, 4)).toEqual(['list-a', '1', 'x 33.3% models:/a/1, y 66.7% models:/a/2', '-']);
    expect(row?.[4]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(rows.find((r) => r[0] === 'shown')?.[3]).toBe('models:/fraud/9');

    const json = await keel('deployments', 'list', '--json');
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual(await sdk.deployments.list());
  });

  it('shows one deployment with its settings and routes; --revision shows an older one', async () => {
    const text = await keel('deployments', 'get', 'shown');
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(
      /^Deployment +shown\nRevision +1\nDescription +Fraud scoring\nCreated +\S+Z by anonymous\nUpdated +\S+Z by anonymous\n/,
    );
    expect(text.stdout).toMatch(/\nShadow +models:\/fraud\/9\n/);
    expect(text.stdout).toMatch(/\nBatching +up to 32 rows, wait up to 2 ms\n/);
    expect(text.stdout).toMatch(/\nResources +2 workers, queue up to 1000 rows\n/);
    expect(text.stdout).toMatch(/\nRecording +sample \(payloads of 25% of calls\)\n/);
    expect(text.stdout).toMatch(
      /\nRoutes\nNAME +MODEL +WEIGHT +SHARE\nstable +models:\/fraud@champion +90 +90%\ncanary +models:\/fraud\/8 +10 +10%\n$/,
    );

    const json = await keel('deployments', 'get', 'shown', '--json');
    expect(JSON.parse(json.stdout)).toEqual(await sdk.deployments.get('shown'));

    const revision = await keel('deployments', 'get', 'shown', '--revision', '1');
    expect(revision).toMatchObject({ code: 0, stderr: '' });
    expect(revision.stdout).toMatch(/^Deployment +shown\nRevision +1\nAction +created\n/);

    const missing = await keel('deployments', 'get', 'ghost');
    expectOneErrorLine(missing);
    expect(missing.stderr).toMatch(/\(RESOURCE_DOES_NOT_EXIST\)\n$/);
    const missingRevision = await keel('deployments', 'get', 'shown', '--revision', '99');
    expectOneErrorLine(missingRevision);
    expect(missingRevision.stderr).toMatch(/\(RESOURCE_DOES_NOT_EXIST\)\n$/);
  });
});

describe('keel deployments update, revisions and rollback', () => {
  it('updates the current spec flag by flag, lists revisions and rolls back', async () => {
    await keel('deployments', 'create', 'canary', ...canaryRoutes, '--shadow', 'models:/fraud/9');

    const shifted = await keel(
      'deployments',
      'update',
      'canary',
      '--route',
      'stable=models:/fraud@champion:50',
      '--route',
      'canary=models:/fraud/8:50',
    );
    expect(shifted).toEqual({
      code: 0,
      signal: null,
      stdout:
        "Updated deployment 'canary' to revision 2: stable 50% models:/fraud@champion, canary 50% models:/fraud/8\n",
      stderr: '',
    });
    // Flags not given keep their values.
    expect((await sdk.deployments.get('canary')).spec.shadow).toEqual({ model: 'models:/fraud/9' });

    const unshadowed = await keel(
      'deployments',
      'update',
      'canary',
      '--no-shadow',
      '--description',
      'half',
      '--json',
    );
    expect(unshadowed).toMatchObject({ code: 0, stderr: '' });
    const third = JSON.parse(unshadowed.stdout) as Deployment;
    expect(third).toMatchObject({ revision: 3, description: 'half' });
    expect(third.spec).not.toHaveProperty('shadow');
    expect(third.spec.routes.map((r) => r.weight)).toEqual([50, 50]);

    const same = await keel('deployments', 'update', 'canary', '--description', 'half');
    expect(same).toMatchObject({ code: 0, stdout: "Deployment 'canary' unchanged at revision 3\n" });

    const nothing = await keel('deployments', 'update', 'canary');
    expectOneErrorLine(nothing);
    expect(nothing.stderr).toContain('Nothing to update');

    const rolled = await keel('deployments', 'rollback', 'canary', '1');
    expect(rolled).toMatchObject({
      code: 0,
      stdout:
        "Rolled deployment 'canary' back to the spec of revision 1, now revision 4: stable 90% models:/fraud@champion, canary 10% models:/fraud/8\n",
      stderr: '',
    });
    const current = await sdk.deployments.get('canary');
    expect(current.spec).toEqual((await sdk.deployments.getRevision('canary', 1)).spec);

    const table = await keel('deployments', 'revisions', 'canary');
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const rows = tableRows(table.stdout);
    expect(rows[0]).toEqual(['REVISION', 'ACTION', 'BY', 'CREATED', 'ROUTES']);
    expect(rows.slice(1).map((r) => [r[0], r[1], r[2], r[4]])).toEqual([
      [
        '4',
        'rolled_back from 1',
        'anonymous',
        'stable 90% models:/fraud@champion, canary 10% models:/fraud/8',
      ],
      ['3', 'updated', 'anonymous', 'stable 50% models:/fraud@champion, canary 50% models:/fraud/8'],
      ['2', 'updated', 'anonymous', 'stable 50% models:/fraud@champion, canary 50% models:/fraud/8'],
      ['1', 'created', 'anonymous', 'stable 90% models:/fraud@champion, canary 10% models:/fraud/8'],
    ]);
    const json = await keel('deployments', 'revisions', 'canary', '--json');
    expect(JSON.parse(json.stdout) as DeploymentRevision[]).toEqual(
      await sdk.deployments.revisions('canary'),
    );

    const current4 = await keel('deployments', 'rollback', 'canary', '4');
    expectOneErrorLine(current4);
    expect(current4.stderr).toMatch(/current revision.*\(INVALID_PARAMETER_VALUE\)\n$/);
    const notANumber = await keel('deployments', 'rollback', 'canary', 'two');
    expectOneErrorLine(notANumber);
    expect(notANumber.stderr).toContain("Invalid <revision> 'two'");
  });
});

describe('keel deployments delete', () => {
  it('refuses without --yes off a terminal, then deletes; the revisions stay', async () => {
    await keel('deployments', 'create', 'doomed', '--route', 'models:/m/1');
    const refused = await keel('deployments', 'delete', 'doomed');
    expectOneErrorLine(refused);
    expect(refused.stderr).toContain("Refusing to run 'keel deployments delete' without --yes");
    expect((await sdk.deployments.get('doomed')).revision).toBe(1);

    const deleted = await keel('deployments', 'delete', 'doomed', '--yes');
    expect(deleted).toMatchObject({ code: 0, stdout: "Deleted deployment 'doomed'\n", stderr: '' });
    await expect(sdk.deployments.get('doomed')).rejects.toBeInstanceOf(NotFoundError);
    expect((await keel('deployments', 'revisions', 'doomed')).code).toBe(0);

    const again = await keel('deployments', 'delete', 'doomed', '--yes');
    expectOneErrorLine(again);
    expect(again.stderr).toMatch(/\(RESOURCE_DOES_NOT_EXIST\)\n$/);
  });

  it.skipIf(!CAN_FAKE_TERMINAL)('asks on a terminal: "n" keeps the deployment, "y" deletes it', async () => {
    await keel('deployments', 'create', 'tty', '--route', 'models:/m/1', '--route', 'models:/m/2');
    const args = ['deployments', 'delete', 'tty', '--tracking-uri', server.url];
    const declined = await runKeelOnTerminal(args, 'n\n');
    expect(declined.code).toBe(1);
    expect(declined.stdout).toContain("Delete deployment 'tty' (revision 1, 2 route(s))?");
    expect(declined.stdout).toContain('error: Aborted: nothing was deleted');
    expect((await sdk.deployments.get('tty')).revision).toBe(1);

    const accepted = await runKeelOnTerminal(args, 'y\n');
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain("Deleted deployment 'tty'");
    await expect(sdk.deployments.get('tty')).rejects.toBeInstanceOf(NotFoundError);
  });
});
