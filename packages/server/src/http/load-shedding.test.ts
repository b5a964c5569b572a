import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';

describe('load shedding', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { maxInFlight: 2 });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await t?.dispose();
  });

  /** Starts an artifact upload and keeps it in flight until `finish` is called. */
  const slowUpload = (name: string) => {
    let status: Promise<number> = Promise.resolve(0);
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: `/api/2.0/mlflow-artifacts/artifacts/0/slow/${name}`,
      headers: { 'content-type': 'application/octet-stream', 'content-length': '10' },
    });
    status = new Promise((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    req.write('12345');
    return { finish: () => req.end('67890'), status: () => status };
  };

  const get = (path: string) =>
    new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'] as string | undefined,
            body,
          }),
        );
      })
        .on('error', reject)
        .end();
    });

  it('answers 503 with Retry-After past the limit, keeps /health, and recovers', async () => {
    const first = slowUpload('a.bin');
    const second = slowUpload('b.bin');
    await new Promise((resolve) => setTimeout(resolve, 200));

    const shed = await get('/api/2.0/mlflow/experiments/get?experiment_id=0');
    expect(shed.status).toBe(503);
    expect(shed.retryAfter).toBe('1');
    expect(JSON.parse(shed.body).error_code).toBe('TEMPORARILY_UNAVAILABLE');
    expect((await get('/health')).status).toBe(200);

    first.finish();
    second.finish();
    expect(await first.status()).toBe(200);
    expect(await second.status()).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await get('/api/2.0/mlflow/experiments/get?experiment_id=0')).status).toBe(200);
  });
});
