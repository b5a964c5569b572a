import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitHooks } from './exit-hooks.js';
import { ActiveRun, InvalidParameterError, KeelClient, MetricFlushError, NotFoundError } from './index.js';
import { startTestServer, type TestServer, waitFor } from './testing/test-server.js';

let server: TestServer;
let keel: KeelClient;

beforeAll(async () => {
  server = await startTestServer();
  keel = new KeelClient({ trackingUri: server.uri });
});

afterAll(async () => {
  await server?.close();
});

const tagsOf = (list: { key: string; value: string }[] | undefined) =>
  Object.fromEntries((list ?? []).map((t) => [t.key, t.value]));

describe('startRun', () => {
  it('gets or creates the experiment by name and names the run', async () => {
    const run = await keel.startRun({ experiment: 'fluent-exp', name: 'first' });
    const again = await keel.startRun({ experiment: 'fluent-exp' });
    expect(run).toBeInstanceOf(ActiveRun);
    expect(again.experimentId).toBe(run.experimentId);
    expect((await keel.getExperimentByName('fluent-exp'))?.experiment_id).toBe(run.experimentId);
    const stored = await keel.getRun(run.runId);
    expect(stored.info).toMatchObject({
      run_name: 'first',
      status: 'RUNNING',
      experiment_id: run.experimentId,
    });
    await run.end();
    await again.end();
  });

  it('uses experimentId, and the Default experiment when none is given', async () => {
    const id = await keel.createExperiment('fluent-by-id');
    const byId = await keel.startRun({ experimentId: id });
    const byDefault = await keel.startRun();
    expect(byId.experimentId).toBe(id);
    expect(byDefault.experimentId).toBe('0');
    await byId.end();
    await byDefault.end();
  });

  it('refuses both experiment and experimentId', async () => {
    await expect(keel.startRun({ experiment: 'a', experimentId: '0' })).rejects.toThrow(TypeError);
  });

  it("records MLflow's system tags and Keel's environment record, user tags winning", async () => {
    const run = await keel.startRun({
      experiment: 'fluent-tags',
      tags: { team: 'growth', 'mlflow.source.type': 'JOB' },
    });
    const tags = tagsOf((await keel.getRun(run.runId)).data.tags);
    expect(tags).toMatchObject({
      team: 'growth',
      'mlflow.user': userInfo().username,
      'mlflow.source.name': process.argv[1],
      'mlflow.source.type': 'JOB',
      'keel.env.node': process.version,
    });
    expect(tags['mlflow.runName']).toBe(run.info.run_name);
    expect(tags['keel.env.os']).toMatch(new RegExp(`^${process.platform}-.+-${process.arch}$`));
    expect(tags['keel.env.lockfile']).toMatch(
      /^(package-lock\.json|npm-shrinkwrap\.json|pnpm-lock\.yaml|yarn\.lock|bun\.lock)$/,
    );
    expect(tags['keel.env.lockfileHash']).toMatch(/^[0-9a-f]{64}$/);
    // The repository of the entry script (the test runner, in this checkout's node_modules), as git sees it.
    const git = (...args: string[]) => {
      for (const cwd of [dirname(process.argv[1] ?? '.'), process.cwd()]) {
        try {
          return execFileSync('git', args, {
            cwd,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
          }).trim();
        } catch {
          // not a repository: try the next folder, as the SDK does
        }
      }
      return undefined;
    };
    expect(tags['mlflow.source.git.commit']).toBe(git('rev-parse', 'HEAD'));
    const branch = git('rev-parse', '--abbrev-ref', 'HEAD');
    expect(tags['mlflow.source.git.branch']).toBe(branch === 'HEAD' ? undefined : branch);
    await run.end();
  });

  it('nests runs: mlflow.parentRunId, and the parent experiment by default', async () => {
    const parent = await keel.startRun({ experiment: 'fluent-nested' });
    const child = await parent.startChild({ name: 'fold-1' });
    const byId = await keel.startRun({ parent: parent.runId, name: 'fold-2' });
    for (const nested of [child, byId]) {
      expect(nested.experimentId).toBe(parent.experimentId);
      const tags = tagsOf((await keel.getRun(nested.runId)).data.tags);
      expect(tags['mlflow.parentRunId']).toBe(parent.runId);
    }
    expect(tagsOf((await keel.getRun(parent.runId)).data.tags)).not.toHaveProperty('mlflow.parentRunId');
    const children = await keel.searchRuns({
      experimentIds: [parent.experimentId],
      filter: `tags.mlflow.parentRunId = '${parent.runId}'`,
    });
    expect(children.runs.map((r) => r.info.run_name).sort()).toEqual(['fold-1', 'fold-2']);
    await Promise.all([child.end(), byId.end(), parent.end()]);
  });

  it('resumes the run named by runId, KEEL_RUN_ID or MLFLOW_RUN_ID instead of creating one', async () => {
    const project = await keel.startRun({ experiment: 'resume-exp', name: 'project' });
    await project.end('FINISHED');
    const resumed = await keel.startRun({ runId: project.runId, name: 'renamed', tags: { stage: 'fit' } });
    expect(resumed.runId).toBe(project.runId);
    const stored = await keel.getRun(project.runId);
    expect(stored.info).toMatchObject({ status: 'RUNNING', run_name: 'renamed' });
    expect(tagsOf(stored.data.tags).stage).toBe('fit');
    await resumed.end();

    const saved = { keel: process.env.KEEL_RUN_ID, mlflow: process.env.MLFLOW_RUN_ID };
    try {
      delete process.env.KEEL_RUN_ID;
      process.env.MLFLOW_RUN_ID = project.runId;
      const fromMlflowEnv = await keel.withRun({}, async (run) => run.runId);
      expect(fromMlflowEnv).toBe(project.runId);
      // A nested run is new even under the variable; runId: null always creates one.
      const nested = await keel.startRun({ parent: project.runId });
      const fresh = await keel.startRun({ runId: null, experiment: 'resume-exp' });
      expect(new Set([nested.runId, fresh.runId, project.runId]).size).toBe(3);
      await Promise.all([nested.end(), fresh.end()]);
      // A run of another experiment is refused, naming both.
      await expect(keel.startRun({ experiment: 'another-exp' })).rejects.toThrow(
        `it belongs to experiment ${project.experimentId}`,
      );
      process.env.KEEL_RUN_ID = 'keel-wins';
      await expect(keel.startRun()).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      if (saved.keel === undefined) delete process.env.KEEL_RUN_ID;
      else process.env.KEEL_RUN_ID = saved.keel;
      if (saved.mlflow === undefined) delete process.env.MLFLOW_RUN_ID;
      else process.env.MLFLOW_RUN_ID = saved.mlflow;
    }
  });
});

