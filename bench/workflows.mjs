// Workflow engine benchmark (issue 7). The real engine runs in this process — the workflow service,
// the scheduler and the local process-pool executor (default size), with a tracking run per
// execution and per attempt as a server makes them — over a temporary SQLite store and a local
// artifact store, on the workflow of bench/workflows-flow.mjs: map(double, xs) then sum.
//
//   (a) fan-out/fan-in: 1,000 items with the cache skipped, so every task runs in a worker process,
//       beside a bare `Promise.all` of the same task functions in this process, in the same run.
//       Per-task overhead = (engine wall time − Promise.all wall time) / items; target < 2 ms.
//       The benchmark process's CPU time (all its threads; the workers are other processes) per
//       round is reported beside it: steadier than wall time on a busy machine.
//   (b) cached re-run: a first launch over 10,000 items fills the cache; launching again with the
//       same inputs must take < 2 s (every task a cache hit).
//
// Wall time runs from the launch call to the execution's terminal state in the store.
//
//   node bench/workflows.mjs [--items 1000] [--rounds 3] [--cached-items 10000] [--no-tracking]
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleWorkflowModule, deriveRegistration, WORKFLOW_CODE_ROOT } from '../packages/sdk/dist/index.js';
import {
  createServices,
  LocalArtifactStore,
  migrateToLatest,
  openStore,
} from '../packages/server/dist/index.js';
import { ROOT, report } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    'cached-items': { type: 'string', default: '10000' },
    'no-tracking': { type: 'boolean', default: false },
  },
});
const ITEMS = Number(args.items);
const ROUNDS = Number(args.rounds);
const CACHED_ITEMS = Number(args['cached-items']);
const TRACKING = !args['no-tracking'];
const FLOW = join(ROOT, 'bench/workflows-flow.mjs');
const WORKFLOW = 'bench-fan';
const ACTOR = { user: 'bench', requestId: 'bench' };
const TARGETS = { perTaskOverheadMs: 2, cachedRerunMs: 2000 };
const ENDED = new Set(['succeeded', 'failed', 'cancelled']);

/** The engine of one server process over a fresh SQLite store and local artifact store in `dir`. */
async function startEngine(dir) {
  const store = openStore(`sqlite:///${join(dir, 'keel.db')}`);
  await migrateToLatest(store);
  const artifacts = new LocalArtifactStore(join(dir, 'artifacts'));
  const services = createServices(store, {
    artifacts,
    predictionSpillDir: join(dir, 'spill'),
    workflows: { cacheDir: join(dir, 'executor'), tracking: TRACKING },
  });
  const scheduler = services.workflowScheduler;
  scheduler.start({
    warn: (o, m) => console.error('warn:', m, o),
    error: (o, m) => console.error('error:', m, o),
  });
  return {
    store,
    artifacts,
    workflows: services.workflows,
    async close() {
      await scheduler.stop();
      await services.predictionRecorder.close();
      await store.close();
    },
  };
}

/** Bundles the flow module, uploads its code package and registers its workflow, as `keel workflows register` does. */
async function registerFlow(engine, dir) {
  const pkg = await bundleWorkflowModule(FLOW, join(dir, 'package'));
  const code = { path: `${WORKFLOW_CODE_ROOT}/${pkg.sha256}`, sha256: pkg.sha256 };
  for (const file of pkg.files) {
    await engine.artifacts.put(`${code.path}/${file.path}`, createReadStream(join(pkg.dir, file.path)));
  }
  const workflow = pkg.workflows.find((w) => w.name === WORKFLOW);
  await engine.workflows.register(ACTOR, deriveRegistration(workflow, code));
}

/** Launches `bench-fan` over `xs` and waits for it to end; checks its total. */
async function execute(engine, xs, cache) {
  const start = performance.now();
  const { execution_id: id } = await engine.workflows.launch(ACTOR, {
    workflow: WORKFLOW,
    inputs: { xs },
    cache,
  });
  const row = await untilEnded(engine.store, id);
  const wallMs = performance.now() - start;
  const expected = 2 * xs.reduce((total, x) => total + x, 0);
  if (row.state !== 'succeeded' || JSON.parse(row.outputs).total !== expected) {
    throw new Error(`execution ${id} ended ${row.state}: ${row.error ?? row.outputs}`);
  }
  return { id, wallMs };
}

