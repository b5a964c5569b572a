import { mkdtempSync, rmSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { S3ArtifactStoreOptions } from '../artifacts/s3/s3-artifact-store.js';

/** s3rver's fixed test account. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** An S3-compatible server (s3rver) on a free loopback port, with one bucket, for one test file. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly bucket: string;
  /** Options for an `S3ArtifactStore` on this server under `prefix`. */
  storeOptions(prefix?: string): S3ArtifactStoreOptions;
  close(): Promise<void>;
}

/**
 * Starts s3rver on 127.0.0.1 with a fresh folder and bucket. When it cannot start, says so
 * loudly on stderr and returns `undefined` (the S3 suites are skipped); under `CI=true` it throws
 * instead, since a CI run without S3 would test nothing there.
 */
export async function startS3TestServer(bucket = 'keel-test'): Promise<S3TestServer | undefined> {
  const directory = mkdtempSync(join(tmpdir(), 'keel-s3rver-'));
  try {
    const server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory,
      vhostBuckets: false,
      configureBuckets: [{ name: bucket, configs: [] }],
    });
    installAbortMultipartUpload(server);
    fixDelimiterListing(server);
    const address = await server.run();
    const endpoint = `http://127.0.0.1:${address.port}`;
    return {
      endpoint,
      bucket,
      storeOptions: (prefix = '') => ({
        bucket,
        prefix,
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: CREDENTIALS,
      }),
      async close() {
        await server.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    const message = `\n!!! The S3-compatible test server (s3rver) could not start (${(error as Error).message}); S3 artifact tests are SKIPPED !!!\n`;
    if (process.env.CI === 'true') throw new Error(`${message}CI=true: failing instead of skipping.`);
    process.stderr.write(message);
    return undefined;
  }
}

/** Koa's middleware list, which s3rver's typings do not show. */
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
  status: number;
  type: string;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/**
 * s3rver 3.7 implements multipart create/upload/complete but not AbortMultipartUpload
 * (`DELETE /bucket/key?uploadId=…` answers 405). This answers it the way S3 does — 204 and the
 * parts discarded, or 404 NoSuchUpload — so the store's abort call is exercised for real.
 */
function installAbortMultipartUpload(server: S3rver): void {
  const internals = server as unknown as {
    middleware: KoaMiddleware[];
    store: { getResourcePath(bucket: string, key: undefined, resource: string): string };
  };
  const abort: KoaMiddleware = async (ctx, next) => {
    const uploadId = ctx.query.uploadId;
    if (ctx.method !== 'DELETE' || typeof uploadId !== 'string') return next();
    const bucket = decodeURIComponent(ctx.path.split('/')[1] ?? '');
    // Where s3rver's filesystem store keeps the parts of an upload (see its `initiateUpload`).
    const uploadDir = join(internals.store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    if (!/^[0-9a-f]+$/.test(uploadId) || !(await stat(uploadDir).catch(() => undefined))) {
      ctx.status = 404;
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>';
      return;
    }
    await rm(uploadDir, { recursive: true, force: true });
    ctx.status = 204;
  };
  internals.middleware.unshift(abort);
}

interface ListedObject {
  key: string;
}
interface ListResult {
  objects: ListedObject[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
interface ListOptions {
  delimiter?: string;
  prefix?: string;
  maxKeys?: number;
  startAfter?: string;
}

/**
 * s3rver 3.7's delimiter listing prunes folders two levels below the prefix before it has seen a
 * key in them, so `a/b/c.txt` alone does not make `a/` a common prefix of the root (S3 reports
 * it). This lists without the delimiter and groups the keys as S3 does.
 */
function fixDelimiterListing(server: S3rver): void {
  const store = (
    server as unknown as { store: { listObjects(bucket: string, o: ListOptions): Promise<ListResult> } }
  ).store;
  const original = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const delimiter = options.delimiter ?? '';
    if (delimiter === '') return original(bucket, options);
    const all = await original(bucket, { ...options, delimiter: '', maxKeys: Number.POSITIVE_INFINITY });
    const prefix = options.prefix ?? '';
    const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY;
    const commonPrefixes = new Set<string>();
    const objects: ListedObject[] = [];
    let isTruncated = false;
    for (const object of all.objects) {
      const index = object.key.slice(prefix.length).indexOf(delimiter);
      if (index !== -1) {
        commonPrefixes.add(object.key.slice(0, prefix.length + index + delimiter.length));
      } else if (objects.length < maxKeys) {
        objects.push(object);
      } else {
        isTruncated = true;
        break;
      }
    }
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
  };
}
