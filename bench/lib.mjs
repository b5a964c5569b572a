// Shared helpers of the benchmarks: a Keel server in a child process, percentiles, JSON output.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'packages/cli/dist/bin.js');

/** A free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `keel server` on a backend store URI and waits for /health. */
export async function startServer(backendStoreUri, artifacts) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      CLI,
      'server',
      '--port',
      String(port),
      '--backend-store-uri',
      backendStoreUri,
      '--artifacts-destination',
      artifacts,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, KEEL_LOG_LEVEL: 'warn' } },
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) return { base, stop: () => stop(child) };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('server did not start');
}

function stop(child) {
  return new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

/** p-th percentile (0..100) of a list of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

// A keep-alive node:http client: lighter than fetch, so that on a 2-core machine the load generator
// takes as little CPU from the server as possible.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** Calls an MLflow RPC: POST with a JSON body, or GET when `body` is undefined (query in `path`). */
export function api(base, path, body) {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}/api/2.0/mlflow/${path}`,
      {
        method: payload === undefined ? 'GET' : 'POST',
        agent,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Prints the result as JSON and writes it to bench/results/<name>.json. */
export function report(name, result) {
  const out = { benchmark: name, at: new Date().toISOString(), node: process.version, ...result };
  const text = JSON.stringify(out, null, 2);
  console.log(text);
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${text}\n`);
  return out;
}
