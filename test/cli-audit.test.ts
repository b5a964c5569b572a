// End-to-end: the built `keel` CLI — `audit list` through a running server and `audit verify`
// reading the SQLite file directly, before and after the file is tampered with.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../packages/server/src/store/database.js';
import { killAll, runKeel, startKeelServer } from './helpers/keel-process.js';

const dir = mkdtempSync(join(tmpdir(), 'keel-cli-audit-'));
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

async function call(
  url: string,
  path: string,
  body: object,
  user?: string,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/api/2.0/mlflow/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(user ? { 'x-keel-user': user } : {}) },
    body: JSON.stringify(body),
  });
  expect(response.status, path).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe('keel audit', () => {
  const file = join(dir, 'keel.db');
  const db = `sqlite:///${file}`;

  it('lists events through the server and verifies the chain until the file is tampered with', async () => {
    const server = await startKeelServer([
      '--backend-store-uri',
      db,
      '--artifacts-destination',
      join(dir, 'a'),
    ]);
    const { experiment_id: id } = (await call(
      server.url,
      'experiments/create',
      { name: 'audited' },
      'alice',
    )) as {
      experiment_id: string;
    };
    await call(server.url, 'experiments/update', { experiment_id: id, new_name: 'renamed' }, 'bob');
    const created = (await call(server.url, 'runs/create', { experiment_id: id }, 'alice')) as {
      run: { info: { run_id: string } };
    };
    const runId = created.run.info.run_id;
    await call(server.url, 'runs/set-tag', { run_id: runId, key: 'team', value: 'a' }, 'alice');
    await call(server.url, 'runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1 }, 'alice');

    const table = await runKeel(['audit', 'list', '--tracking-uri', server.url]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SEQ\s+TIME\s+ACTOR\s+ACTION\s+ENTITY\s+ENTITY ID\s+CHANGE$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(2, 4))).toEqual([
      ['alice', 'experiment.created'],
      ['bob', 'experiment.renamed'],
      ['alice', 'run.created'],
      ['alice', 'run_tag.set'],
    ]);
    expect(lines[2]).toContain('{"name":"audited"} → {"name":"renamed"}');

    const json = await runKeel([
      'audit',
      'list',
      '--tracking-uri',
      server.url,
      '--entity',
      'run',
      '--entity-id',
      runId,
      '--since',
      '1h',
      '--json',
    ]);
    expect(json.code).toBe(0);
    const events = JSON.parse(json.stdout) as { action: string; seq: number; event_id: string }[];
    expect(events.map((e) => e.action)).toEqual(['run.created', 'run_tag.set']);
    const future = await runKeel([
      'audit',
      'list',
      '--tracking-uri',
      server.url,
      '--since',
      '2999-01-01',
      '--json',
    ]);
    expect(JSON.parse(future.stdout)).toEqual([]);
    const badSince = await runKeel(['audit', 'list', '--tracking-uri', server.url, '--since', 'yesterday']);
    expect(badSince.code).toBe(1);
    expect(badSince.stderr).toContain("Invalid --since 'yesterday'");
    await server.kill();

    const ok = await runKeel(['audit', 'verify', '--backend-store-uri', db]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK: 4 events verified\nHead: seq 4 hash [0-9a-f]{64}\n$/);

    // Tampering goes around Keel: straight to the file with better-sqlite3.
    const tamper = openStore(db);
    const sqlite = tamper.sqlite as NonNullable<typeof tamper.sqlite>;
    const second = sqlite.prepare('select event_id from audit_events where seq = 2').pluck().get() as string;
    sqlite.prepare(`update audit_events set after_json = '{"name":"forged"}' where seq = 2`).run();
    const broken = await runKeel(['audit', 'verify', '--backend-store-uri', db]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe(
      `BROKEN at event seq 2 (${second}): hash does not match the stored fields (the event or its hash was altered)\n`,
    );
    expect(broken.stderr).toContain('failed verification');

    const again = sqlite;
    again.prepare(`update audit_events set after_json = '{"name":"renamed"}' where seq = 2`).run();
    const third = again.prepare('select event_id from audit_events where seq = 3').pluck().get() as string;
    again.prepare('delete from audit_events where seq = 2').run();
    await tamper.close();
    const removed = await runKeel(['audit', 'verify', '--backend-store-uri', db]);
    expect(removed.code).toBe(1);
    expect(removed.stdout).toBe(`BROKEN at event seq 3 (${third}): event 2 is missing (seq gap)\n`);
  });
});
