import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { S3ArtifactStore } from '../artifacts/s3/s3-artifact-store.js';
import { startS3TestServer } from '../testing/s3-test-server.js';
import { createTestApp, type JsonBody, type TestApp } from '../testing/test-app.js';

const s3 = await startS3TestServer();
afterAll(async () => {
  await s3?.close();
});

const PROXY = '/api/2.0/mlflow-artifacts';

/** A response read whole: status, headers and the raw bytes. */
interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): JsonBody;
}

/**
 * Sends a request byte for byte over a real socket: `path` is not normalised or re-encoded,
 * which `app.inject()` (WHATWG URL parsing) would do to `..` and `%2e`.
 */
function rawRequest(
  port: number,
  method: string,
  path: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // A body goes with its Content-Length, as curl and MLflow's clients send it, unless the
    // caller asks for chunked transfer by passing `transfer-encoding` itself.
    const sized =
      body === undefined || headers['transfer-encoding'] !== undefined
        ? headers
        : { 'content-length': String(Buffer.byteLength(body)), ...headers };
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: sized }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: data,
          json: () => JSON.parse(data.toString('utf8')),
        });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

interface Backend {
  name: 'local' | 's3';
  store(): ArtifactStore | undefined;
}

let prefixCount = 0;
const backends: Backend[] = [
  { name: 'local', store: () => undefined },
  ...(s3
    ? [{ name: 's3' as const, store: () => new S3ArtifactStore(s3.storeOptions(`routes-${++prefixCount}`)) }]
    : []),
];

