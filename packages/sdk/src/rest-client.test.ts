import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Tests only: the SDK itself never depends on the server.
import { buildApp } from '../../server/src/index.js';
import { createTestStore, type TestStore } from '../../server/src/testing/test-stores.js';
import {
  AlreadyExistsError,
  InvalidParameterError,
  KeelApiError,
  KeelConnectionError,
  KeelRestClient,
  NotFoundError,
  resolveTrackingUri,
} from './index.js';

type KeelApp = Awaited<ReturnType<typeof buildApp>>;

/** A real HTTP server whose handler a test scripts, for answers Keel does not give on demand (503, resets). */
async function scriptedServer(
  handler: (request: IncomingMessage, response: ServerResponse, attempt: number) => void,
): Promise<{ uri: string; attempts: () => number; close: () => Promise<void> }> {
  let attempts = 0;
  const server: Server = createServer((request, response) => {
    attempts += 1;
    handler(request, response, attempts);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}`,
    attempts: () => attempts,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('KeelRestClient against a real Keel app', () => {
  let testStore: TestStore;
  let app: KeelApp;
  let client: KeelRestClient;

  beforeAll(async () => {
    testStore = await createTestStore('sqlite');
    app = await buildApp({
      store: testStore.store,
      config: { artifactsDestination: 'file:///tmp/keel-sdk-test-artifacts', logLevel: 'silent' },
      logger: false,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    client = new KeelRestClient({ trackingUri: `http://127.0.0.1:${port}/`, retryDelayMs: 10 });
  });

  afterAll(async () => {
    await app?.close();
    await testStore?.dispose();
  });

  it('creates and reads an experiment with post and get', async () => {
    const created = await client.post<{ experiment_id: string }>('experiments/create', { name: 'sdk-basic' });
    expect(created.experiment_id).toMatch(/^\d+$/);
    const { experiment } = await client.get<{ experiment: { name: string; experiment_id: string } }>(
      '/experiments/get',
      { experiment_id: created.experiment_id },
    );
    expect(experiment).toMatchObject({ name: 'sdk-basic', experiment_id: created.experiment_id });
  });

  it('sends arrays as repeated query keys and omits undefined values', async () => {
    const a = await client.post<{ experiment_id: string }>('experiments/create', { name: 'sdk-search-a' });
    const b = await client.post<{ experiment_id: string }>('experiments/create', { name: 'sdk-search-b' });
    for (const id of [a.experiment_id, b.experiment_id]) {
      await client.post('runs/create', { experiment_id: id, run_name: `run-of-${id}` });
    }
    const { runs } = await client.get<{ runs: { info: { experiment_id: string } }[] }>('runs/search', {
      experiment_ids: [a.experiment_id, b.experiment_id],
      filter: undefined,
    });
    expect(runs.map((run) => run.info.experiment_id).sort()).toEqual(
      [a.experiment_id, b.experiment_id].sort(),
    );
  });

  it('returns {} for an empty answer', async () => {
    const { experiment_id } = await client.post<{ experiment_id: string }>('experiments/create', {
      name: 'sdk-empty',
    });
    const { run } = await client.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id,
    });
    await expect(
      client.post('runs/log-metric', { run_id: run.info.run_id, key: 'm', value: 1, timestamp: 1, step: 0 }),
    ).resolves.toEqual({});
  });

  it('rebuilds RESOURCE_DOES_NOT_EXIST as NotFoundError (404)', async () => {
    const error = await client.get('runs/get', { run_id: 'f'.repeat(32) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toBeInstanceOf(KeelApiError);
    expect(error).toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST', status: 404, name: 'NotFoundError' });
  });

  it('rebuilds RESOURCE_ALREADY_EXISTS as AlreadyExistsError (400, as MLflow)', async () => {
    await client.post('experiments/create', { name: 'sdk-dup' });
    const error = await client.post('experiments/create', { name: 'sdk-dup' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlreadyExistsError);
    expect(error).toMatchObject({ code: 'RESOURCE_ALREADY_EXISTS', status: 400 });
  });

  it('rebuilds INVALID_PARAMETER_VALUE as InvalidParameterError (400)', async () => {
    const error = await client.post('runs/log-metric', { key: 'm' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidParameterError);
    expect(error).toMatchObject({ code: 'INVALID_PARAMETER_VALUE', status: 400 });
  });

  it('keeps other codes on the base class', async () => {
    const error = await client.get('no/such/endpoint').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelApiError);
    expect(error).not.toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'ENDPOINT_NOT_FOUND', status: 404 });
  });
});

