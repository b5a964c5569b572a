import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
// Tests only: the SDK itself never depends on the server (this folder is not part of its build).
import { buildApp } from '../../../server/src/index.js';
import { createTestStore, type TestStore } from '../../../server/src/testing/test-stores.js';

type KeelApp = Awaited<ReturnType<typeof buildApp>>;

/** One request the server received, as its raw HTTP line shows it. */
export interface SeenRequest {
  method: string;
  url: string;
}

/** A real Keel server on a loopback port, over a fresh SQLite store and artifact folder. */
export interface TestServer {
  readonly uri: string;
  readonly app: KeelApp;
  /** The folder the artifact store writes to. */
  readonly artifactsDir: string;
  /** Every request received so far, in arrival order. */
  readonly requests: SeenRequest[];
  /** How many requests so far went to a path ending in `suffix` (e.g. `runs/log-batch`). */
  count(suffix: string): number;
  close(): Promise<void>;
}

/**
 * Starts a Keel server in-process and listens on `127.0.0.1:<random port>`. Requests are counted
 * from the HTTP server's own `request` event, which sees every call before Fastify routes it.
 */
export async function startTestServer(): Promise<TestServer> {
  const store: TestStore = await createTestStore('sqlite');
  const artifactsDir = mkdtempSync(join(tmpdir(), 'keel-sdk-artifacts-'));
  const app = await buildApp({
    store: store.store,
    config: { artifactsDestination: pathToFileURL(artifactsDir).href, logLevel: 'silent' },
    logger: false,
  });
  const requests: SeenRequest[] = [];
  app.server.on('request', (request: IncomingMessage) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '' });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}`,
    app,
    artifactsDir,
    requests,
    count: (suffix) => requests.filter((r) => (r.url.split('?')[0] ?? '').endsWith(suffix)).length,
    async close() {
      await app.close();
      await store.dispose();
      rmSync(artifactsDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `condition()` holds, polling every 10 ms; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
