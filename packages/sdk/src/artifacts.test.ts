import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArtifactLocation,
  EndpointNotFoundError,
  KeelApiError,
  KeelClient,
  KeelConnectionError,
  type TransferProgress,
  UnsupportedArtifactUriError,
} from './index.js';
import { startTestServer, type TestServer } from './testing/test-server.js';

let server: TestServer;
let keel: KeelClient;
let experimentId: string;
let work: string;

/**
 * Whether the server has the artifact proxy and `artifacts/list` (built in parallel with the
 * SDK). Decided by probing before the tests are collected, so missing routes show as skipped.
 */
async function probeArtifactRoutes(): Promise<boolean> {
  const probe = await startTestServer();
  try {
    const client = new KeelClient({ trackingUri: probe.uri, retries: 0 });
    const { info } = await client.createRun();
    const file = join(mkdtempSync(join(tmpdir(), 'keel-probe-')), 'probe.txt');
    writeFileSync(file, 'probe');
    await client.uploadArtifact(info.run_id, file);
    return (await client.listArtifacts(info.run_id)).some((f) => f.path === 'probe.txt');
  } catch (error) {
    if (error instanceof EndpointNotFoundError || (error instanceof KeelApiError && error.status === 404)) {
      return false;
    }
    throw error;
  } finally {
    await probe.close();
  }
}

const artifactRoutesAvailable = await probeArtifactRoutes();
if (!artifactRoutesAvailable) {
  process.stderr.write('\n!!! The server has no artifact routes yet: SDK artifact tests are SKIPPED !!!\n');
}

beforeAll(async () => {
  server = await startTestServer();
  keel = new KeelClient({ trackingUri: server.uri });
  experimentId = await keel.createExperiment('artifacts');
  work = mkdtempSync(join(tmpdir(), 'keel-sdk-transfer-'));
});

afterAll(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Writes files below a fresh folder of `work`; returns the folder. */
function tree(name: string, files: Record<string, string | Buffer>): string {
  const root = join(work, name);
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, content);
  }
  return root;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const newRun = async () => (await keel.createRun({ experimentId })).info.run_id;

