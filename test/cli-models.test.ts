// End-to-end: the built `keel` CLI's registry commands — `keel models list|get|versions|set-alias|
// transition|delete` — against a real `keel server` (SQLite), asserting stdout, exit codes and the
// server's state. Versions are registered with the SDK from runs with real artifacts.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeelClient } from '../packages/sdk/src/index.js';
import { expectOneErrorLine, tableRows } from './helpers/cli.js';
import { get } from './helpers/http.js';
import {
  CAN_FAKE_TERMINAL,
  type KeelServer,
  killAll,
  runKeel,
  runKeelOnTerminal,
  startKeelServer,
} from './helpers/keel-process.js';

interface ModelVersionJson {
  name: string;
  version: string;
  current_stage: string;
  run_id?: string;
  source: string;
  aliases?: string[];
}
interface RegisteredModelJson {
  name: string;
  description?: string;
  latest_versions?: ModelVersionJson[];
  aliases?: { alias: string; version: string }[];
  tags?: { key: string; value: string }[];
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-cli-models-'));
  tempDirs.push(dir);
  return dir;
}

let server: KeelServer;
let sdk: KeelClient;
let modelDir: string;

beforeAll(async () => {
  const dir = tempDir();
  server = await startKeelServer([
    '--backend-store-uri',
    `sqlite:///${join(dir, 'keel.db')}`,
    '--artifacts-destination',
    join(dir, 'artifacts'),
  ]);
  sdk = new KeelClient({ trackingUri: server.url, retries: 0 });
  modelDir = tempDir();
  writeFileSync(join(modelDir, 'MLmodel'), 'flavors: {}\n');
});
afterAll(async () => {
  await killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** `keel <args> --tracking-uri <server>`: stdin is a closed pipe, never a terminal. */
function keel(...args: string[]): ReturnType<typeof runKeel> {
  return runKeel([...args, '--tracking-uri', server.url]);
}

/** A model with `count` versions, all registered from one run's `model/` artifacts; returns the run id. */
async function modelWithVersions(name: string, count: number): Promise<string> {
  const run = await sdk.startRun({ experiment: `exp-${name}` });
  await run.logArtifacts(modelDir, 'model');
  for (let i = 0; i < count; i += 1) await run.registerModel('model', name);
  await run.end();
  return run.runId;
}

async function model(name: string): Promise<{ status: number; model: RegisteredModelJson }> {
  const answer = await get<{ registered_model: RegisteredModelJson }>(server.url, 'registered-models/get', {
    name,
  });
  return { status: answer.status, model: answer.json.registered_model };
}

async function version(name: string, v: string): Promise<{ status: number; version: ModelVersionJson }> {
  const answer = await get<{ model_version: ModelVersionJson }>(server.url, 'model-versions/get', {
    name,
    version: v,
  });
  return { status: answer.status, version: answer.json.model_version };
}

describe('keel models list', () => {
  it('lists models with their latest versions per stage and aliases, as a table or JSON', async () => {
    await modelWithVersions('list-a', 2);
    await modelWithVersions('list-b', 1);
    await sdk.registry.transitionStage('list-a', 1, 'Production');
    await sdk.registry.setAlias('list-a', 'champion', 1);

    const table = await keel('models', 'list', '--filter', "name LIKE 'list-%'");
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const rows = tableRows(table.stdout);
    expect(rows[0]).toEqual(['NAME', 'LATEST VERSIONS', 'ALIASES', 'UPDATED']);
    expect(rows.slice(1).map((row) => row.slice(0, 3))).toEqual([
      ['list-a', expect.stringMatching(/^(None:2 Production:1|Production:1 None:2)$/), 'champion=1'],
      ['list-b', 'None:1', '-'],
    ]);
    expect(rows[1]?.[3]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const json = await keel('models', 'list', '--filter', "name LIKE 'list-%'", '--json');
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const models = JSON.parse(json.stdout) as RegisteredModelJson[];
    expect(models.map((m) => m.name)).toEqual(['list-a', 'list-b']);
    expect(models[0]).toEqual((await model('list-a')).model);

    const limited = await keel(
      'models',
      'list',
      '--filter',
      "name LIKE 'list-%'",
      '--max-results',
      '1',
      '--json',
    );
    expect((JSON.parse(limited.stdout) as RegisteredModelJson[]).map((m) => m.name)).toEqual(['list-a']);
  });

  it('reports a bad filter as one error line with its code', async () => {
    const bad = await keel('models', 'list', '--filter', 'name ~~ 1');
    expectOneErrorLine(bad);
    expect(bad.stderr).toMatch(/\(INVALID_PARAMETER_VALUE\)\n$/);
  });
});

describe('keel models get', () => {
  it('shows a model with latest versions, aliases and tags, or its JSON', async () => {
    const runId = await modelWithVersions('get-model', 2);
    await sdk.registry.updateRegisteredModel('get-model', { description: 'Churn classifier' });
    await sdk.registry.setRegisteredModelTag('get-model', 'team', 'growth');
    await sdk.registry.setAlias('get-model', 'champion', 2);

    const text = await keel('models', 'get', 'get-model');
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(
      /^Model +get-model\nDescription +Churn classifier\nCreated +\S+Z\nUpdated +\S+Z\n/,
    );
    expect(text.stdout).toMatch(/\nLatest versions\nSTAGE +VERSION +STATUS +RUN ID +SOURCE\n/);
    expect(text.stdout).toMatch(new RegExp(`\\nNone +2 +READY +${runId} +runs:/${runId}/model\\n`));
    expect(text.stdout).toMatch(/\nAliases\nALIAS +VERSION\nchampion +2\n/);
    expect(text.stdout).toMatch(/\nTags\nKEY +VALUE\nteam +growth\n$/);

    const json = await keel('models', 'get', 'get-model', '--json');
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual((await model('get-model')).model);

    const missing = await keel('models', 'get', 'no-such-model');
    expectOneErrorLine(missing);
    expect(missing.stderr).toMatch(/\(RESOURCE_DOES_NOT_EXIST\)\n$/);
  });
});

describe('keel models versions', () => {
  it('lists versions newest first with stage, aliases, run id and source; --filter narrows', async () => {
    const runId = await modelWithVersions('versions-model', 3);
    await sdk.registry.transitionStage('versions-model', 2, 'Staging');
    await sdk.registry.setAlias('versions-model', 'champion', 2);
    await sdk.registry.setAlias('versions-model', 'challenger', 2);
    await sdk.registry.setModelVersionTag('versions-model', 3, 'validated', 'true');
    await modelWithVersions('versions-model-other', 1);

    const table = await keel('models', 'versions', 'versions-model');
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const rows = tableRows(table.stdout);
    expect(rows[0]).toEqual(['VERSION', 'STAGE', 'ALIASES', 'RUN ID', 'SOURCE', 'CREATED']);
    const source = `runs:/${runId}/model`;
    expect(rows.slice(1).map((row) => row.slice(0, 5))).toEqual([
      ['3', 'None', '-', runId, source],
      ['2', 'Staging', expect.stringMatching(/^(champion,challenger|challenger,champion)$/), runId, source],
      ['1', 'None', '-', runId, source],
    ]);

    const filtered = await keel(
      'models',
      'versions',
      'versions-model',
      '--filter',
      "tags.validated = 'true'",
      '--json',
    );
    expect(filtered).toMatchObject({ code: 0, stderr: '' });
    const versions = JSON.parse(filtered.stdout) as ModelVersionJson[];
    expect(versions.map((v) => [v.name, v.version])).toEqual([['versions-model', '3']]);
    expect(versions[0]).toEqual((await version('versions-model', '3')).version);

    const missing = await keel('models', 'versions', 'no-such-model');
    expectOneErrorLine(missing);
    expect(missing.stderr).toMatch(/\(RESOURCE_DOES_NOT_EXIST\)\n$/);
  });
});

describe('keel models set-alias', () => {
  it('sets, moves and deletes an alias; the server follows', async () => {
    await modelWithVersions('alias-model', 2);
    const set = await keel('models', 'set-alias', 'alias-model', 'champion', '1');
    expect(set).toEqual({
      code: 0,
      signal: null,
      stdout: "Alias 'champion' of model 'alias-model' now points to version 1\n",
      stderr: '',
    });
    expect((await model('alias-model')).model.aliases).toEqual([{ alias: 'champion', version: '1' }]);

    expect((await keel('models', 'set-alias', 'alias-model', 'champion', '2')).code).toBe(0);
    expect((await model('alias-model')).model.aliases).toEqual([{ alias: 'champion', version: '2' }]);

    const removed = await keel('models', 'set-alias', 'alias-model', 'champion', '--delete');
    expect(removed).toMatchObject({ code: 0, stdout: "Removed alias 'champion' of model 'alias-model'\n" });
    expect((await model('alias-model')).model.aliases ?? []).toEqual([]);
  });

  it('rejects reserved aliases, missing versions and a version with --delete, as one error line', async () => {
    await modelWithVersions('alias-errors', 1);
    const reserved = await keel('models', 'set-alias', 'alias-errors', 'latest', '1');
    expectOneErrorLine(reserved);
    expect(reserved.stderr).toMatch(/\(INVALID_PARAMETER_VALUE\)\n$/);

    const noVersion = await keel('models', 'set-alias', 'alias-errors', 'champion', '99');
    expectOneErrorLine(noVersion);
    expect(noVersion.stderr).toMatch(/\(RESOURCE_DOES_NOT_EXIST\)\n$/);

    const missingArg = await keel('models', 'set-alias', 'alias-errors', 'champion');
    expectOneErrorLine(missingArg);
    expect(missingArg.stderr).toContain('needs a version');

    const both = await keel('models', 'set-alias', 'alias-errors', 'champion', '1', '--delete');
    expectOneErrorLine(both);
    expect(both.stderr).toContain('takes no version');
    expect((await model('alias-errors')).model.aliases ?? []).toEqual([]);
  });
});

describe('keel models transition', () => {
  it('moves a version to a stage, archiving the previous one with --archive-existing', async () => {
    await modelWithVersions('stage-model', 2);
    const first = await keel('models', 'transition', 'stage-model', '1', 'production');
    expect(first).toMatchObject({
      code: 0,
      stdout: "Model 'stage-model' version 1 is now in stage Production\n",
      stderr: '',
    });
    expect((await version('stage-model', '1')).version.current_stage).toBe('Production');

    const second = await keel(
      'models',
      'transition',
      'stage-model',
      '2',
      'Production',
      '--archive-existing',
      '--json',
    );
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(second.stdout)).toMatchObject({
      name: 'stage-model',
      version: '2',
      current_stage: 'Production',
    });
    expect((await version('stage-model', '1')).version.current_stage).toBe('Archived');
  });

  it('rejects an unknown stage before asking the server', async () => {
    await modelWithVersions('stage-errors', 1);
    const bad = await keel('models', 'transition', 'stage-errors', '1', 'gold');
    expectOneErrorLine(bad);
    expect(bad.stderr).toMatch(/None, Staging, Production, Archived \(INVALID_PARAMETER_VALUE\)\n$/);
    expect((await version('stage-errors', '1')).version.current_stage).toBe('None');
  });
});

describe('keel models delete', () => {
  it('refuses without --yes off a terminal and deletes nothing', async () => {
    await modelWithVersions('delete-refused', 1);
    for (const args of [['delete-refused'], ['delete-refused', '1']]) {
      const refused = await keel('models', 'delete', ...args);
      expectOneErrorLine(refused);
      expect(refused.stderr).toContain("Refusing to run 'keel models delete' without --yes");
    }
    expect((await version('delete-refused', '1')).status).toBe(200);
  });

  it('deletes one version, then the whole model', async () => {
    await modelWithVersions('delete-model', 2);
    const one = await keel('models', 'delete', 'delete-model', '1', '--yes');
    expect(one).toMatchObject({ code: 0, stdout: "Deleted version 1 of model 'delete-model'\n", stderr: '' });
    expect((await version('delete-model', '1')).status).toBe(404);
    expect((await version('delete-model', '2')).status).toBe(200);

    const all = await keel('models', 'delete', 'delete-model', '--yes');
    expect(all).toMatchObject({ code: 0, stdout: "Deleted registered model 'delete-model'\n", stderr: '' });
    expect((await model('delete-model')).status).toBe(404);

    const again = await keel('models', 'delete', 'delete-model', '--yes');
    expectOneErrorLine(again);
    expect(again.stderr).toMatch(/\(RESOURCE_DOES_NOT_EXIST\)\n$/);
  });

  it.skipIf(!CAN_FAKE_TERMINAL)('asks on a terminal: "n" keeps the model, "y" deletes it', async () => {
    await modelWithVersions('delete-tty', 2);
    const args = ['models', 'delete', 'delete-tty', '--tracking-uri', server.url];
    const declined = await runKeelOnTerminal(args, 'n\n');
    expect(declined.code).toBe(1);
    expect(declined.stdout).toContain("Delete registered model 'delete-tty' and its 2 version(s)?");
    expect(declined.stdout).toContain('error: Aborted: nothing was deleted');
    expect((await model('delete-tty')).status).toBe(200);

    const accepted = await runKeelOnTerminal(args, 'y\n');
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain("Deleted registered model 'delete-tty'");
    expect((await model('delete-tty')).status).toBe(404);
  });
});
