import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeelClient } from './index.js';
import { installSdk } from './testing/installed-sdk.js';
import { startTestServer, type TestServer } from './testing/test-server.js';

let server: TestServer;
let keel: KeelClient;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  keel = new KeelClient({ trackingUri: server.uri });
  dir = mkdtempSync(join(tmpdir(), 'keel-sdk-exit-'));
  installSdk(dir);
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs a training script in a real child process that
 * starts a run, logs 1234 metric points and never calls `end()`; `tail` decides how it stops.
 * The script imports `@keel/sdk` installed (transpiled from source) in its folder.
 * Resolves with the exit code or signal and the run id the script printed.
 */
async function runScript(
  tail: string,
): Promise<{ code: number | null; signal: string | null; runId: string }> {
  const script = join(dir, `train-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    script,
    `import { KeelClient } from '@keel/sdk';
const keel = new KeelClient({ trackingUri: ${JSON.stringify(server.uri)} });
const run = await keel.startRun({ experiment: 'exit-child', flush: { intervalMs: 60000 } });
for (let step = 0; step < 1234; step++) run.logMetric('loss', 1 / (step + 1), { step });
process.stdout.write(run.runId + '\\n');
${tail}
`,
  );
  const child = spawn(process.execPath, [script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  const runId = stdout.trim().split('\n')[0] ?? '';
  if (!/^[0-9a-f]{32}$/.test(runId)) throw new Error(`script failed (code ${code}): ${stderr}`);
  return { code, signal, runId };
}

describe('exit hooks in a real process', () => {
  it('flushes and ends a forgotten run FINISHED when the script ends normally', async () => {
    const { code, runId } = await runScript('');
    expect(code).toBe(0);
    const run = await keel.getRun(runId);
    expect(run.info.status).toBe('FINISHED');
    expect(await keel.getMetricHistory(runId, 'loss')).toHaveLength(1234);
  });

  it('ends it FAILED when the script set a non-zero exit code', async () => {
    const { code, runId } = await runScript('process.exitCode = 3;');
    expect(code).toBe(3);
    expect((await keel.getRun(runId)).info.status).toBe('FAILED');
    expect(await keel.getMetricHistory(runId, 'loss')).toHaveLength(1234);
  });

  it('flushes and ends it KILLED on SIGINT, then lets the signal end the process', async () => {
    const { code, signal, runId } = await runScript(
      "setInterval(() => {}, 1000);\nsetTimeout(() => process.kill(process.pid, 'SIGINT'), 50);",
    );
    // Node's default SIGINT handling: killed by the signal (or exit code 130 on some platforms).
    expect(signal === 'SIGINT' || code === 130).toBe(true);
    expect((await keel.getRun(runId)).info.status).toBe('KILLED');
    expect(await keel.getMetricHistory(runId, 'loss')).toHaveLength(1234);
  });
});