describe('artifact transfer through the proxy', () => {
  it.skipIf(!artifactRoutesAvailable)(
    'uploads a file to the root or into a folder, keeping its name',
    async () => {
      const runId = await newRun();
      const src = tree('single', { 'report.txt': 'accuracy 0.93\n' });
      await keel.uploadArtifact(runId, join(src, 'report.txt'));
      await keel.uploadArtifact(runId, join(src, 'report.txt'), 'reports/daily');
      const root = (await keel.listArtifacts(runId)).sort((a, b) => (a.path < b.path ? -1 : 1));
      expect(root).toEqual([
        { path: 'report.txt', is_dir: false, file_size: 14 },
        { path: 'reports', is_dir: true },
      ]);
      expect(await keel.listArtifacts(runId, 'reports/daily')).toEqual([
        { path: 'reports/daily/report.txt', is_dir: false, file_size: 14 },
      ]);
      // On the server's disk, below the run's artifact root.
      const stored = join(
        server.artifactsDir,
        experimentId,
        runId,
        'artifacts',
        'reports',
        'daily',
        'report.txt',
      );
      expect(readFileSync(stored, 'utf8')).toBe('accuracy 0.93\n');
    },
  );

  it.skipIf(!artifactRoutesAvailable)(
    'uploads a whole tree a few files at a time, reporting progress',
    async () => {
      const runId = await newRun();
      const files: Record<string, string> = {};
      for (let i = 0; i < 9; i += 1) files[`part-${i}.txt`] = `part ${i}\n`.repeat(i + 1);
      files['nested/deeper/weights.bin'] = 'w'.repeat(200_000);
      files['nested/config.json'] = '{"layers":3}';
      const src = tree('model', files);
      const events: TransferProgress[] = [];
      await keel.uploadArtifacts(runId, src, 'model', {
        concurrency: 3,
        onProgress: (p) => events.push({ ...p }),
      });

      const remote = (await keel.listArtifacts(runId, 'model/nested')).sort((a, b) =>
        a.path < b.path ? -1 : 1,
      );
      expect(remote).toEqual([
        { path: 'model/nested/config.json', is_dir: false, file_size: 12 },
        { path: 'model/nested/deeper', is_dir: true },
      ]);
      expect(events.every((e) => e.filesTotal === 11)).toBe(true);
      expect(events.at(-1)?.filesDone).toBe(11);
      const weights = events.filter((e) => e.path === 'model/nested/deeper/weights.bin');
      expect(weights.at(-1)).toMatchObject({ bytes: 200_000, totalBytes: 200_000 });
      // Streamed in chunks: several progress events for the larger file.
      expect(weights.length).toBeGreaterThan(2);
      const finished = new Set(events.filter((e) => e.bytes === e.totalBytes).map((e) => e.path));
      expect(finished.size).toBe(11);
    },
  );

  it.skipIf(!artifactRoutesAvailable)(
    'downloads a folder, a file, or everything, and returns the local path',
    async () => {
      const runId = await newRun();
      const src = tree('download-src', {
        'a.txt': 'A',
        'sub/b.txt': 'BB',
        'sub/deep/c.txt': 'CCC',
        'empty.txt': '',
      });
      await keel.uploadArtifacts(runId, src);

      const dest = join(work, 'download-dest');
      const folder = await keel.downloadArtifacts(runId, 'sub', dest);
      expect(folder).toBe(join(dest, 'sub'));
      expect(readFileSync(join(dest, 'sub', 'b.txt'), 'utf8')).toBe('BB');
      expect(readFileSync(join(dest, 'sub', 'deep', 'c.txt'), 'utf8')).toBe('CCC');

      const events: TransferProgress[] = [];
      const file = await keel.downloadArtifacts(runId, 'sub/deep/c.txt', join(work, 'one-file'), {
        onProgress: (p) => events.push({ ...p }),
      });
      expect(file).toBe(join(work, 'one-file', 'sub', 'deep', 'c.txt'));
      expect(readFileSync(file, 'utf8')).toBe('CCC');
      expect(events.at(-1)).toMatchObject({ path: 'sub/deep/c.txt', bytes: 3, filesDone: 1, filesTotal: 1 });

      const all = await keel.downloadArtifacts(runId, '', join(work, 'everything'), { concurrency: 1 });
      expect(all).toBe(join(work, 'everything'));
      expect(readFileSync(join(all, 'a.txt'), 'utf8')).toBe('A');
      expect(readFileSync(join(all, 'sub', 'deep', 'c.txt'), 'utf8')).toBe('CCC');
      expect(statSync(join(all, 'empty.txt')).size).toBe(0);
    },
  );

  it.skipIf(!artifactRoutesAvailable)('streams a large file both ways, byte for byte', async () => {
    const runId = await newRun();
    const src = join(work, 'large.bin');
    writeFileSync(src, randomBytes(24 * 1024 * 1024));
    const up: TransferProgress[] = [];
    await keel.uploadArtifact(runId, src, 'big', { onProgress: (p) => up.push(p) });
    expect(up.length).toBeGreaterThan(10);
    const down: TransferProgress[] = [];
    const local = await keel.downloadArtifacts(runId, 'big/large.bin', join(work, 'large-dest'), {
      onProgress: (p) => down.push(p),
    });
    expect(sha256(local)).toBe(sha256(src));
    expect(down.at(-1)).toMatchObject({ bytes: 24 * 1024 * 1024, totalBytes: 24 * 1024 * 1024 });
  });

  it.skipIf(!artifactRoutesAvailable)('encodes each path segment (spaces, %, #, ?, unicode)', async () => {
    const runId = await newRun();
    const name = 'résumé #1 ?x=50%.txt';
    const src = tree('odd-names', { [name]: 'odd' });
    await keel.uploadArtifact(runId, join(src, name), 'odd dir/ü');
    expect(await keel.listArtifacts(runId, 'odd dir/ü')).toEqual([
      { path: `odd dir/ü/${name}`, is_dir: false, file_size: 3 },
    ]);
    const local = await keel.downloadArtifacts(runId, `odd dir/ü/${name}`, join(work, 'odd-dest'));
    expect(readFileSync(local, 'utf8')).toBe('odd');
  });

  it.skipIf(!artifactRoutesAvailable)(
    'reports a missing artifact as a 404 API error and leaves no partial file',
    async () => {
      const runId = await newRun();
      const dest = join(work, 'missing-dest');
      const error = await keel.downloadArtifacts(runId, 'nope.txt', dest).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeelApiError);
      expect((error as KeelApiError).status).toBe(404);
      expect(() => statSync(join(dest, 'nope.txt'))).toThrow();
    },
  );

  it.skipIf(!artifactRoutesAvailable)('logs artifacts from an ActiveRun', async () => {
    const src = tree('fluent', {
      'plot.svg': '<svg/>',
      'model/weights.bin': 'w',
      'model/MLmodel': 'flavors: {}',
    });
    await keel.withRun({ experimentId }, async (run) => {
      await run.logArtifact(join(src, 'plot.svg'), 'plots');
      await run.logArtifacts(join(src, 'model'), 'model');
    });
    const [stored] = (
      await keel.searchRuns({ experimentIds: [experimentId], orderBy: ['start_time DESC'], maxResults: 1 })
    ).runs;
    const runId = stored?.info.run_id as string;
    expect((await keel.listArtifacts(runId, 'plots')).map((f) => f.path)).toEqual(['plots/plot.svg']);
    expect((await keel.listArtifacts(runId, 'model')).map((f) => f.path).sort()).toEqual([
      'model/MLmodel',
      'model/weights.bin',
    ]);
  });

  it.skipIf(!artifactRoutesAvailable)(
    'uploads nothing for an empty folder and refuses a folder as a file',
    async () => {
      const runId = await newRun();
      const empty = join(work, 'empty-dir');
      mkdirSync(empty, { recursive: true });
      const before = server.requests.length;
      await keel.uploadArtifacts(runId, empty);
      expect(server.requests.length).toBe(before);
      await expect(keel.uploadArtifact(runId, empty)).rejects.toThrow(/not a file/);
      await expect(keel.uploadArtifacts(runId, join(work, 'no-such-dir'))).rejects.toMatchObject({
        code: 'ENOENT',
      });
    },
  );

  it('refuses paths that climb out of the run or the destination, before any request', async () => {
    const src = tree('climb', { 'x.txt': 'x' });
    const client = new KeelClient({ trackingUri: 'http://127.0.0.1:1', retries: 0 });
    await expect(client.uploadArtifact('r', join(src, 'x.txt'), '../other-run')).rejects.toThrow(RangeError);
    await expect(client.downloadArtifacts('r', 'a/../../b', work)).rejects.toThrow(RangeError);
  });
});