describe('ActiveRun logging', () => {
  it('sends params and tags immediately', async () => {
    const run = await keel.startRun({ experiment: 'fluent-params', flush: { intervalMs: 60_000 } });
    await run.logParam('lr', 0.1);
    await run.logParams({ epochs: 10, shuffle: false, optimizer: 'adam' });
    await run.setTag('stage', 'dev');
    await run.setTags({ team: 'growth', owner: 'ana' });
    const data = (await keel.getRun(run.runId)).data;
    expect(tagsOf(data.params)).toEqual({ lr: '0.1', epochs: '10', shuffle: 'false', optimizer: 'adam' });
    expect(tagsOf(data.tags)).toMatchObject({ stage: 'dev', team: 'growth', owner: 'ana' });
    await run.end();
  });

  it('buffers many metrics into few log-batch calls, in order, drained by end()', async () => {
    const run = await keel.startRun({ experiment: 'fluent-buffer', flush: { intervalMs: 60_000 } });
    const before = server.count('runs/log-batch');
    for (let step = 0; step < 2500; step += 1) run.logMetric('loss', 1 / (step + 1), { step });
    run.logMetrics({ acc: 0.9, f1: 0.8 }, { step: 2500 });
    await run.end();
    // 2502 points, 1000 per call.
    expect(server.count('runs/log-batch') - before).toBe(3);
    const history = await keel.getMetricHistory(run.runId, 'loss');
    expect(history.map((m) => m.step)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    expect(history[10]?.value).toBeCloseTo(1 / 11);
    const stored = await keel.getRun(run.runId);
    expect(stored.info.status).toBe('FINISHED');
    expect(stored.info.end_time).toEqual(expect.any(Number));
    expect(stored.data.metrics?.map((m) => m.key).sort()).toEqual(['acc', 'f1', 'loss']);
  });

  it('returns from logMetric without waiting for HTTP', async () => {
    const run = await keel.startRun({ experiment: 'fluent-buffer', flush: { intervalMs: 60_000 } });
    const before = server.count('runs/log-batch');
    for (let step = 0; step < 500; step += 1) run.logMetric('x', step, { step });
    // Below maxBatch and before the interval: nothing has been sent yet.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.count('runs/log-batch') - before).toBe(0);
    await run.flush();
    expect(server.count('runs/log-batch') - before).toBe(1);
    expect(await keel.getMetricHistory(run.runId, 'x')).toHaveLength(500);
    await run.end();
  });

  it('flushes in the background once maxBatch points wait', async () => {
    const run = await keel.startRun({
      experiment: 'fluent-buffer',
      flush: { maxBatch: 10, intervalMs: 60_000 },
    });
    const before = server.count('runs/log-batch');
    for (let step = 0; step < 10; step += 1) run.logMetric('y', step, { step });
    await waitFor(() => server.count('runs/log-batch') - before === 1);
    expect((await keel.getMetricHistory(run.runId, 'y')).map((m) => m.value)).toEqual(
      Array.from({ length: 10 }, (_, i) => i),
    );
    await run.end();
  });

  it('flushes in the background after intervalMs', async () => {
    const run = await keel.startRun({ experiment: 'fluent-buffer', flush: { intervalMs: 100 } });
    const before = server.count('runs/log-batch');
    const start = Date.now();
    run.logMetric('z', 1, { step: 0 });
    run.logMetric('z', 2, { step: 1 });
    await waitFor(() => server.count('runs/log-batch') - before === 1);
    expect(Date.now() - start).toBeGreaterThanOrEqual(90);
    expect((await keel.getMetricHistory(run.runId, 'z')).map((m) => m.value)).toEqual([1, 2]);
    await run.end();
  });

  it('keeps one flush in flight and preserves order across batches', async () => {
    const run = await keel.startRun({ experiment: 'fluent-buffer', flush: { maxBatch: 7, intervalMs: 5 } });
    for (let step = 0; step < 300; step += 1) {
      run.logMetric('ordered', step, { step, timestamp: 1_000 + step });
      if (step % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await run.end();
    const history = await keel.getMetricHistory(run.runId, 'ordered');
    expect(history.map((m) => m.value)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('reports a failed background flush on the next flush(), with the points not written', async () => {
    const run = await keel.startRun({
      experiment: 'fluent-fail',
      flush: { maxBatch: 3, intervalMs: 60_000 },
    });
    const before = server.count('runs/log-batch');
    // The server refuses a negative timestamp, and so the whole batch of three.
    run.logMetric('lost', 1, { step: 0 });
    run.logMetric('lost', 2, { step: 1, timestamp: -5 });
    run.logMetric('lost', 3, { step: 2 });
    await waitFor(() => server.count('runs/log-batch') - before === 1);
    // Later points still go out.
    run.logMetric('kept', 4);
    const error = await run.flush().catch((e: unknown) => e);
    expect(server.count('runs/log-batch') - before).toBe(2);
    expect(error).toBeInstanceOf(MetricFlushError);
    expect(error).toMatchObject({ runId: run.runId });
    expect((error as MetricFlushError).metrics.map((m) => m.value)).toEqual([1, 2, 3]);
    expect((error as MetricFlushError).cause).toBeInstanceOf(InvalidParameterError);
    expect(await keel.getMetricHistory(run.runId, 'lost')).toEqual([]);
    expect(await keel.getMetricHistory(run.runId, 'kept')).toHaveLength(1);
    // Reported once: the next flush has nothing to report.
    await expect(run.flush()).resolves.toBeUndefined();
    await run.end();
  });

  it('end() still ends the run when the flush failed, then throws the flush error', async () => {
    const run = await keel.startRun({ experiment: 'fluent-fail', flush: { intervalMs: 60_000 } });
    run.logMetric('bad', 1, { timestamp: -1 });
    const error = await run.end('FINISHED').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetricFlushError);
    expect((await keel.getRun(run.runId)).info.status).toBe('FINISHED');
  });

  it('validates metric names at once and refuses logging after end()', async () => {
    const run = await keel.startRun({ experiment: 'fluent-validate' });
    expect(() => run.logMetric('bad name!', 1)).toThrow(InvalidParameterError);
    expect(() => run.logMetric('x', '1' as unknown as number)).toThrow(TypeError);
    await run.end();
    expect(() => run.logMetric('x', 1)).toThrow(/has ended/);
    await expect(run.logParam('a', 1)).rejects.toThrow(/has ended/);
    // end() twice is the same promise.
    await expect(run.end()).resolves.toBeUndefined();
  });

  it('ends with the given status', async () => {
    const run = await keel.startRun({ experiment: 'fluent-status' });
    await run.end('KILLED');
    expect((await keel.getRun(run.runId)).info.status).toBe('KILLED');
  });

  it('logs a dataset input with its context', async () => {
    const run = await keel.startRun({ experiment: 'fluent-input' });
    await run.logInput(
      { name: 'train', digest: 'd1g3st', source_type: 'local', source: '{"uri":"/data/train.csv"}' },
      { context: 'training' },
    );
    const inputs = (await keel.getRun(run.runId)).inputs.dataset_inputs ?? [];
    expect(inputs).toEqual([
      {
        dataset: {
          name: 'train',
          digest: 'd1g3st',
          source_type: 'local',
          source: '{"uri":"/data/train.csv"}',
        },
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
      },
    ]);
    await run.end();
  });
});

describe('withRun', () => {
  it("ends FINISHED and returns the callback's value", async () => {
    let runId = '';
    const result = await keel.withRun({ experiment: 'with-run' }, async (run) => {
      runId = run.runId;
      run.logMetric('m', 1);
      return { accuracy: 0.9 };
    });
    expect(result).toEqual({ accuracy: 0.9 });
    const run = await keel.getRun(runId);
    expect(run.info.status).toBe('FINISHED');
    expect(run.data.metrics?.map((m) => m.key)).toEqual(['m']);
  });

  it('ends FAILED and rethrows when the callback throws', async () => {
    let runId = '';
    const boom = new Error('diverged');
    const error = await keel
      .withRun({ experiment: 'with-run' }, async (run) => {
        runId = run.runId;
        run.logMetric('loss', Number.POSITIVE_INFINITY);
        throw boom;
      })
      .catch((e: unknown) => e);
    expect(error).toBe(boom);
    const run = await keel.getRun(runId);
    expect(run.info.status).toBe('FAILED');
    expect(run.data.metrics?.[0]).toMatchObject({ key: 'loss', value: 'Infinity' });
  });

  it('rethrows a startRun failure without a callback call', async () => {
    let called = false;
    const error = await keel
      .withRun({ experimentId: '424242' }, async () => {
        called = true;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(called).toBe(false);
  });
});

describe('process exit', () => {
  it('registers running runs, with exit listeners only while some run is open', async () => {
    const base = { runs: exitHooks.size, beforeExit: process.listenerCount('beforeExit') };
    const sigint = process.listenerCount('SIGINT');
    const run = await keel.startRun({ experiment: 'exit-hooks' });
    expect(exitHooks.size).toBe(base.runs + 1);
    expect(process.listenerCount('beforeExit')).toBe(base.beforeExit + 1);
    expect(process.listenerCount('SIGINT')).toBe(sigint + 1);
    await run.end();
    expect(exitHooks.size).toBe(base.runs);
    expect(process.listenerCount('beforeExit')).toBe(base.beforeExit);
    expect(process.listenerCount('SIGINT')).toBe(sigint);
  });

  it('flushes and ends pending runs FINISHED on beforeExit', async () => {
    const run = await keel.startRun({ experiment: 'exit-hooks', flush: { intervalMs: 60_000 } });
    for (let step = 0; step < 5; step += 1) run.logMetric('at-exit', step, { step });
    process.emit('beforeExit', 0);
    expect(run.ended).toBe(true);
    // The same promise the hook started.
    await run.end();
    const stored = await keel.getRun(run.runId);
    expect(stored.info.status).toBe('FINISHED');
    expect(await keel.getMetricHistory(run.runId, 'at-exit')).toHaveLength(5);
  });

  it('flushes and ends pending runs KILLED on SIGTERM (without killing a process that handles it)', async () => {
    // A listener of the program's own: the SDK must not re-raise the signal then.
    const own = () => undefined;
    process.on('SIGTERM', own);
    const baseline = process.listenerCount('SIGTERM');
    try {
      const run = await keel.startRun({ experiment: 'exit-hooks', flush: { intervalMs: 60_000 } });
      run.logMetric('at-signal', 1);
      process.emit('SIGTERM', 'SIGTERM');
      await waitFor(() => run.ended);
      await run.end();
      // The hook's follow-up (removing its listeners) runs once the participants are done.
      await waitFor(() => process.listenerCount('SIGTERM') === baseline);
      expect((await keel.getRun(run.runId)).info.status).toBe('KILLED');
      expect(await keel.getMetricHistory(run.runId, 'at-signal')).toHaveLength(1);
    } finally {
      process.off('SIGTERM', own);
    }
  });
});
