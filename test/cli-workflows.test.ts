// End-to-end: the built `keel` CLI's workflow commands — `keel workflows register|list|versions|
// set-default|launch|status|logs|cancel|relaunch|recover|executions` — against a real `keel server`
// (SQLite) whose engine runs the tasks of packages/sdk/src/testing/hello-workflow.ts, asserting
// stdout, stderr, exit codes and the server's state (read back with the SDK).

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeelClient } from '../packages/sdk/src/index.js';
import { expectOneErrorLine, tableRows } from './helpers/cli.js';
import {
  CAN_FAKE_TERMINAL,
  type KeelServer,
  killAll,
  runKeel,
  runKeelOnTerminal,
  sqliteServerArgs,
  startKeelServer,
  waitFor,
} from './helpers/keel-process.js';

const FLOWS = fileURLToPath(new URL('../packages/sdk/src/testing/hello-workflow.ts', import.meta.url));
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const CSV = 'x,y\n1,2\n3,4\n';

let server: KeelServer;
let sdk: KeelClient;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-cli-workflows-'));
  server = await startKeelServer(sqliteServerArgs(dir));
  sdk = new KeelClient({ trackingUri: server.url, retries: 0 });
  writeFileSync(join(dir, 'train.csv'), CSV);
  mkdirSync(join(dir, 'images'));
  writeFileSync(join(dir, 'images', 'a.png'), 'A');
  writeFileSync(join(dir, 'inputs.json'), JSON.stringify({ who: 'file', times: 1 }));
});
afterAll(async () => {
  await killAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `keel workflows <args> --tracking-uri <server>`: stdin is a closed pipe, never a terminal. */
function keel(...args: string[]): ReturnType<typeof runKeel> {
  return runKeel(['workflows', ...args, '--tracking-uri', server.url], { timeoutMs: 60_000 });
}

/** `--input` flags for every input without a default; `who` and `times` as given. */
function inputs(who = 'bob', times = 1): string[] {
  return [
    `data=${join(dir, 'train.csv')}`,
    `images=${join(dir, 'images')}`,
    `who=${who}`,
    `times=${times}`,
  ].flatMap((input) => ['--input', input]);
}

/** The execution id a command printed (`… execution <id> …` or `… as <id>`). */
function idIn(stdout: string, after = 'execution'): string {
  const id = new RegExp(`${after} ([0-9a-f-]{36})`).exec(stdout)?.[1];
  if (id === undefined) throw new Error(`no execution id after '${after}' in ${stdout}`);
  return id;
}

describe('keel workflows register, list, versions, set-default', () => {
  it('bundles and registers a module once; again is a no-op', async () => {
    const first = await keel('register', FLOWS, '--version', 'h1');
    expect(first).toMatchObject({ code: 0, stdout: "Registered workflow 'hello' version h1 (default)\n" });
    const again = await keel('register', FLOWS, '--version', 'h1');
    expect(again).toMatchObject({
      code: 0,
      stdout: "Workflow 'hello' version h1 is already registered, unchanged (default)\n",
    });
    const second = await keel('register', FLOWS, '--version', 'h2', '--description', 'second', '--json');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject([
      { name: 'hello', version: 'h2', is_default: false, created: true, description: 'second' },
    ]);
    const spec = (await sdk.workflows.get('hello', 'h2')).spec;
    expect(spec.workflow.nodes.map((n) => n.id)).toEqual(['count', 'greet']);
  });

  it('lists workflows and versions as tables, sets the default', async () => {
    const list = await keel('list');
    expect(list.code).toBe(0);
    expect(tableRows(list.stdout)).toEqual([
      ['NAME', 'DEFAULT VERSION', 'LATEST VERSION', 'VERSIONS', 'UPDATED'],
      ['hello', 'h1', 'h2', '2', expect.stringMatching(/^\d{4}-\d\d-\d\dT/)],
    ]);
    const set = await keel('set-default', 'hello', 'h2');
    expect(set).toMatchObject({ code: 0, stdout: "Default version of workflow 'hello' is now h2\n" });
    const versions = await keel('versions', 'hello');
    expect(tableRows(versions.stdout).map((row) => row.slice(0, 2))).toEqual([
      ['VERSION', 'DEFAULT'],
      ['h2', 'yes'],
      ['h1', 'no'],
    ]);
    expect((await keel('set-default', 'hello', 'h1')).code).toBe(0);
  });

  it('prints one error line for an unknown workflow or version', async () => {
    const missing = await keel('versions', 'nope');
    expectOneErrorLine(missing);
    expect(missing.stderr).toMatch(/\(RESOURCE_DOES_NOT_EXIST\)\n$/);
    expectOneErrorLine(await keel('set-default', 'hello', 'h9'));
  });
});

describe('keel workflows launch', () => {
  it('reads --input values by their declared types and uploads local paths', async () => {
    const launched = await keel(
      'launch',
      'hello',
      ...inputs(),
      '--input',
      'loud=TRUE',
      '--input',
      'scale=0.5',
      '--input',
      'extra={"tags":["a"]}',
      '--cache',
      'skip',
      '--json',
    );
    expect(launched.code).toBe(0);
    const execution = JSON.parse(launched.stdout);
    const images = sha256(`a.png\0${sha256('A')}\n`);
    expect(execution).toMatchObject({
      workflow: 'hello',
      version: 'h1',
      cache_mode: 'skip',
      inputs: {
        data: {
          $artifact: `workflows/data/${sha256(CSV)}`,
          sha256: sha256(CSV),
          kind: 'file',
          size: CSV.length,
        },
        images: { $artifact: `workflows/data/${images}`, sha256: images, kind: 'directory', size: 1 },
        who: 'bob',
        times: 1,
        loud: true,
        scale: 0.5,
        extra: { tags: ['a'] },
      },
    });
    expect(readFileSync(join(dir, 'artifacts', 'workflows', 'data', images, 'a.png'), 'utf8')).toBe('A');
    const done = await sdk.executions.wait(execution.execution_id, { intervalMs: 100 });
    expect(done.outputs).toEqual({ line: 'HELLO BOB X1, 2 ROWS, SCALE 0.5' });
  });

  it('merges --inputs-file under --input and picks --version', async () => {
    const launched = await keel(
      'launch',
      'hello',
      '--version',
      'h2',
      '--inputs-file',
      join(dir, 'inputs.json'),
      '--input',
      'times=2',
      '--input',
      `data=${join(dir, 'train.csv')}`,
      '--input',
      `images=${join(dir, 'images')}`,
    );
    expect(launched).toMatchObject({ code: 0, stderr: '' });
    expect(launched.stdout).toMatch(/^Launched execution [0-9a-f-]{36} of workflow 'hello' version h2\n$/);
    const execution = await sdk.executions.get(idIn(launched.stdout));
    expect(execution).toMatchObject({ version: 'h2', inputs: { who: 'file', times: 2 } });
  });

  it.each([
    [['--input', 'times=three'], "Invalid --input times 'three': expected a whole number (int)"],
    [['--input', 'loud=maybe'], "Invalid --input loud 'maybe': expected true or false"],
    [['--input', 'extra={oops'], "Invalid --input extra '{oops': expected JSON (json)"],
    [['--input', 'colour=red'], "Unknown --input 'colour': workflow 'hello' takes data, images, who"],
    [['--input', 'novalue'], "Invalid --input 'novalue': expected name=value"],
    [['--inputs-file', '/nonexistent.json'], "Cannot read --inputs-file '/nonexistent.json'"],
  ])('refuses %j with one error line before launching', async (flags, message) => {
    const result = await keel('launch', 'hello', ...flags);
    expectOneErrorLine(result);
    expect(result.stderr).toContain(`error: ${message}`);
  });

  it('--wait off a terminal prints one line per state change and exits 0 on success', async () => {
    // greet runs 1 s: polls every 500 ms see it running.
    const result = await keel('launch', 'hello', ...inputs('ann', 10), '--wait');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const id = idIn(result.stdout);
    const duration = String.raw`(\d+ms|\d+\.\ds)`;
    expect(result.stdout.trimEnd().split('\n')).toEqual([
      `Launched execution ${id} of workflow 'hello' version h1`,
      `execution ${id}: running`,
      ...(result.stdout.includes('count: running') ? ['count: running (attempt 1, cache disabled)'] : []),
      expect.stringMatching(new RegExp(`^count: succeeded \\(attempt 1, cache disabled, ${duration}\\)$`)),
      'greet: running (attempt 1, cache disabled)',
      expect.stringMatching(new RegExp(`^greet: succeeded \\(attempt 1, cache disabled, ${duration}\\)$`)),
      `execution ${id}: succeeded`,
      expect.stringMatching(new RegExp(`^Execution ${id} succeeded in ${duration}$`)),
    ]);
  });

  it('--wait exits 1 with one error line when the execution fails', async () => {
    const result = await keel('launch', 'hello', ...inputs('fail'), '--wait');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/\ngreet: failed \(attempt 1, [^)]*\): cannot greet 'fail'\n/);
    expect(result.stderr).toMatch(/^error: execution [0-9a-f-]{36} failed: .*cannot greet 'fail'\n$/);
  });
});