describe('artifact upload retries', () => {
  it('sends the whole file again when the first PUT is answered 503', async () => {
    const bodies: Buffer[] = [];
    const urls: string[] = [];
    let puts = 0;
    const http = createServer((request, response) => {
      if (request.method === 'GET' && request.url?.startsWith('/api/2.0/mlflow/runs/get')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            run: {
              info: { run_id: 'r1', experiment_id: '3', artifact_uri: 'mlflow-artifacts:/3/r1/artifacts' },
            },
          }),
        );
        return;
      }
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        puts += 1;
        bodies.push(Buffer.concat(chunks));
        urls.push(`${request.method} ${request.url}`);
        if (puts === 1) response.writeHead(503, { 'retry-after': '0' }).end();
        else response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = http.address() as AddressInfo;
      const content = randomBytes(300_000);
      const src = tree('retry', { 'data.bin': content });
      const client = new KeelClient({ trackingUri: `http://127.0.0.1:${port}` });
      await client.uploadArtifact('r1', join(src, 'data.bin'), 'dir');
      expect(puts).toBe(2);
      expect(urls).toEqual(
        Array(2).fill('PUT /api/2.0/mlflow-artifacts/artifacts/3/r1/artifacts/dir/data.bin'),
      );
      expect(bodies[1]?.equals(content)).toBe(true);
    } finally {
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });
});