describe.each(backends)('artifact routes on the $name store', ({ name, store: openStore }) => {
  let t: TestApp;
  let store: ArtifactStore | undefined;
  let port: number;
  beforeAll(async () => {
    store = openStore();
    t = await createTestApp('sqlite', store ? { artifacts: store } : {});
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await t?.dispose();
    await store?.close();
  });

  const put = (path: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    rawRequest(port, 'PUT', `${PROXY}/artifacts/${path}`, body, headers);
  const get = (path: string) => rawRequest(port, 'GET', path);
  const newRun = async (experimentId = '0') => {
    const res = await t.post('runs/create', { experiment_id: experimentId });
    expect(res.status).toBe(200);
    return res.body.run.info as { run_id: string; artifact_uri: string; experiment_id: string };
  };

  it('uploads, lists, downloads and deletes through the proxy', async () => {
    const put1 = await put('proxy/dir/hello.txt', 'hello world', { 'content-type': 'text/plain' });
    expect(put1.status).toBe(200);
    expect(put1.json()).toEqual({});
    expect((await put('proxy/top.bin', Buffer.from([0, 1, 2]))).status).toBe(200);

    const root = await get(`${PROXY}/artifacts?path=proxy`);
    expect(root.status).toBe(200);
    expect(root.json()).toEqual({
      files: [
        { path: 'dir', is_dir: true },
        { path: 'top.bin', is_dir: false, file_size: 3 },
      ],
    });
    const dir = await get(`${PROXY}/artifacts?path=proxy/dir`);
    expect(dir.json()).toEqual({ files: [{ path: 'hello.txt', is_dir: false, file_size: 11 }] });
    expect((await get(`${PROXY}/artifacts?path=proxy/nothing-here`)).json()).toEqual({});

    const download = await get(`${PROXY}/artifacts/proxy/dir/hello.txt`);
    expect(download.status).toBe(200);
    expect(download.body.toString()).toBe('hello world');
    expect(download.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(download.headers['content-disposition']).toBe(
      `attachment; filename="hello.txt"; filename*=UTF-8''hello.txt`,
    );
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    expect(download.headers['content-length']).toBe('11');

    const deleted = await rawRequest(port, 'DELETE', `${PROXY}/artifacts/proxy/dir`);
    expect(deleted.status).toBe(200);
    expect(deleted.json()).toEqual({});
    const gone = await get(`${PROXY}/artifacts/proxy/dir/hello.txt`);
    expect(gone.status).toBe(404);
    expect(gone.json().error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect((await get(`${PROXY}/artifacts?path=proxy`)).json()).toEqual({
      files: [{ path: 'top.bin', is_dir: false, file_size: 3 }],
    });
  });

  it('serves the same proxy under /ajax-api, and answers HEAD with headers only', async () => {
    await put('ajax/image.png', Buffer.from('not really a png'));
    const viaAjax = await get('/ajax-api/2.0/mlflow-artifacts/artifacts/ajax/image.png');
    expect(viaAjax.status).toBe(200);
    expect(viaAjax.headers['content-type']).toBe('image/png');
    const head = await rawRequest(port, 'HEAD', `${PROXY}/artifacts/ajax/image.png`);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('16');
    expect(head.body.length).toBe(0);
  });

  it('stores PUT bodies raw whatever their content type (JSON is not parsed)', async () => {
    const json = '{ "a" : 1,\n  "b": [true] }';
    for (const [file, type] of [
      ['data.json', 'application/json'],
      ['form.txt', 'application/x-www-form-urlencoded'],
      ['none.bin', undefined],
      ['weird.bin', 'image/png; charset=nonsense'],
    ] as const) {
      const res = await put(`raw/${file}`, json, type ? { 'content-type': type } : {});
      expect(res.status).toBe(200);
      const back = await get(`${PROXY}/artifacts/raw/${file}`);
      expect(back.body.toString()).toBe(json);
    }
    expect((await get(`${PROXY}/artifacts/raw/data.json`)).headers['content-type']).toBe(
      'application/json; charset=utf-8',
    );
    expect((await get(`${PROXY}/artifacts/raw/none.bin`)).headers['content-type']).toBe(
      'application/octet-stream',
    );
  });

  it('refuses to delete the artifact root and answers a missing file with RESOURCE_DOES_NOT_EXIST', async () => {
    const missing = await get(`${PROXY}/artifacts/no/such/file.txt`);
    expect(missing.status).toBe(404);
    expect(missing.json().error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const root = await rawRequest(port, 'DELETE', `${PROXY}/artifacts/.`);
    expect(root.status).toBe(400);
    expect(root.json().error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  if (name === 'local') {
    it('answers multipart uploads with 501 NOT_IMPLEMENTED so clients fall back to PUT', async () => {
      for (const action of ['create', 'complete', 'abort']) {
        const res = await t.app.inject({
          method: 'POST',
          url: `${PROXY}/mpu/${action}/0/run/artifacts`,
          payload: {
            path: '/home/ada/model.bin',
            num_parts: 2,
            upload_id: 'u',
            parts: [{ part_number: 1, etag: 'e' }],
          },
        });
        expect(res.statusCode).toBe(501);
        expect(res.json()).toEqual({
          error_code: 'NOT_IMPLEMENTED',
          message: 'Multipart upload is not supported for the current artifact repository',
        });
      }
    });
  } else {
    it('does a real multipart upload through the presigned URLs mpu/create hands out', async () => {
      const part1 = randomBytes(5 * 1024 * 1024);
      const part2 = randomBytes(1234);
      const created = await t.app.inject({
        method: 'POST',
        url: `${PROXY}/mpu/create/mpu/run/artifacts/model`,
        payload: { path: '/home/ada/checkpoints/weights.bin', num_parts: 2 },
      });
      expect(created.statusCode).toBe(200);
      const { upload_id, credentials } = created.json() as {
        upload_id: string;
        credentials: { url: string; part_number: number; headers?: Record<string, string> }[];
      };
      expect(upload_id).toMatch(/\S/);
      expect(credentials.map((c) => c.part_number)).toEqual([1, 2]);
      const parts = [];
      for (const credential of credentials) {
        const res = await fetch(credential.url, {
          method: 'PUT',
          headers: credential.headers ?? {},
          body: credential.part_number === 1 ? part1 : part2,
        });
        expect(res.status).toBe(200);
        parts.push({
          part_number: credential.part_number,
          etag: res.headers.get('etag'),
          url: credential.url,
        });
      }
      const completed = await t.app.inject({
        method: 'POST',
        url: `${PROXY}/mpu/complete/mpu/run/artifacts/model`,
        payload: { path: '/home/ada/checkpoints/weights.bin', upload_id, parts },
      });
      expect(completed.statusCode).toBe(200);
      expect(completed.json()).toEqual({});
      // The file is named after the client's file, inside the folder the URL names (as in MLflow).
      const back = await get(`${PROXY}/artifacts/mpu/run/artifacts/model/weights.bin`);
      expect(back.status).toBe(200);
      expect(back.body.equals(Buffer.concat([part1, part2]))).toBe(true);

      const second = await t.app.inject({
        method: 'POST',
        url: `${PROXY}/mpu/create/mpu/run/artifacts`,
        payload: { path: 'C:\\Users\\ada\\other.bin', num_parts: 1 },
      });
      const aborted = await t.app.inject({
        method: 'POST',
        url: `${PROXY}/mpu/abort/mpu/run/artifacts`,
        payload: { path: 'C:\\Users\\ada\\other.bin', upload_id: second.json().upload_id },
      });
      expect(aborted.statusCode).toBe(200);
      expect(aborted.json()).toEqual({});
      expect((await get(`${PROXY}/artifacts/mpu/run/artifacts/other.bin`)).status).toBe(404);
    });
  }

  it('lists a run’s artifacts with paths relative to its root and the root URI', async () => {
    const run = await newRun();
    const root = `0/${run.run_id}/artifacts`;
    expect(run.artifact_uri).toBe(`mlflow-artifacts:/${root}`);
    await put(`${root}/model/MLmodel`, 'flavors: {}\n');
    await put(`${root}/model/model.onnx`, Buffer.alloc(10));
    await put(`${root}/metrics.csv`, 'a,b\n1,2\n');

    const top = await t.get('artifacts/list', { run_id: run.run_id });
    expect(top.status).toBe(200);
    expect(top.body).toEqual({
      root_uri: run.artifact_uri,
      files: [
        { path: 'metrics.csv', is_dir: false, file_size: 8 },
        { path: 'model', is_dir: true },
      ],
    });
    const model = await t.get('artifacts/list', { run_uuid: run.run_id, path: 'model' });
    expect(model.body).toEqual({
      root_uri: run.artifact_uri,
      files: [
        { path: 'model/MLmodel', is_dir: false, file_size: 12 },
        { path: 'model/model.onnx', is_dir: false, file_size: 10 },
      ],
    });
    expect((await t.get('artifacts/list', { run_id: run.run_id, path: 'empty' })).body).toEqual({
      root_uri: run.artifact_uri,
    });
    const unknown = await t.get('artifacts/list', { run_id: 'f'.repeat(32) });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('downloads a run artifact from /get-artifact as an attachment with a guessed type and nosniff', async () => {
    const run = await newRun();
    const root = `0/${run.run_id}/artifacts`;
    await put(`${root}/model/MLmodel`, 'artifact_path: model\n');
    await put(`${root}/plots/loss%20curve.svg`, '<svg/>');
    await put(`${root}/blob.weird`, 'x');

    const mlmodel = await get(`/get-artifact?run_id=${run.run_id}&path=model/MLmodel`);
    expect(mlmodel.status).toBe(200);
    expect(mlmodel.body.toString()).toBe('artifact_path: model\n');
    expect(mlmodel.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(mlmodel.headers['content-disposition']).toBe(
      `attachment; filename="MLmodel"; filename*=UTF-8''MLmodel`,
    );
    expect(mlmodel.headers['x-content-type-options']).toBe('nosniff');

    const svg = await get(`/get-artifact?run_uuid=${run.run_id}&path=plots%2Floss%20curve.svg`);
    expect(svg.status).toBe(200);
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.headers['content-disposition']).toBe(
      `attachment; filename="loss curve.svg"; filename*=UTF-8''loss%20curve.svg`,
    );
    expect((await get(`/get-artifact?run_id=${run.run_id}&path=blob.weird`)).headers['content-type']).toBe(
      'application/octet-stream',
    );
    const missing = await get(`/get-artifact?run_id=${run.run_id}&path=nope.txt`);
    expect(missing.status).toBe(404);
    expect(missing.json().error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const noPath = await get(`/get-artifact?run_id=${run.run_id}`);
    expect(noPath.status).toBe(400);
    expect(noPath.json().error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('takes web-UI uploads of up to 10 MB into the run’s artifacts', async () => {
    const run = await newRun();
    const url = `/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${run.run_id}&path=notes/readme.md`;
    const ok = await rawRequest(port, 'POST', url, '# notes', { 'content-type': 'text/markdown' });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({});
    const back = await get(`/get-artifact?run_id=${run.run_id}&path=notes/readme.md`);
    expect(back.body.toString()).toBe('# notes');

    const tooBig = await rawRequest(port, 'POST', url, Buffer.alloc(10 * 1024 * 1024 + 1));
    expect(tooBig.status).toBe(400);
    expect(tooBig.json().error_code).toBe('INVALID_PARAMETER_VALUE');
    // Without a Content-Length the limit is counted as the bytes arrive.
    const chunked = await rawRequest(port, 'POST', `${url}-chunked`, Buffer.alloc(10 * 1024 * 1024 + 1), {
      'transfer-encoding': 'chunked',
    });
    expect(chunked.status).toBe(400);
    expect(chunked.json().error_code).toBe('INVALID_PARAMETER_VALUE');
    expect((await get(`/get-artifact?run_id=${run.run_id}&path=notes/readme.md-chunked`)).status).toBe(404);
    const empty = await rawRequest(port, 'POST', url, '');
    expect(empty.status).toBe(400);
    expect(empty.json().error_code).toBe('INVALID_PARAMETER_VALUE');
    // The connection is still usable after a refused body.
    expect((await get(`/get-artifact?run_id=${run.run_id}&path=notes/readme.md`)).status).toBe(200);
  });

  it('refuses to serve runs whose artifact URI is not mlflow-artifacts:', async () => {
    const experiment = await t.post('experiments/create', {
      name: `external-${name}`,
      artifact_location: 's3://somebody-elses-bucket/prefix',
    });
    const run = await newRun(experiment.body.experiment_id);
    const listed = await t.get('artifacts/list', { run_id: run.run_id });
    expect(listed.status).toBe(400);
    expect(listed.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const fetched = await get(`/get-artifact?run_id=${run.run_id}&path=x.txt`);
    expect(fetched.status).toBe(400);
    expect(fetched.json().error_code).toBe('INVALID_PARAMETER_VALUE');
  });
});

describe('artifact path traversal (local store, real sockets)', () => {
  let t: TestApp;
  let port: number;
  let outside: string;
  const marker = `keel-escape-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    t = await createTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
    outside = mkdtempSync(join(tmpdir(), 'keel-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'top secret');
    // A link inside the store, planted on disk, that leads out of it.
    mkdirSync(join(t.artifactsDir, '0'), { recursive: true });
    symlinkSync(outside, join(t.artifactsDir, '0', 'escape'));
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(outside, { recursive: true, force: true });
  });

  /** Everywhere a traversal from the store root could land a file named after the marker. */
  const escapedFiles = () =>
    [
      dirname(t.artifactsDir),
      dirname(dirname(t.artifactsDir)),
      '/',
      outside,
      join(t.artifactsDir, '..'),
    ].filter((dir) => readdirSync(dir).some((entry) => entry.includes(marker)));

  it.each([
    ['..', `../${marker}.txt`],
    ['.. deeper', `0/../../${marker}.txt`],
    ['%2e%2e', `%2e%2e/${marker}.txt`],
    ['%2E%2E%2F', `%2E%2E%2F%2E%2E%2F${marker}.txt`],
    ['double-encoded %252e%252e', `%252e%252e/%252e%252e/${marker}.txt`],
    ['double-encoded slash %252F', `a%252F..%252F..%252F${marker}.txt`],
    ['absolute //', `/tmp/${marker}.txt`],
    ['absolute %2F', `%2Ftmp%2F${marker}.txt`],
    ['backslash \\..\\', `\\..\\..\\${marker}.txt`],
    ['encoded backslash %5C', `%5C..%5C..%5C${marker}.txt`],
    ['NUL byte', `${marker}%00.txt`],
    ['symlink out of the store', `0/escape/${marker}.txt`],
  ])('refuses %s on PUT, GET, DELETE and mpu with INVALID_PARAMETER_VALUE', async (_label, path) => {
    for (const method of ['PUT', 'GET', 'DELETE'] as const) {
      const res = await rawRequest(
        port,
        method,
        `${PROXY}/artifacts/${path}`,
        method === 'PUT' ? 'pwned' : undefined,
        method === 'PUT' ? { 'content-type': 'application/octet-stream' } : {},
      );
      expect({ method, status: res.status, code: res.json().error_code }).toEqual({
        method,
        status: 400,
        code: 'INVALID_PARAMETER_VALUE',
      });
    }
    const mpu = await rawRequest(
      port,
      'POST',
      `${PROXY}/mpu/create/${path}`,
      JSON.stringify({ path: 'x.bin', num_parts: 1 }),
      { 'content-type': 'application/json' },
    );
    // The symlink is found on disk; the local store refuses multipart before it looks there.
    expect(mpu.status).toBe(path.startsWith('0/escape/') ? 501 : 400);
    expect(escapedFiles()).toEqual([]);
  });

  it('refuses traversal in query parameters and reads nothing through an escaping symlink', async () => {
    const run = (await t.post('runs/create', {})).body.run.info.run_id as string;
    for (const url of [
      `${PROXY}/artifacts?path=..`,
      `${PROXY}/artifacts?path=0/escape`,
      `${PROXY}/artifacts?path=%252e%252e`,
      `${PROXY}/artifacts?path=%2Fetc`,
      `/get-artifact?run_id=${run}&path=../../../../0/escape/secret.txt`,
      `/get-artifact?run_id=${run}&path=%2e%2e/x`,
      `/api/2.0/mlflow/artifacts/list?run_id=${run}&path=..`,
      `/api/2.0/mlflow/artifacts/list?run_id=${run}&path=a%00b`,
      `/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${run}&path=../../${marker}.txt`,
    ]) {
      const upload = url.includes('upload-artifact');
      const res = await rawRequest(port, upload ? 'POST' : 'GET', url, upload ? 'data' : undefined);
      expect({ url, status: res.status, code: res.json().error_code }).toEqual({
        url,
        status: 400,
        code: 'INVALID_PARAMETER_VALUE',
      });
    }
    const secret = await rawRequest(port, 'GET', `${PROXY}/artifacts/0/escape/secret.txt`);
    expect(secret.status).toBe(400);
    expect(secret.body.toString()).not.toContain('top secret');
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    expect(existsSync(join(t.artifactsDir, '0', 'escape'))).toBe(true);
    expect(escapedFiles()).toEqual([]);
  });
});
