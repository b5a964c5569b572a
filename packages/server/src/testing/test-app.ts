import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { type AppOptions, buildApp } from '../app.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { ChangeSink } from '../changes/change.js';
import type { WebhookDeliveryConfig } from '../config.js';
import type { DialectName } from '../store/dialect.js';
import { createTestStore, type TestStore } from './test-stores.js';

/** A parsed JSON response body; tests read many shapes from it. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in tests.
export type JsonBody = any;

/** An in-process Keel app over a fresh store, plus small helpers for MLflow-style calls. */
export interface TestApp {
  app: FastifyInstance;
  store: TestStore;
  /** The app's own temporary artifact folder (removed by `dispose`); unused when a store was passed in. */
  artifactsDir: string;
  /** POST a JSON body to `/api/2.0/mlflow/<path>`; returns status and parsed body. */
  post(path: string, body: unknown): Promise<{ status: number; body: JsonBody }>;
  /** GET `/api/2.0/mlflow/<path>` with a query string (arrays become repeated keys). */
  get(
    path: string,
    query?: Record<string, string | number | readonly (string | number)[]>,
  ): Promise<{ status: number; body: JsonBody }>;
  /** Any method with a JSON body to `/api/2.0/mlflow/<path>` (registry PATCH/DELETE calls). */
  call(
    method: 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body: unknown,
  ): Promise<{ status: number; body: JsonBody }>;
  dispose(): Promise<void>;
}

/** Options of {@link createTestApp}. */
export interface TestAppOptions {
  /** Serve artifacts from this store (e.g. an S3 one) instead of a fresh temporary folder; the caller closes it. */
  artifacts?: ArtifactStore;
  /** Webhook delivery settings (short backoffs and polls for delivery tests). */
  webhooks?: Partial<WebhookDeliveryConfig>;
  /** Extra change sinks (e.g. a fake that records calls, or one that fails). */
  changeSinks?: readonly ChangeSink[];
  /** Load-shedding limit (see `http/load-shedding.ts`). */
  maxInFlight?: number;
  /** Hosting of deployments (e.g. a short `pollIntervalMs`, or `false`). @default buildApp's */
  deployments?: AppOptions['deployments'];
  /** Where hosted deployments copy model versions (give each app its own). @default buildApp's */
  modelCacheDir?: string;
  /** Spill folder of the prediction recorder. @default buildApp's (beside a SQLite file) */
  predictionSpillDir?: string;
}

/** Builds an app on a fresh, migrated store of the given dialect, with a fresh artifact folder. */
export async function createTestApp(dialect: DialectName, options: TestAppOptions = {}): Promise<TestApp> {
  const store = await createTestStore(dialect);
  const artifactsDir = mkdtempSync(join(tmpdir(), 'keel-test-artifacts-'));
  const app = await buildApp({
    store: store.store,
    config: {
      artifactsDestination: pathToFileURL(artifactsDir).href,
      logLevel: 'silent',
      ...(options.webhooks ? { webhooks: options.webhooks } : {}),
      ...(options.modelCacheDir !== undefined ? { modelCacheDir: options.modelCacheDir } : {}),
      ...(options.predictionSpillDir !== undefined ? { predictionSpillDir: options.predictionSpillDir } : {}),
    },
    logger: false,
    ...(options.artifacts ? { artifacts: options.artifacts } : {}),
    ...(options.changeSinks ? { changeSinks: options.changeSinks } : {}),
    ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
    ...(options.deployments !== undefined ? { deployments: options.deployments } : {}),
  });
  const parse = (payload: string) => (payload === '' ? undefined : JSON.parse(payload));
  return {
    app,
    store,
    artifactsDir,
    async post(path, body) {
      const res = await app.inject({
        method: 'POST',
        url: `/api/2.0/mlflow/${path}`,
        payload: body as object,
      });
      return { status: res.statusCode, body: parse(res.payload) };
    },
    async get(path, query = {}) {
      const search = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        for (const v of Array.isArray(value) ? value : [value]) search.append(key, String(v));
      }
      const qs = search.toString();
      const res = await app.inject({ method: 'GET', url: `/api/2.0/mlflow/${path}${qs ? `?${qs}` : ''}` });
      return { status: res.statusCode, body: parse(res.payload) };
    },
    async call(method, path, body) {
      const res = await app.inject({ method, url: `/api/2.0/mlflow/${path}`, payload: body as object });
      return { status: res.statusCode, body: parse(res.payload) };
    },
    async dispose() {
      await app.close();
      await store.dispose();
      rmSync(artifactsDir, { recursive: true, force: true });
    },
  };
}