/** Polls the execution's row every 2 ms until it reaches a terminal state. */
async function untilEnded(store, id) {
  for (;;) {
    const row = await store.db
      .selectFrom('workflow_executions')
      .select(['state', 'outputs', 'error'])
      .where('execution_id', '=', id)
      .executeTakeFirstOrThrow();
    if (ENDED.has(row.state)) return row;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** How many nodes of the execution are in each state (and cache status). */
async function nodeStates(store, id) {
  const rows = await store.db
    .selectFrom('workflow_nodes')
    .select(['state', 'cache', (eb) => eb.fn.countAll().as('n')])
    .where('execution_id', '=', id)
    .groupBy(['state', 'cache'])
    .execute();
  return Object.fromEntries(rows.map((r) => [`${r.state}${r.cache ? `/${r.cache}` : ''}`, Number(r.n)]));
}

/** The same task functions, called directly: `Promise.all` over the items, then the sum. */
async function bare(tasks, xs) {
  const start = performance.now();
  const doubled = await Promise.all(xs.map((x) => tasks.double.fn({ x }, {})));
  const { total } = await tasks.sum.fn({ xs: doubled.map((d) => d.y) }, {});
  const wallMs = performance.now() - start;
  if (total !== 2 * xs.reduce((sum, x) => sum + x, 0)) throw new Error('bare run: wrong total');
  return wallMs;
}

/** CPU time (user + system) of a `process.cpuUsage` difference, in ms. */
const cpuMs = ({ user, system }) => (user + system) / 1000;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value, digits = 2) => Number(value.toFixed(digits));
const range = (n) => Array.from({ length: n }, (_, i) => i);

const dir = mkdtempSync(join(tmpdir(), 'keel-bench-workflows-'));
const engine = await startEngine(dir);
try {
  await registerFlow(engine, dir);
  const tasks = await import(FLOW);

  // Warm-up: starts the worker processes and fetches the code package into the executor's cache.
  const warmup = await execute(engine, range(8), 'skip');

  // (a) fan-out/fan-in, cache skipped: every task runs.
  const xs = range(ITEMS);
  const engineMs = [];
  const engineCpuMs = [];
  const bareMs = [];
  for (let i = 0; i < ROUNDS; i++) {
    const cpu = process.cpuUsage();
    engineMs.push((await execute(engine, xs, 'skip')).wallMs);
    engineCpuMs.push(cpuMs(process.cpuUsage(cpu)));
    bareMs.push(await bare(tasks, xs));
  }
  const overheadMs = (median(engineMs) - median(bareMs)) / ITEMS;

  // (b) a first launch fills the cache, the next ones with the same inputs hit it.
  const big = range(CACHED_ITEMS);
  const fill = await execute(engine, big, 'use');
  const reruns = [];
  for (let i = 0; i < ROUNDS; i++) reruns.push(await execute(engine, big, 'use'));
  const rerunMs = median(reruns.map((r) => r.wallMs));

  const fanOutPass = overheadMs < TARGETS.perTaskOverheadMs;
  const cachedPass = rerunMs < TARGETS.cachedRerunMs;
  report('workflows', {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, platform: process.platform },
    engine: { store: 'sqlite', executor: 'local process pool (default size)', tracking: TRACKING },
    warmup_ms: round(warmup.wallMs, 1),
    fan_out: {
      items: ITEMS,
      tasks: ITEMS + 1,
      rounds: ROUNDS,
      engine_wall_ms: engineMs.map((ms) => round(ms, 1)),
      promise_all_wall_ms: bareMs.map((ms) => round(ms, 3)),
      per_task_overhead_ms: round(overheadMs, 3),
      engine_cpu_ms: engineCpuMs.map((ms) => round(ms, 0)),
      cpu_per_task_ms: round(median(engineCpuMs) / ITEMS, 3),
      target_ms: TARGETS.perTaskOverheadMs,
      pass: fanOutPass,
    },
    cached_rerun: {
      items: CACHED_ITEMS,
      tasks: CACHED_ITEMS + 1,
      fill_wall_ms: round(fill.wallMs, 0),
      fill_per_task_ms: round(fill.wallMs / (CACHED_ITEMS + 1), 3),
      rerun_wall_ms: reruns.map((r) => round(r.wallMs, 0)),
      rerun_median_ms: round(rerunMs, 0),
      rerun_nodes: await nodeStates(engine.store, reruns.at(-1).id),
      target_ms: TARGETS.cachedRerunMs,
      pass: cachedPass,
    },
    pass: fanOutPass && cachedPass,
  });
} finally {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
