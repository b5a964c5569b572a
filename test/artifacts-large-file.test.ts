// End-to-end: a 1 GiB artifact streamed up and back down through the proxy of a real `keel
// server` process, whose peak memory must stay flat (the server never holds a file in memory).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, startKeelServer } from './helpers/keel-process.js';

const FILE_BYTES = 1024 ** 3; // 1 GiB
const CHUNK_BYTES = 1024 * 1024;
/** Peak resident-memory growth allowed while the file passes through, both ways. */
const MAX_RSS_GROWTH_BYTES = 100 * 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'keel-large-'));
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A field of `/proc/<pid>/status` in bytes (the kernel reports kB). */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(line[1]) * 1024;
}

/** 1 GiB of bytes that differ chunk to chunk, hashed as they are produced. */
function generated(hash: ReturnType<typeof createHash>): Readable {
  const block = randomBytes(CHUNK_BYTES);
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < FILE_BYTES; offset += CHUNK_BYTES) {
        const chunk = Buffer.from(block);
        chunk.writeDoubleLE(offset, 0);
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
}

describe.runIf(process.platform === 'linux')('a 1 GiB artifact through a real keel server', () => {
  it('streams up and down with equal bytes and flat server memory', { timeout: 600_000 }, async () => {
    const artifacts = join(dir, 'artifacts');
    const server = await startKeelServer([
      '--backend-store-uri',
      `sqlite:///${join(dir, 'keel.db')}`,
      '--artifacts-destination',
      artifacts,
    ]);
    const { hostname, port } = new URL(server.url);
    const path = '/api/2.0/mlflow-artifacts/artifacts/0/large/artifacts/big.bin';

    // Warm up both directions so code loading and JIT are not counted.
    const warm = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/warm.bin`, {
      method: 'PUT',
      body: randomBytes(4 * CHUNK_BYTES),
    });
    expect(warm.status).toBe(200);
    await (await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/warm.bin`)).arrayBuffer();

    // Reset the kernel's high-water mark to the current RSS, so VmHWM afterwards is the peak
    // during the transfer alone.
    let baseline: number;
    try {
      writeFileSync(`/proc/${server.pid}/clear_refs`, '5');
      baseline = procStatus(server.pid, 'VmRSS');
    } catch {
      process.stderr.write(
        '\n!!! cannot reset VmHWM (clear_refs); measuring against the start-up peak !!!\n',
      );
      baseline = procStatus(server.pid, 'VmHWM');
    }

    const sent = createHash('sha256');
    const uploaded = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: hostname, port, method: 'PUT', path, headers: { 'content-length': String(FILE_BYTES) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      pipeline(generated(sent), req).catch(reject);
    });
    expect(uploaded).toBe(200);
    expect(statSync(join(artifacts, '0/large/artifacts/big.bin')).size).toBe(FILE_BYTES);

    const received = createHash('sha256');
    let receivedBytes = 0;
    const download = await fetch(`${server.url}${path}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-length')).toBe(String(FILE_BYTES));
    for await (const chunk of Readable.fromWeb(download.body as import('node:stream/web').ReadableStream)) {
      receivedBytes += (chunk as Buffer).length;
      received.update(chunk as Buffer);
    }
    expect(receivedBytes).toBe(FILE_BYTES);
    expect(received.digest('hex')).toBe(sent.digest('hex'));

    const peak = procStatus(server.pid, 'VmHWM');
    const growth = peak - baseline;
    process.stderr.write(
      `\nlarge-file artifact test: server RSS ${(baseline / 2 ** 20).toFixed(1)} MiB before, peak ${(peak / 2 ** 20).toFixed(1)} MiB during 1 GiB up + down (growth ${(growth / 2 ** 20).toFixed(1)} MiB)\n`,
    );
    expect(growth).toBeLessThan(MAX_RSS_GROWTH_BYTES);
  });
});
