// Serving benchmark (issues 5 and 6): a 30 → 64 → 64 → 2 ONNX MLP under 64 concurrent keep-alive
// clients, `keel models serve` (MLflow /invocations and Open Inference Protocol /v2/.../infer, batching
// on and off) measured beside a bare Fastify route that calls the same model file through one
// onnxruntime session, and the same model registered and deployed on a `keel server` with full
// prediction records (`/deployments/mlp/invocations`) beside `keel models serve`, all in the same run.
// Each server is a child process; the load generator is this process.
//
//   node bench/serving.mjs [--duration 20] [--rounds 4] [--connections 64] [--warmup 3] [--only deployment]
//
// `--only deployment` runs just the deployment case and `keel models serve` (batching on) beside it.
// Each configuration gets `duration` seconds of load in all, in `rounds` turns interleaved with the others.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serializeMLmodel } from '../packages/core/dist/index.js';
import { exportMlp, KeelClient } from '../packages/sdk/dist/index.js';
import { CLI, freePort, percentile, ROOT, report } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '64' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '4' },
    only: { type: 'string' },
  },
});
const DURATION_S = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const WARMUP_S = Number(args.warmup);
const ROUNDS = Number(args.rounds);
const FEATURES = 30;

/** mulberry32, so the model and the request rows are the same in every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function dense(next, nIn, nOut, activation) {
  const scale = Math.sqrt(6 / (nIn + nOut));
  const weights = Array.from({ length: nOut }, () =>
    Array.from({ length: nIn }, () => (next() * 2 - 1) * scale),
  );
  const bias = Array.from({ length: nOut }, () => (next() * 2 - 1) * 0.1);
  return { weights, bias, activation };
}

/** Writes an MLflow-layout model directory holding the MLP; returns its path. */
function writeModel(dir) {
  const next = rng(42);
  const layers = [
    dense(next, FEATURES, 64, 'relu'),
    dense(next, 64, 64, 'relu'),
    dense(next, 64, 2, 'softmax'),
  ];
  const modelDir = join(dir, 'mlp');
  mkdirSync(modelDir, { recursive: true });
  writeFileSync(join(modelDir, 'model.onnx'), exportMlp({ layers }));
  const spec = (shape) => ({ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape } });
  writeFileSync(
    join(modelDir, 'MLmodel'),
    serializeMLmodel({
      flavors: { onnx: { data: 'model.onnx', onnx_version: '1.17.0', providers: ['CPUExecutionProvider'] } },
      signature: {
        inputs: JSON.stringify([{ ...spec([-1, FEATURES]), name: 'input' }]),
        outputs: JSON.stringify([{ ...spec([-1, 2]), name: 'output' }]),
      },
    }),
  );
  return modelDir;
}

/** Request rows: a small fixed pool so bodies vary without the generator building JSON per request. */
function requestRows() {
  const next = rng(7);
  return Array.from({ length: 64 }, () =>
    Array.from({ length: FEATURES }, () => Number((next() * 4 - 2).toFixed(4))),
  );
}

async function waitReady(url, child) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready`);
}

async function startChild(argv, readyPath) {
  const port = await freePort();
  const child = spawn(process.execPath, [...argv, '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, KEEL_LOG_LEVEL: 'warn' },
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${base}${readyPath}`, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    base,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Closed-loop load: `connections` keep-alive clients each send the next request as soon as the last
 * answered, for `seconds`. Returns the latencies of the 200s, the time taken and the non-200 count.
 */
async function load(base, path, bodies, seconds) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies = [];
  let errors = 0;
  let answered = 0;
  let firstError;
  let stopAt = 0;
  const one = (body) =>
    new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const req = http.request(
        `${base}${path}`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            answered++;
            if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
            else {
              errors++;
              firstError ??= `${res.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`;
            }
            resolve();
          });
        },
      );
      req.on('error', (error) => {
        errors++;
        firstError ??= error.message;
        resolve();
      });
      req.end(body);
    });
  const client = async (offset) => {
    for (let i = offset; Date.now() < stopAt; i++) await one(bodies[i % bodies.length]);
  };
  stopAt = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => client(c)));
  const elapsed = (Date.now() - started) / 1000;
  agent.destroy();
  return {
    latencies,
    seconds: elapsed,
    errors,
    answered,
    ...(firstError === undefined ? {} : { first_error: firstError }),
  };
}