describe('keel workflows status, logs, cancel, relaunch, recover, executions', () => {
  let failedId: string;
  beforeAll(async () => {
    const launched = await keel('launch', 'hello', ...inputs('fail'));
    failedId = idIn(launched.stdout);
    await sdk.executions.wait(failedId, { intervalMs: 100 });
  });

  it('status shows the execution and a table of its nodes', async () => {
    const status = await keel('status', failedId);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      new RegExp(`^Execution +${failedId}\nWorkflow +hello \\(version h1\\)\nState +failed\n`),
    );
    const table = status.stdout.slice(status.stdout.indexOf('NODE'));
    expect(tableRows(table).slice(0, 3)).toEqual([
      ['NODE', 'TASK', 'STATE', 'ATTEMPT', 'CACHE', 'DURATION'],
      ['count', 'count', 'succeeded', '1', expect.any(String), expect.stringMatching(/^\d+ms|\d+\.\ds$/)],
      ['greet', 'greet', 'failed', '1', expect.any(String), expect.stringMatching(/^\d+ms|\d+\.\ds$/)],
    ]);
    expect(status.stdout).toMatch(/\ngreet: user error: .*cannot greet 'fail'\n$/);
  });

  it('status --watch exits 1 for a failed execution; --json prints it', async () => {
    const watched = await keel('status', failedId, '--watch', '--json');
    expect(watched.code).toBe(1);
    expect(JSON.parse(watched.stdout)).toMatchObject({ execution_id: failedId, state: 'failed' });
    expect(watched.stderr).toMatch(
      new RegExp(`^error: execution ${failedId} failed: .*cannot greet 'fail'\n$`),
    );
  });

  it.skipIf(!CAN_FAKE_TERMINAL)('status --watch on a terminal redraws a table in place', async () => {
    const id = idIn((await keel('launch', 'hello', ...inputs('tty', 15))).stdout);
    const watched = await runKeelOnTerminal(
      ['workflows', 'status', id, '--watch', '--tracking-uri', server.url],
      '',
    );
    expect(watched.code).toBe(0);
    // Frames after the first move the cursor back up over the previous one and clear it.
    const esc = String.fromCharCode(27);
    expect(watched.stdout).toContain(`${esc}[4F${esc}[J`);
    expect(watched.stdout).toMatch(/NODE +TASK +STATE +ATTEMPT +CACHE +DURATION/);
    expect(watched.stdout).toMatch(/greet +greet +running +1 /);
    expect(watched.stdout).toContain(`${id} · hello@h1 · succeeded · `);
    expect(watched.stdout).toMatch(new RegExp(`Execution ${id} succeeded in`));
  });

  it('logs prints an attempt log with stdout and stderr apart; -f streams them live until the attempt ends', async () => {
    const count = await keel('logs', failedId, 'count', '--attempt', '1');
    expect(count).toMatchObject({ code: 0, stdout: 'counted 2 rows\n', stderr: '' });
    expect(await keel('logs', failedId, 'greet')).toMatchObject({
      code: 0,
      stdout: '',
      stderr: 'greeting fail\n',
    });

    const live = idIn((await keel('launch', 'hello', ...inputs('live', 20))).stdout);
    await waitFor(
      async () =>
        (await sdk.executions.get(live)).nodes.some((n) => n.node_id === 'greet' && n.state === 'running'),
      20_000,
      'greet to run',
    );
    const followed = await keel('logs', live, 'greet', '-f');
    expect(followed).toMatchObject({ code: 0, stdout: '', stderr: 'greeting live\n' });
    expect((await sdk.executions.get(live)).nodes.find((n) => n.node_id === 'greet')?.state).toBe(
      'succeeded',
    );
    expectOneErrorLine(await keel('logs', failedId, 'nope'));
  });

  it('recover reuses what succeeded; relaunch starts afresh; cancel stops', async () => {
    const recovered = await keel('recover', failedId);
    expect(recovered.code).toBe(0);
    expect(recovered.stdout).toMatch(
      new RegExp(`^Recovering execution ${failedId} as [0-9a-f-]{36} \\(1 of 2 nodes reused\\)\n$`),
    );
    const recoveredId = idIn(recovered.stdout, 'as');
    expect(await sdk.executions.get(recoveredId)).toMatchObject({
      mode: 'recover',
      parent_execution_id: failedId,
    });

    const relaunched = await keel('relaunch', failedId, '--cache', 'overwrite');
    expect(relaunched.stdout).toMatch(new RegExp(`^Relaunched execution ${failedId} as [0-9a-f-]{36}\n$`));
    expect(await sdk.executions.get(idIn(relaunched.stdout, 'as'))).toMatchObject({
      mode: 'relaunch',
      cache_mode: 'overwrite',
      parent_execution_id: failedId,
    });

    const slow = idIn((await keel('launch', 'hello', ...inputs('slow', 100))).stdout);
    const cancelled = await keel('cancel', slow);
    expect(cancelled).toMatchObject({ code: 0, stderr: '' });
    expect(cancelled.stdout).toMatch(new RegExp(`^(Cancelling|Cancelled) execution ${slow}\n$`));
    const watched = await keel('status', slow, '--watch');
    expect(watched.code).toBe(1);
    expect(watched.stderr).toBe(`error: execution ${slow} was cancelled\n`);

    const succeeded = (await sdk.executions.list({ state: 'succeeded' }).next()).value;
    const notFailed = await keel('recover', succeeded?.execution_id ?? '');
    expectOneErrorLine(notFailed);
    expect(notFailed.stderr).toMatch(/\(INVALID_PARAMETER_VALUE\)\n$/);
    const badCache = await keel('relaunch', failedId, '--cache', 'sometimes');
    expect(badCache.code).toBe(1);
    expect(badCache.stderr).toMatch(/Allowed choices are use, skip, overwrite/);
  });

  it('executions lists newest first with filters', async () => {
    const failed = await keel('executions', '--workflow', 'hello', '--state', 'failed');
    expect(failed.code).toBe(0);
    const rows = tableRows(failed.stdout);
    expect(rows[0]).toEqual([
      'EXECUTION',
      'WORKFLOW',
      'VERSION',
      'STATE',
      'MODE',
      'CREATED',
      'DURATION',
      'BY',
    ]);
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.slice(1).every((row) => row[1] === 'hello' && row[3] === 'failed')).toBe(true);
    expect(rows.map((row) => row[0])).toContain(failedId);
    const json = await keel('executions', '--max-results', '2', '--json');
    const two = JSON.parse(json.stdout) as { created_at: number }[];
    expect(two).toHaveLength(2);
    expect(two[0]?.created_at).toBeGreaterThanOrEqual(two[1]?.created_at ?? 0);
  });

  it('prints one error line when the server cannot be reached', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    const result = await runKeel(['workflows', 'list', '--tracking-uri', `http://127.0.0.1:${port}`]);
    expectOneErrorLine(result);
    expect(result.stderr).toBe(`error: cannot reach Keel at http://127.0.0.1:${port}: connection refused\n`);
  });
});
