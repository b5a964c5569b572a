import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppOptions, buildApp } from '../app.js';
import { createTestStore, type TestStore } from '../testing/test-stores.js';
import { defaultWebUiRoot, IMMUTABLE_CACHE, REVALIDATE_CACHE } from './web-ui.js';

const INDEX =
  '<!doctype html><html><body><div id="root"></div><script src="/assets/index-abc123.js"></script></body></html>';
const SCRIPT = 'console.log("keel ui");';
const STYLE = 'body { color: red; }';
const SECRET = 'not for the web';
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A Keel app listening on a free port, with the web UI served from `webUi`. */
async function startApp(webUi: AppOptions['webUi']) {
  const store: TestStore = await createTestStore('sqlite');
  const artifactsDir = mkdtempSync(join(tmpdir(), 'keel-web-ui-artifacts-'));
  const app: FastifyInstance = await buildApp({
    store: store.store,
    config: { artifactsDestination: pathToFileURL(artifactsDir).href, logLevel: 'silent' },
    logger: false,
    workflows: false,
    ...(webUi === undefined ? {} : { webUi }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  /** A raw request: the path is sent exactly as given (no `..` normalisation, unlike fetch or inject). */
  const send = (method: string, path: string, accept = '*/*') =>
    new Promise<Answer>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { accept } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  return {
    get: (path: string, accept?: string) => send('GET', path, accept),
    send,
    async dispose() {
      await app.close();
      await store.dispose();
      rmSync(artifactsDir, { recursive: true, force: true });
    },
  };
}

describe('web UI serving', () => {
  let folder: string;
  let root: string;
  let server: Awaited<ReturnType<typeof startApp>>;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'keel-web-ui-'));
    root = join(folder, 'ui');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), INDEX);
    writeFileSync(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(root, 'assets', 'index-abc123.js'), SCRIPT);
    writeFileSync(join(root, 'assets', 'index-abc123.css'), STYLE);
    writeFileSync(join(folder, 'secret.txt'), SECRET);
    symlinkSync(join(folder, 'secret.txt'), join(root, 'assets', 'escape.js'));
    server = await startApp({ root });
  });
  afterAll(async () => {
    await server?.dispose();
    rmSync(folder, { recursive: true, force: true });
  });

  it('serves index.html at / and for any page path a browser asks for (SPA fallback)', async () => {
    for (const path of [
      '/',
      '/experiments',
      '/experiments/3?filter=metrics.acc%20%3E%200.5',
      '/deployments/churn',
    ]) {
      const answer = await server.get(path, HTML);
      expect(answer.status, path).toBe(200);
      expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(answer.headers['cache-control']).toBe(REVALIDATE_CACHE);
      expect(answer.body).toBe(INDEX);
    }
  });

  it('serves hashed assets with their content type and an immutable cache policy', async () => {
    const script = await server.get('/assets/index-abc123.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toBe(IMMUTABLE_CACHE);
    expect(script.headers['content-length']).toBe(String(SCRIPT.length));
    expect(script.headers['x-content-type-options']).toBe('nosniff');
    expect(script.body).toBe(SCRIPT);

    const style = await server.get('/assets/index-abc123.css');
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(style.body).toBe(STYLE);

    const icon = await server.get('/favicon.svg');
    expect(icon.status).toBe(200);
    expect(icon.headers['content-type']).toBe('image/svg+xml');
    expect(icon.headers['cache-control']).toBe(REVALIDATE_CACHE);

    const head = await server.send('HEAD', '/assets/index-abc123.js');
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(head.body).toBe('');
  });

  it('answers 404 for a missing asset, even to a browser', async () => {
    for (const accept of ['*/*', HTML]) {
      const answer = await server.get('/assets/index-missing.js', accept);
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body).error_code).toBe('ENDPOINT_NOT_FOUND');
    }
  });

  it('never serves a file outside the UI folder', async () => {
    const attempts = [
      '/assets/../../secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/assets/..%2F..%2Fsecret.txt',
      '/assets/..%5C..%5Csecret.txt',
      '/..%2Fsecret.txt',
      '/assets/escape.js',
      '/assets/%00.js',
    ];
    for (const path of attempts) {
      const answer = await server.get(path);
      expect(answer.status, path).toBe(404);
      expect(answer.body, path).not.toContain(SECRET);
    }
  });

  it('leaves the API, health, metrics and serving routes as they were', async () => {
    const experiment = await server.get('/api/2.0/mlflow/experiments/get?experiment_id=0', HTML);
    expect(experiment.status).toBe(200);
    expect(experiment.headers['content-type']).toContain('application/json');
    expect(JSON.parse(experiment.body).experiment.name).toBe('Default');

    for (const path of [
      '/api/2.0/mlflow/no-such-rpc',
      '/ajax-api/2.0/mlflow/nope',
      '/v2/nope',
      '/invocations',
    ]) {
      const missing = await server.get(path, HTML);
      expect(missing.status, path).toBe(404);
      expect(JSON.parse(missing.body).error_code, path).toBe('ENDPOINT_NOT_FOUND');
    }

    const health = await server.get('/health', HTML);
    expect(health.status).toBe(200);
    expect(health.body).toBe('OK');

    const metrics = await server.get('/metrics', HTML);
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toContain('text/plain');

    const live = await server.get('/v2/health/live', HTML);
    expect(JSON.parse(live.body)).toEqual({ live: true });

    const ping = await server.get('/deployments/unknown/ping', HTML);
    expect(ping.headers['content-type']).not.toContain('text/html');
  });

  it('answers non-page requests to unknown paths with the JSON 404', async () => {
    const json = await server.get('/experiments', 'application/json');
    expect(json.status).toBe(404);
    expect(JSON.parse(json.body).error_code).toBe('ENDPOINT_NOT_FOUND');

    const post = await server.send('POST', '/experiments', HTML);
    expect(post.status).toBe(404);
  });
});

describe('web UI serving without a built UI', () => {
  it('answers pages with a note on how to build the UI, and assets with 404', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'keel-web-ui-empty-'));
    const server = await startApp({ root: empty });
    try {
      const page = await server.get('/experiments', HTML);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.body).toContain('npm run build');
      expect((await server.get('/assets/index-abc123.js')).status).toBe(404);
    } finally {
      await server.dispose();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('serves no UI at all with webUi: false', async () => {
    const server = await startApp(false);
    try {
      const page = await server.get('/', HTML);
      expect(page.status).toBe(404);
      expect(JSON.parse(page.body).error_code).toBe('ENDPOINT_NOT_FOUND');
    } finally {
      await server.dispose();
    }
  });

  it('finds the UI in the @keel/web package by default', () => {
    expect(defaultWebUiRoot()).toMatch(new RegExp(`${['packages', 'web', 'dist', 'ui'].join(`\\${sep}`)}$`));
  });
});