/** Sums rounds of one configuration: requests/s over the whole time, latency percentiles over all samples. */
function combine(rounds) {
  const latencies = rounds.flatMap((r) => r.latencies);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  const errors = rounds.reduce((sum, r) => sum + r.errors, 0);
  const firstError = rounds.find((r) => r.first_error !== undefined)?.first_error;
  return {
    requests_per_s: Math.round(latencies.length / seconds),
    p50_ms: Number(percentile(latencies, 50).toFixed(2)),
    p99_ms: Number(percentile(latencies, 99).toFixed(2)),
    rounds_requests_per_s: rounds.map((r) => Math.round(r.latencies.length / r.seconds)),
    requests: latencies.length,
    errors,
    ...(firstError === undefined ? {} : { first_error: firstError }),
  };
}

/** Logs the model to a run on the Keel server, registers it as `mlp` and deploys version 1 with full records. */
async function deploy(base, modelDir) {
  const keel = new KeelClient({ trackingUri: base });
  await keel.withRun({ experiment: 'bench-serving' }, (run) =>
    run.logModel({ flavor: 'onnx', path: join(modelDir, 'model.onnx'), registeredModelName: 'mlp' }),
  );
  await keel.deployments.create('mlp', {
    routes: [{ name: 'primary', model: 'models:/mlp/1', weight: 1 }],
    recording: { mode: 'full' },
  });
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`${base}/deployments/mlp/ready`);
    if (res.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the deployment never became ready');
}

