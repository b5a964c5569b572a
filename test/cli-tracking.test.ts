// End-to-end: the built `keel` CLI's tracking commands — `experiments`, `runs`, `artifacts` —
// against a real `keel server` (SQLite), asserting stdout, exit codes and the server's state.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneErrorLine, tableRows } from './helpers/cli.js';
import { createRun, get, ok } from './helpers/http.js';
import {
  CAN_FAKE_TERMINAL,
  type KeelServer,
  killAll,
  runKeel,
  runKeelOnTerminal,
  sqliteServerArgs,
  startKeelServer,
} from './helpers/keel-process.js';

interface ExperimentJson {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  tags?: { key: string; value: string }[];
}
interface RunJson {
  info: { run_id: string; run_name: string; lifecycle_stage: string; status: string; experiment_id: string };
  data: { metrics?: { key: string; value: number }[]; params?: { key: string; value: string }[] };
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-cli-tracking-'));
  tempDirs.push(dir);
  return dir;
}

let server: KeelServer;

beforeAll(async () => {
  const dir = tempDir();
  server = await startKeelServer(sqliteServerArgs(dir));
});
afterAll(async () => {
  await killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** `keel <args> --tracking-uri <server>`: stdin is a closed pipe, never a terminal. */
function keel(...args: string[]): ReturnType<typeof runKeel> {
  return runKeel([...args, '--tracking-uri', server.url]);
}

async function experiment(id: string): Promise<ExperimentJson> {
  const answer = await get<{ experiment: ExperimentJson }>(server.url, 'experiments/get', {
    experiment_id: id,
  });
  expect(answer.status).toBe(200);
  return answer.json.experiment;
}

async function run(runId: string): Promise<RunJson> {
  const answer = await get<{ run: RunJson }>(server.url, 'runs/get', { run_id: runId });
  expect(answer.status).toBe(200);
  return answer.json.run;
}

describe('keel experiments', () => {
  it('create prints the new id; the server has its name, tags and artifact location', async () => {
    const created = await keel(
      'experiments',
      'create',
      'cli-create',
      '--tag',
      'team=vision',
      '--tag',
      'note=a=b',
      '--artifact-location',
      'file:///tmp/keel-cli-create',
    );
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toMatch(/^\d+\n$/);
    const stored = await experiment(created.stdout.trim());
    expect(stored.name).toBe('cli-create');
    expect(stored.artifact_location).toBe('file:///tmp/keel-cli-create');
    expect(stored.tags).toEqual(
      expect.arrayContaining([
        { key: 'team', value: 'vision' },
        { key: 'note', value: 'a=b' },
      ]),
    );

    const duplicate = await keel('experiments', 'create', 'cli-create');
    expectOneErrorLine(duplicate);
    expect(duplicate.stderr).toMatch(/\(RESOURCE_ALREADY_EXISTS\)\n$/);

    const badTag = await keel('experiments', 'create', 'cli-bad-tag', '--tag', 'novalue');
    expectOneErrorLine(badTag);
    expect(badTag.stderr).toBe("error: Invalid --tag 'novalue': expected key=value\n");
  });

  it('get shows one experiment by id or --name, as text or JSON', async () => {
    const id = (
      await ok<{ experiment_id: string }>(server.url, 'experiments/create', {
        name: 'cli-get',
        tags: [{ key: 'owner', value: 'ana' }],
      })
    ).experiment_id;

    const text = await keel('experiments', 'get', id);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(new RegExp(`^Experiment +${id}\\nName +cli-get\\nStage +active\\n`));
    expect(text.stdout).toMatch(/\nTags\nKEY +VALUE\nowner +ana\n$/);

    const json = await keel('experiments', 'get', '--name', 'cli-get', '--json');
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual(await experiment(id));

    const missing = await keel('experiments', 'get', '--name', 'no-such-experiment');
    expectOneErrorLine(missing);
    expect(missing.stderr).toBe(
      "error: Could not find experiment with name 'no-such-experiment' (RESOURCE_DOES_NOT_EXIST)\n",
    );
    const missingId = await keel('experiments', 'get', '999999');
    expectOneErrorLine(missingId);
    expect(missingId.stderr).toMatch(/\(RESOURCE_DOES_NOT_EXIST\)\n$/);
    const both = await keel('experiments', 'get', id, '--name', 'cli-get');
    expectOneErrorLine(both);
  });

  it('list iterates every page, filters, orders and limits', { timeout: 120_000 }, async () => {
    // More than one page of 1000: the CLI must follow next_page_token.
    const names = Array.from({ length: 1010 }, (_, i) => `cli-page-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((name) => ok(server.url, 'experiments/create', { name })));
    }
    const all = await keel('experiments', 'list', '--filter', "name LIKE 'cli-page-%'", '--json');
    expect(all).toMatchObject({ code: 0, stderr: '' });
    const listed = (JSON.parse(all.stdout) as ExperimentJson[]).map((e) => e.name);
    expect(listed.sort()).toEqual(names);

    const firstThree = await keel(
      'experiments',
      'list',
      '--filter',
      "name LIKE 'cli-page-%'",
      '--order-by',
      'name DESC',
      '--max-results',
      '3',
    );
    expect(firstThree).toMatchObject({ code: 0, stderr: '' });
    const rows = tableRows(firstThree.stdout);
    expect(rows[0]).toEqual(['ID', 'NAME', 'STAGE', 'CREATED', 'ARTIFACT LOCATION']);
    expect(rows.slice(1).map((row) => row[1])).toEqual(['cli-page-1009', 'cli-page-1008', 'cli-page-1007']);
    expect(rows.slice(1).map((row) => row[2])).toEqual(['active', 'active', 'active']);

    const badMax = await keel('experiments', 'list', '--max-results', '0');
    expectOneErrorLine(badMax);
    const badView = await keel('experiments', 'list', '--view', 'gone');
    expect(badView.code).toBe(1);
    expect(badView.stderr).toContain("'gone' is invalid");
  });

  it('rename, delete (refused without --yes off a terminal) and restore change the server state', async () => {
    const id = (await ok<{ experiment_id: string }>(server.url, 'experiments/create', { name: 'cli-life' }))
      .experiment_id;

    const renamed = await keel('experiments', 'rename', id, 'cli-life-renamed');
    expect(renamed).toMatchObject({ code: 0, stderr: '' });
    expect(renamed.stdout).toBe(`Renamed experiment ${id} to 'cli-life-renamed'\n`);
    expect((await experiment(id)).name).toBe('cli-life-renamed');

    const refused = await keel('experiments', 'delete', id);
    expectOneErrorLine(refused);
    expect(refused.stderr).toBe(
      "error: Refusing to run 'keel experiments delete' without --yes: stdin is not a terminal, so it cannot confirm\n",
    );
    expect((await experiment(id)).lifecycle_stage).toBe('active');

    const deleted = await keel('experiments', 'delete', id, '--yes');
    expect(deleted).toMatchObject({ code: 0, stderr: '' });
    expect((await experiment(id)).lifecycle_stage).toBe('deleted');
    const activeList = await keel('experiments', 'list', '--filter', "name = 'cli-life-renamed'", '--json');
    expect(JSON.parse(activeList.stdout)).toEqual([]);
    const deletedList = await keel(
      'experiments',
      'list',
      '--view',
      'deleted',
      '--filter',
      "name = 'cli-life-renamed'",
      '--json',
    );
    expect((JSON.parse(deletedList.stdout) as ExperimentJson[]).map((e) => e.experiment_id)).toEqual([id]);

    const restored = await keel('experiments', 'restore', id);
    expect(restored).toMatchObject({ code: 0, stderr: '', stdout: `Restored experiment ${id}\n` });
    expect((await experiment(id)).lifecycle_stage).toBe('active');
  });
});

describe('keel runs', () => {
  let experimentId: string;
  const runIds: Record<'best' | 'middle' | 'worst', string> = { best: '', middle: '', worst: '' };

  beforeAll(async () => {
    experimentId = (
      await ok<{ experiment_id: string }>(server.url, 'experiments/create', { name: 'cli-runs' })
    ).experiment_id;
    const specs = [
      { name: 'best', acc: 0.97, lr: '0.01' },
      { name: 'middle', acc: 0.5, lr: '0.1' },
      { name: 'worst', acc: 0.2, lr: '0.5' },
    ] as const;
    for (const spec of specs) {
      const { run: created } = await ok<{ run: RunJson }>(server.url, 'runs/create', {
        experiment_id: experimentId,
        run_name: spec.name,
        start_time: 1_700_000_000_000,
      });
      const runId = created.info.run_id;
      runIds[spec.name] = runId;
      await ok(server.url, 'runs/log-batch', {
        run_id: runId,
        metrics: [
          { key: 'acc', value: spec.acc / 2, timestamp: 1, step: 0 },
          { key: 'acc', value: spec.acc, timestamp: 2, step: 1 },
        ],
        params: [{ key: 'lr', value: spec.lr }],
        tags: [{ key: 'team', value: 'cli' }],
      });
      await ok(server.url, 'runs/update', {
        run_id: runId,
        status: 'FINISHED',
        end_time: 1_700_000_012_300,
      });
    }
    await ok(server.url, 'runs/log-inputs', {
      run_id: runIds.best,
      datasets: [
        {
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
          dataset: { name: 'iris', digest: 'abc123', source_type: 'local', source: 'file:///data/iris.csv' },
        },
      ],
    });
  });

  it('list prints a table with the metrics and params of --order-by and --columns, filtered with OR', async () => {
    const result = await keel(
      'runs',
      'list',
      '--experiment',
      'cli-runs',
      '--filter',
      "metrics.acc > 0.9 OR params.lr = '0.1'",
      '--order-by',
      'metrics.acc DESC',
      '--columns',
      'params.lr,tags.team',
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(tableRows(result.stdout)).toEqual([
      ['RUN ID', 'NAME', 'STATUS', 'START TIME', 'DURATION', 'metrics.acc', 'params.lr', 'tags.team'],
      [runIds.best, 'best', 'FINISHED', '2023-11-14T22:13:20Z', '12.3s', '0.97', '0.01', 'cli'],
      [runIds.middle, 'middle', 'FINISHED', '2023-11-14T22:13:20Z', '12.3s', '0.5', '0.1', 'cli'],
    ]);

    const ascending = await keel(
      'runs',
      'list',
      '--experiment-id',
      experimentId,
      '--order-by',
      'metrics.acc ASC',
      '--max-results',
      '2',
      '--json',
    );
    expect(ascending).toMatchObject({ code: 0, stderr: '' });
    const runs = JSON.parse(ascending.stdout) as RunJson[];
    expect(runs.map((r) => r.info.run_id)).toEqual([runIds.worst, runIds.middle]);
    expect(runs[0]).toEqual(await run(runIds.worst));
  });

  it('list follows every page of runs', { timeout: 120_000 }, async () => {
    const { experiment_id } = await ok<{ experiment_id: string }>(server.url, 'experiments/create', {
      name: 'cli-many-runs',
    });
    for (let i = 0; i < 1005; i += 67) {
      await Promise.all(
        Array.from({ length: Math.min(67, 1005 - i) }, () =>
          ok(server.url, 'runs/create', { experiment_id }),
        ),
      );
    }
    const result = await keel('runs', 'list', '--experiment-id', experiment_id, '--json');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const ids = (JSON.parse(result.stdout) as RunJson[]).map((r) => r.info.run_id);
    expect(ids).toHaveLength(1005);
    expect(new Set(ids).size).toBe(1005);
  });

  it('list reports a bad filter, a missing experiment and no experiment in one line', async () => {
    const badFilter = await keel(
      'runs',
      'list',
      '--experiment-id',
      experimentId,
      '--filter',
      'metrics.acc >> 1',
    );
    expectOneErrorLine(badFilter);
    expect(badFilter.stderr).toMatch(
      /^error: Invalid filter 'metrics\.acc >> 1': .*\(INVALID_PARAMETER_VALUE\)\n$/,
    );

    const badOrder = await keel(
      'runs',
      'list',
      '--experiment-id',
      experimentId,
      '--order-by',
      'metrics.acc UP',
    );
    expectOneErrorLine(badOrder);
    expect(badOrder.stderr).toMatch(/\(INVALID_PARAMETER_VALUE\)\n$/);

    const badColumn = await keel(
      'runs',
      'list',
      '--experiment-id',
      experimentId,
      '--columns',
      'datasets.name',
    );
    expectOneErrorLine(badColumn);
    expect(badColumn.stderr).toContain("Invalid --columns entry 'datasets.name'");

    const unknown = await keel('runs', 'list', '--experiment', 'no-such-experiment');
    expectOneErrorLine(unknown);
    expect(unknown.stderr).toBe(
      "error: Could not find experiment with name 'no-such-experiment' (RESOURCE_DOES_NOT_EXIST)\n",
    );

    const none = await keel('runs', 'list');
    expectOneErrorLine(none);
    expect(none.stderr).toBe("error: 'keel runs list' needs --experiment-id <id> or --experiment <name>\n");
  });

  it('get shows info, params, latest metrics, tags and inputs; --json is the API record', async () => {
    const text = await keel('runs', 'get', runIds.best);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(
      new RegExp(
        `^Run +${runIds.best}\\nName +best\\nExperiment +${experimentId} \\(cli-runs\\)\\nStatus +FINISHED\\n`,
      ),
    );
    expect(text.stdout).toMatch(/\nDuration +12\.3s\n/);
    expect(text.stdout).toMatch(/\nParams\nKEY +VALUE\nlr +0\.01\n/);
    expect(text.stdout).toMatch(
      /\nMetrics \(latest\)\nKEY +VALUE +STEP +TIME\nacc +0\.97 +1 +1970-01-01T00:00:00Z\n/,
    );
    expect(text.stdout).toMatch(/\nteam +cli\n/);
    expect(text.stdout).toMatch(
      /\nInputs\nDATASET +DIGEST +CONTEXT +SOURCE TYPE +SOURCE\niris +abc123 +training +local +file:\/\/\/data\/iris\.csv\n$/,
    );

    const json = await keel('runs', 'get', runIds.best, '--json');
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual(await run(runIds.best));

    const missing = await keel('runs', 'get', 'nope');
    expectOneErrorLine(missing);
    expect(missing.stderr).toBe('error: Run with id=nope not found (RESOURCE_DOES_NOT_EXIST)\n');
  });

  it('delete needs --yes off a terminal, deletes with it, and restore brings the run back', async () => {
    const { runId } = await createRun(server.url, 'cli-run-delete');
    const refused = await keel('runs', 'delete', runId);
    expectOneErrorLine(refused);
    expect(refused.stderr).toContain("Refusing to run 'keel runs delete' without --yes");
    expect((await run(runId)).info.lifecycle_stage).toBe('active');

    const deleted = await keel('runs', 'delete', runId, '--yes');
    expect(deleted).toMatchObject({ code: 0, stderr: '' });
    expect((await run(runId)).info.lifecycle_stage).toBe('deleted');

    const restored = await keel('runs', 'restore', runId);
    expect(restored).toMatchObject({ code: 0, stderr: '', stdout: `Restored run ${runId}\n` });
    expect((await run(runId)).info.lifecycle_stage).toBe('active');
  });

  it.skipIf(!CAN_FAKE_TERMINAL)('delete asks on a terminal: "n" keeps the run, "y" deletes it', async () => {
    const { runId } = await createRun(server.url, 'cli-run-delete-tty');
    const args = ['runs', 'delete', runId, '--tracking-uri', server.url];
    const declined = await runKeelOnTerminal(args, 'n\n');
    expect(declined.code).toBe(1);
    expect(declined.stdout).toContain(`Delete run ${runId} (`);
    expect(declined.stdout).toContain('error: Aborted: nothing was deleted');
    expect((await run(runId)).info.lifecycle_stage).toBe('active');

    const accepted = await runKeelOnTerminal(args, 'y\n');
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain(`Deleted run ${runId}`);
    expect((await run(runId)).info.lifecycle_stage).toBe('deleted');
  });
});

describe('keel tracking commands and the server address', () => {
  it('take the server from KEEL_TRACKING_URI when --tracking-uri is absent', async () => {
    const id = (await ok<{ experiment_id: string }>(server.url, 'experiments/create', { name: 'cli-env' }))
      .experiment_id;
    const result = await runKeel(['experiments', 'get', id, '--json'], {
      env: { KEEL_TRACKING_URI: server.url, MLFLOW_TRACKING_URI: 'http://127.0.0.1:1' },
    });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect((JSON.parse(result.stdout) as ExperimentJson).name).toBe('cli-env');
  });

  it('report an unreachable server in one line', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    await new Promise<void>((resolve) => blocker.close(() => resolve()));

    const result = await runKeel(['experiments', 'list', '--tracking-uri', `http://127.0.0.1:${port}`]);
    expectOneErrorLine(result);
    expect(result.stderr).toBe(`error: cannot reach Keel at http://127.0.0.1:${port}: connection refused\n`);
  });
});

describe('keel artifacts', () => {
  /** Every file under `dir`, as relative path → bytes. */
  function tree(dir: string): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    const walk = (current: string): void => {
      for (const entry of readdirSync(current, { withFileTypes: true })) {
        const path = join(current, entry.name);
        if (entry.isDirectory()) walk(path);
        else files.set(relative(dir, path), readFileSync(path));
      }
    };
    walk(dir);
    return files;
  }

  /** Whether the server has the artifact proxy (it arrives with the artifact stores). */
  async function hasArtifactRoutes(): Promise<boolean> {
    const answer = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts?path=`);
    await answer.arrayBuffer();
    return answer.status !== 404;
  }

  // Ten CLI processes and 6 MiB of transfers: generous for a loaded two-core machine.
  it('log (a file and a directory), list and download round-trip byte for byte', {
    timeout: 180_000,
  }, async (context) => {
    if (!(await hasArtifactRoutes())) {
      process.stderr.write('\n!!! the server has no artifact proxy routes: keel artifacts NOT TESTED !!!\n');
      context.skip('no artifact proxy routes on the server');
    }
    const { runId } = await createRun(server.url, 'cli-artifacts');
    const local = tempDir();
    const source = join(local, 'outputs');
    mkdirSync(join(source, 'nested', 'deeper'), { recursive: true });
    writeFileSync(join(source, 'weights.bin'), randomBytes(3 * 1024 * 1024 + 17));
    writeFileSync(join(source, 'nested', 'report.md'), '# Report\n\nAccuracy: 0.97\n');
    writeFileSync(join(source, 'nested', 'deeper', 'empty.txt'), '');
    const single = join(local, 'notes.txt');
    writeFileSync(single, 'a single file\n');

    const logDir = await keel('artifacts', 'log', runId, source, '--artifact-path', 'outputs');
    expect(logDir.stdout).toBe('');
    expect(logDir.code).toBe(0);
    // Off a terminal: no bar, no escape codes, only the summary line.
    expect(logDir.stderr).toMatch(
      new RegExp(`^Uploaded 3 files \\(3\\.0 MiB\\) to run ${runId} under outputs in \\d+\\.\\ds\\n$`),
    );
    const logFile = await keel('artifacts', 'log', runId, single);
    expect(logFile.code).toBe(0);
    expect(logFile.stderr).toMatch(/^Uploaded 1 file \(14 B\) to run \S+ in \d+\.\ds\n$/);

    const root = await keel('artifacts', 'list', runId);
    expect(root).toMatchObject({ code: 0, stderr: '' });
    expect(tableRows(root.stdout)).toEqual([
      ['PATH', 'SIZE'],
      ['notes.txt', '14 B'],
      ['outputs/', '-'],
    ]);
    const nested = await keel('artifacts', 'list', runId, 'outputs', '--json');
    expect(nested).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(nested.stdout)).toEqual([
      { path: 'outputs/nested', is_dir: true },
      { path: 'outputs/weights.bin', is_dir: false, file_size: 3 * 1024 * 1024 + 17 },
    ]);

    const dest = join(local, 'downloaded');
    const download = await keel('artifacts', 'download', runId, 'outputs', '--dest', dest);
    expect(download.code).toBe(0);
    expect(download.stderr).toMatch(/^Downloaded 3 files \(3\.0 MiB\) to \S+ in \d+\.\ds\n$/);
    const downloadedDir = download.stdout.trim();
    expect(statSync(downloadedDir).isDirectory()).toBe(true);
    expect(tree(downloadedDir)).toEqual(tree(source));

    const file = await keel('artifacts', 'download', runId, 'notes.txt', '--dest', dest);
    expect(file.code).toBe(0);
    expect(readFileSync(file.stdout.trim(), 'utf8')).toBe('a single file\n');

    const missingLocal = await keel('artifacts', 'log', runId, join(local, 'nope'));
    expectOneErrorLine(missingLocal);
    expect(missingLocal.stderr).toBe(`error: No such file or directory: '${join(local, 'nope')}'\n`);
    const missingRun = await keel('artifacts', 'list', 'nope');
    expectOneErrorLine(missingRun);
    expect(missingRun.stderr).toBe('error: Run with id=nope not found (RESOURCE_DOES_NOT_EXIST)\n');
  });

  it.skipIf(!CAN_FAKE_TERMINAL)('draws a progress bar on a terminal', async (context) => {
    if (!(await hasArtifactRoutes())) context.skip('no artifact proxy routes on the server');
    const { runId } = await createRun(server.url, 'cli-artifacts-tty');
    const file = join(tempDir(), 'big.bin');
    writeFileSync(file, randomBytes(2 * 1024 * 1024));
    const result = await runKeelOnTerminal(
      ['artifacts', 'log', runId, file, '--tracking-uri', server.url],
      '',
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Uploading \[[#-]{24}\] +\d+%/);
    expect(result.stdout).toMatch(/Uploaded 1 file \(2\.0 MiB\) to run \S+ in \d+\.\ds/);
  });
});