describe('KeelRestClient retries', () => {
  it('throws KeelConnectionError after 1 + maxRetries attempts when nothing listens', async () => {
    const port = await closedPort();
    const client = new KeelRestClient({ trackingUri: `http://127.0.0.1:${port}`, retryDelayMs: 5 });
    const error = await client.get('experiments/search').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelConnectionError);
    expect(error).not.toBeInstanceOf(KeelApiError);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect((error as Error).message).toContain('after 4 attempts');
  });

  it('retries a dropped connection and then succeeds', async () => {
    const server = await scriptedServer((request, response, attempt) => {
      if (attempt <= 2) {
        request.socket.destroy();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    try {
      const client = new KeelRestClient({ trackingUri: server.uri, retryDelayMs: 5 });
      await expect(client.post('runs/log-batch', {})).resolves.toEqual({ ok: true });
      expect(server.attempts()).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('retries 503 and 429 with backoff, honouring Retry-After', async () => {
    const server = await scriptedServer((_request, response, attempt) => {
      if (attempt === 1) {
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end('{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}');
      } else if (attempt === 2) {
        response.writeHead(429, { 'retry-after': '0' }).end();
      } else {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"n":3}');
      }
    });
    try {
      const client = new KeelRestClient({ trackingUri: server.uri, retryDelayMs: 5 });
      await expect(client.get('experiments/search')).resolves.toEqual({ n: 3 });
      expect(server.attempts()).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('gives up after maxRetries and surfaces the last 503 as a KeelApiError', async () => {
    const server = await scriptedServer((_request, response) => {
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end('{"error_code":"TEMPORARILY_UNAVAILABLE","message":"overloaded"}');
    });
    try {
      const client = new KeelRestClient({ trackingUri: server.uri, retryDelayMs: 5, maxRetries: 2 });
      const error = await client.get('experiments/search').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeelApiError);
      expect(error).toMatchObject({ code: 'TEMPORARILY_UNAVAILABLE', status: 503, message: 'overloaded' });
      expect(server.attempts()).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('does not retry other errors, and codes a non-JSON error body by status', async () => {
    const server = await scriptedServer((_request, response) => {
      response.writeHead(500, { 'content-type': 'text/html' }).end('<h1>proxy error</h1>');
    });
    try {
      const client = new KeelRestClient({ trackingUri: server.uri, retryDelayMs: 5 });
      const error = await client.post('runs/create', {}).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INTERNAL_ERROR', status: 500 });
      expect(server.attempts()).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('reports a timeout as KeelConnectionError without retrying', async () => {
    const server = await scriptedServer(() => {
      // Never answers.
    });
    try {
      const client = new KeelRestClient({ trackingUri: server.uri, timeoutMs: 200, retryDelayMs: 5 });
      const error = await client.get('experiments/search').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeelConnectionError);
      expect((error as Error).message).toContain('timed out after 200 ms');
      expect(server.attempts()).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('KeelRestClient options', () => {
  it('takes the tracking URI from options, then KEEL_TRACKING_URI, then MLFLOW_TRACKING_URI', () => {
    const env = { KEEL_TRACKING_URI: 'http://keel:1', MLFLOW_TRACKING_URI: 'http://mlflow:2' };
    expect(resolveTrackingUri('http://explicit:3', env)).toBe('http://explicit:3');
    expect(resolveTrackingUri(undefined, env)).toBe('http://keel:1');
    expect(resolveTrackingUri(undefined, { MLFLOW_TRACKING_URI: 'http://mlflow:2' })).toBe('http://mlflow:2');
    expect(resolveTrackingUri(undefined, {})).toBe('http://127.0.0.1:5000');
  });

  it('freezes resolved options with their defaults and rejects a non-HTTP URI', () => {
    const client = new KeelRestClient({ trackingUri: 'http://127.0.0.1:5000' });
    expect(client.options).toMatchObject({ maxRetries: 3, retryDelayMs: 250, timeoutMs: 120_000 });
    expect(Object.isFrozen(client.options)).toBe(true);
    expect(() => new KeelRestClient({ trackingUri: 'file:///tmp/mlruns' })).toThrow(/Invalid tracking URI/);
    expect(() => new KeelRestClient({ trackingUri: 'http://x', maxRetries: -1 })).toThrow(/maxRetries/);
  });
});