/** Waits for the prediction records to reach the store (they are written off the request path), then counts them. */
async function countRecords(base, answered) {
  let stored = -1;
  for (let i = 0; i < 60; i++) {
    const res = await fetch(`${base}/api/2.0/keel/predictions/export?format=jsonl&deployment=mlp`);
    const text = await res.text();
    stored = text.split('\n').filter((line) => line.trim() !== '').length;
    if (stored >= answered) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  // Records that went through a spill file because the store fell behind (they still count).
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const spilled = Number(
    /^keel_prediction_records_total\{outcome="spilled"\} (\S+)$/m.exec(metrics)?.[1] ?? 0,
  );
  return { answered, stored, spilled };
}

const dir = mkdtempSync(join(tmpdir(), 'keel-bench-serving-'));
try {
  const modelDir = writeModel(dir);
  const rows = requestRows();
  const invocationBodies = rows.map((row) => Buffer.from(JSON.stringify({ inputs: [row] })));
  const inferBodies = rows.map((row) =>
    Buffer.from(
      JSON.stringify({ inputs: [{ name: 'input', shape: [1, FEATURES], datatype: 'FP32', data: row }] }),
    ),
  );

  // Every server runs for the whole benchmark and the configurations take turns in short rounds, so
  // a burst of load from elsewhere on the machine hits them all alike instead of skewing one.
  const keelServe = (flags) => [CLI, 'models', 'serve', '-m', modelDir, '--name', 'mlp', ...flags];
  const serverArgs = {
    bare: [[join(ROOT, 'bench/bare-onnx-server.mjs'), '--model', join(modelDir, 'model.onnx')], '/ping'],
    batchOff: [keelServe(['--batch-max-size', '1']), '/ping'],
    batchOn: [keelServe(['--batch-max-size', '64', '--batch-max-delay-ms', '0']), '/ping'],
    tracking: [
      [
        CLI,
        'server',
        '--backend-store-uri',
        `sqlite:///${join(dir, 'keel.db')}`,
        '--artifacts-destination',
        join(dir, 'artifacts'),
      ],
      '/health',
    ],
  };
  const allConfigs = [
    { key: 'bare_fastify', server: 'bare', path: '/predict', bodies: invocationBodies },
    { key: 'invocations_batch_off', server: 'batchOff', path: '/invocations', bodies: invocationBodies },
    { key: 'v2_infer_batch_off', server: 'batchOff', path: '/v2/models/mlp/infer', bodies: inferBodies },
    { key: 'invocations_batch_on', server: 'batchOn', path: '/invocations', bodies: invocationBodies },
    { key: 'v2_infer_batch_on', server: 'batchOn', path: '/v2/models/mlp/infer', bodies: inferBodies },
    {
      key: 'deployment_invocations',
      server: 'tracking',
      path: '/deployments/mlp/invocations',
      bodies: invocationBodies,
    },
  ];
  const DEPLOYMENT_ONLY = ['invocations_batch_on', 'deployment_invocations'];
  const configs =
    args.only === 'deployment' ? allConfigs.filter((c) => DEPLOYMENT_ONLY.includes(c.key)) : allConfigs;
  if (args.only !== undefined && args.only !== 'deployment') throw new Error('--only takes: deployment');
  const servers = {};
  for (const name of new Set(configs.map((c) => c.server)))
    servers[name] = await startChild(...serverArgs[name]);
  await deploy(servers.tracking.base, modelDir);
  const results = {};
  try {
    let deploymentAnswered = 0;
    for (const c of configs) {
      const warm = await load(servers[c.server].base, c.path, c.bodies, WARMUP_S);
      if (c.server === 'tracking') deploymentAnswered += warm.answered;
    }
    const rounds = Object.fromEntries(configs.map((c) => [c.key, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Every other round in reverse order, so no configuration always follows the same other one.
      for (const c of round % 2 === 0 ? configs : configs.toReversed()) {
        const r = await load(servers[c.server].base, c.path, c.bodies, DURATION_S / ROUNDS);
        rounds[c.key].push(r);
        console.error(`round ${round + 1} ${c.key}: ${Math.round(r.latencies.length / r.seconds)} req/s`);
      }
    }
    for (const c of configs) results[c.key] = combine(rounds[c.key]);
    deploymentAnswered += rounds.deployment_invocations.reduce((n, r) => n + r.answered, 0);
    results.deployment_records = await countRecords(servers.tracking.base, deploymentAnswered);
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }

  const summary = {};
  let pass = true;
  if (results.bare_fastify !== undefined) {
    const bareRps = results.bare_fastify.requests_per_s;
    const ratio = (r) => Number((r.requests_per_s / bareRps).toFixed(3));
    const best = (prefix) =>
      Math.max(ratio(results[`${prefix}_batch_off`]), ratio(results[`${prefix}_batch_on`]));
    summary.invocations_vs_bare = {
      batch_off: ratio(results.invocations_batch_off),
      batch_on: ratio(results.invocations_batch_on),
    };
    summary.v2_infer_vs_bare = {
      batch_off: ratio(results.v2_infer_batch_off),
      batch_on: ratio(results.v2_infer_batch_on),
    };
    summary.target = "Keel's /invocations and /v2/.../infer >= 80% of the bare route's requests/s";
    pass = best('invocations') >= 0.8 && best('v2_infer') >= 0.8;
  }
  summary.deployment_vs_models_serve = Number(
    (results.deployment_invocations.requests_per_s / results.invocations_batch_on.requests_per_s).toFixed(3),
  );
  summary.deployment_target =
    "a deployment with full prediction records >= 85% of `keel models serve`'s /invocations; stored records == answered requests";
  summary.pass =
    pass &&
    summary.deployment_vs_models_serve >= 0.85 &&
    results.deployment_records.stored === results.deployment_records.answered;
  const errors = Object.values(results).reduce((n, r) => n + (r.errors ?? 0), 0);
  if (errors > 0) summary.pass = false;
  report('serving', {
    machine: { cpus: cpus().length, platform: process.platform },
    model: `MLP ${FEATURES} -> 64 -> 64 -> 2 (ReLU, ReLU, softmax), float32, one row per request`,
    connections: CONNECTIONS,
    duration_s: DURATION_S,
    rounds: ROUNDS,
    results,
    summary,
  });
  if (!summary.pass) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