describe('artifact download timeouts', () => {
  /** A scripted server: a run whose artifact `slow.bin` is sent as `chunks` pieces, `gapMs` apart. */
  async function slowServer(chunks: number, gapMs: number, stallAfter?: number) {
    const http = createServer((request, response) => {
      const url = request.url ?? '';
      if (url.startsWith('/api/2.0/mlflow/runs/get')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            run: { info: { run_id: 'r1', artifact_uri: 'mlflow-artifacts:/3/r1/artifacts' } },
          }),
        );
      } else if (url.startsWith('/api/2.0/mlflow/artifacts/list')) {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        response.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(chunks * 1000),
        });
        let sent = 0;
        const timer = setInterval(() => {
          if (sent === stallAfter) return;
          response.write(Buffer.alloc(1000, sent));
          sent += 1;
          if (sent === chunks) {
            clearInterval(timer);
            response.end();
          }
        }, gapMs);
        response.on('close', () => clearInterval(timer));
      }
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    return {
      uri: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          http.closeAllConnections();
          http.close(() => resolve());
        }),
    };
  }

  it('lets a transfer run longer than timeoutMs while bytes keep moving', async () => {
    const slow = await slowServer(8, 60);
    try {
      const client = new KeelClient({ trackingUri: slow.uri, timeoutMs: 250 });
      const started = Date.now();
      const local = await client.downloadArtifacts('r1', 'slow.bin', join(work, 'slow-ok'));
      expect(Date.now() - started).toBeGreaterThan(250);
      expect(statSync(local).size).toBe(8000);
    } finally {
      await slow.close();
    }
  });

  it('fails a stalled download with KeelConnectionError and leaves no partial file', async () => {
    const slow = await slowServer(8, 20, 3);
    try {
      const client = new KeelClient({ trackingUri: slow.uri, timeoutMs: 200 });
      const dest = join(work, 'slow-stalled');
      const error = await client.downloadArtifacts('r1', 'slow.bin', dest).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeelConnectionError);
      expect((error as Error).message).toMatch(/No progress for 200 ms/);
      expect(readdirSync(dest)).toEqual([]);
    } finally {
      await slow.close();
    }
  });
});

describe('ArtifactLocation', () => {
  const tracking = 'http://tracking.example:5000/prefix/';

  it('maps mlflow-artifacts: URIs onto the tracking server (or the named host)', () => {
    const local = ArtifactLocation.parse('mlflow-artifacts:/1/abc/artifacts', tracking);
    expect(local.urlOf('model/MLmodel')).toBe(
      'http://tracking.example:5000/prefix/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/MLmodel',
    );
    const hosted = ArtifactLocation.parse(
      'mlflow-artifacts://other:8080/1/abc/artifacts',
      'https://t.example',
    );
    expect(hosted.urlOf('a b.txt')).toBe(
      'https://other:8080/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/a%20b.txt',
    );
  });

  it('accepts an http(s) proxy URL and refuses other schemes', () => {
    const http = ArtifactLocation.parse(
      'https://a.example/api/2.0/mlflow-artifacts/artifacts/7/r/artifacts',
      tracking,
    );
    expect(http.urlOf('')).toBe('https://a.example/api/2.0/mlflow-artifacts/artifacts/7/r/artifacts');
    expect(() => ArtifactLocation.parse('s3://bucket/7/r/artifacts', tracking)).toThrow(
      UnsupportedArtifactUriError,
    );
    expect(() => ArtifactLocation.parse('file:///tmp/mlruns/7/r/artifacts', tracking)).toThrow(
      UnsupportedArtifactUriError,
    );
  });

  it('encodes each segment and refuses ..', () => {
    const root = ArtifactLocation.parse('mlflow-artifacts:/1/abc/artifacts', 'http://h');
    expect(root.urlOf('x/%2e%2e/y#?.txt')).toBe(
      'http://h/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/x/%252e%252e/y%23%3F.txt',
    );
    expect(() => root.urlOf('x/../../y')).toThrow(RangeError);
  });
});
