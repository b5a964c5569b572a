#!/usr/bin/env node
// One command from a clean checkout (`npm run example:iris` at the repository root): start a
// throw-away `keel server` on a free port with its data in a temporary folder, train the example
// against it, print the run and where its record lives, then stop the server and clean up.
// `--keep` keeps the data folder and prints how to serve it again.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSummary } from './summary.js';
import { trainIris } from './train.js';

const keep = process.argv.includes('--keep');
// The `keel` binary of the workspace's @keel/cli (built by `npm run example:iris`).
const keelBin = fileURLToPath(new URL('./bin.js', import.meta.resolve('@keel/cli')));
const dataDir = await mkdtemp(join(tmpdir(), 'keel-example-iris-'));
const serverArgs = [
  'server',
  '--port',
  '0',
  '--backend-store-uri',
  `sqlite:///${join(dataDir, 'keel.db')}`,
  '--artifacts-destination',
  join(dataDir, 'artifacts'),
];

const server = spawn(process.execPath, [keelBin, ...serverArgs], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, KEEL_LOG_LEVEL: 'warn' },
});
try {
  const url = await readyUrl(server);
  process.stdout.write(`Started a temporary Keel server at ${url} (data in ${dataDir})\n`);
  const result = await trainIris({ trackingUri: url, log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(runSummary(url, result));
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await stop(server);
  if (keep) {
    process.stdout.write(
      `Kept ${dataDir}. Serve it again with:\n  npm run keel -- server ${serverArgs.slice(3).join(' ')}\n`,
    );
  } else {
    await rm(dataDir, { recursive: true, force: true });
    process.stdout.write('Stopped the temporary server and removed its data (pass --keep to keep it).\n');
  }
}

/** Resolves with the URL of the server's `Keel listening on <url> (…)` line. */
function readyUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`keel server not ready after 30 s: ${err}`)), 30_000);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const url = /^Keel listening on (http:\/\/\S+)/m.exec(out)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      resolve(url);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`keel server exited (${signal ?? code}) before it was ready: ${err.trim()}`));
    });
  });
}

/** SIGTERM (a graceful stop), then SIGKILL if it has not exited within 10 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
