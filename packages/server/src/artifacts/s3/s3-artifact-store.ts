import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { invalidParameter, KeelError, notFound } from '@keel/core';
import type { S3Config } from '../../config.js';
import {
  type ArtifactObject,
  type ArtifactStore,
  type FileInfo,
  MAX_MULTIPART_PARTS,
  type MultipartUpload,
  type PutOptions,
  type UploadedPart,
} from '../artifact-store.js';

/** Largest object S3 accepts in one PUT; larger files of known size go up in parts. */
const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;
/** Keys one DeleteObjects call may name. */
const DELETE_BATCH = 1000;

/** Where an {@link S3ArtifactStore} keeps its objects and how it reaches them. */
export interface S3ArtifactStoreOptions extends Partial<S3Config> {
  readonly bucket: string;
  /** Key prefix every artifact path is put under (no leading or trailing slash). @default '' */
  readonly prefix?: string;
  /** Lifetime of the presigned part-upload URLs handed to clients, in seconds. @default 3600 */
  readonly presignExpiresSeconds?: number;
  /**
   * Part size for bodies of unknown length, which are sent as a multipart upload holding at most
   * `partSize × 2` bytes in memory. 8 MiB parts allow objects up to 80 GB. @default 8 MiB
   */
  readonly partSize?: number;
}

/**
 * Artifacts in an S3-compatible bucket (`s3://bucket/prefix` destinations). A body of known
 * length is streamed in one PutObject; one of unknown length (or over 5 GiB) goes through
 * `@aws-sdk/lib-storage`'s multipart Upload, a few parts in memory at a time. Reads stream the
 * object body. Multipart uploads for clients are real S3 multipart uploads with one presigned
 * `UploadPart` URL per part, as MLflow's `mpu/create` hands them out.
 *
 * Checksums are only sent where S3 requires them, so stores that predate the flexible-checksum
 * headers (older MinIO, Ceph, s3rver) accept the requests.
 *
 * @example
 * const store = new S3ArtifactStore({ bucket: 'ml', prefix: 'keel', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly uri: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly presignExpiresSeconds: number;
  private readonly partSize: number;

  constructor(options: S3ArtifactStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.uri = `s3://${this.bucket}${this.prefix === '' ? '' : `/${this.prefix}`}`;
    this.presignExpiresSeconds = options.presignExpiresSeconds ?? 3600;
    this.partSize = options.partSize ?? 8 * 1024 * 1024;
    this.client = new S3Client({
      region: options.region ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      // A copy: the SDK marks the credentials object it is given, and config hands out frozen ones.
      ...(options.credentials !== undefined ? { credentials: { ...options.credentials } } : {}),
    });
  }

  async put(path: string, body: Readable, options: PutOptions = {}): Promise<void> {
    const params = {
      Bucket: this.bucket,
      Key: this.key(path),
      ...(options.contentType !== undefined ? { ContentType: options.contentType } : {}),
    };
    // The HTTP handler pipes the body without watching it: a body that fails must abort the request.
    const aborter = new AbortController();
    const onBodyError = (error: Error) => aborter.abort(error);
    body.once('error', onBodyError);
    try {
      if (options.size !== undefined && options.size <= MAX_SINGLE_PUT_BYTES) {
        await this.client.send(new PutObjectCommand({ ...params, Body: body, ContentLength: options.size }), {
          abortSignal: aborter.signal,
        });
        return;
      }
      const upload = new Upload({
        client: this.client,
        params: { ...params, Body: body },
        partSize: Math.max(this.partSize, Math.ceil((options.size ?? 0) / MAX_MULTIPART_PARTS)),
        queueSize: 2,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (error) {
      body.destroy();
      throw s3Error(aborter.signal.aborted ? aborter.signal.reason : error, path);
    } finally {
      body.off('error', onBodyError);
    }
  }

  async get(path: string): Promise<ArtifactObject> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
      return {
        stream: out.Body as Readable,
        size: out.ContentLength ?? 0,
        ...(out.LastModified !== undefined ? { lastModified: out.LastModified } : {}),
      };
    } catch (error) {
      throw s3Error(error, path);
    }
  }

  async list(dir: string): Promise<FileInfo[]> {
    const prefix = this.folderPrefix(dir);
    const files: FileInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            Delimiter: '/',
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        );
        for (const common of page.CommonPrefixes ?? []) {
          const name = (common.Prefix ?? '').slice(prefix.length).replace(/\/$/, '');
          if (name !== '') files.push({ name, is_dir: true });
        }
        for (const object of page.Contents ?? []) {
          const name = (object.Key ?? '').slice(prefix.length);
          // `dir/` itself is a folder marker some tools create, not a file.
          if (name !== '' && !name.includes('/')) {
            files.push({ name, is_dir: false, file_size: object.Size ?? 0 });
          }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (error) {
      throw s3Error(error, dir);
    }
    return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    if (path === '') throw invalidParameter('Refusing to delete the artifact store root');
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
    } catch (error) {
      throw s3Error(error, path);
    }
    await this.deletePrefix(path);
  }

  async deletePrefix(dir: string): Promise<void> {
    if (dir === '') throw invalidParameter('Refusing to delete the artifact store root');
    const prefix = this.folderPrefix(dir);
    try {
      let token: string | undefined;
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            MaxKeys: DELETE_BATCH,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        );
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
        if (keys.length > 0) {
          const result = await this.client.send(
            new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
          );
          const failed = result.Errors?.[0];
          if (failed) {
            throw new Error(`S3 refused to delete '${failed.Key}': ${failed.Code} ${failed.Message ?? ''}`);
          }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (error) {
      throw s3Error(error, dir);
    }
  }

  async createMultipartUpload(path: string, numParts: number): Promise<MultipartUpload> {
    if (!Number.isInteger(numParts) || numParts < 1 || numParts > MAX_MULTIPART_PARTS) {
      throw invalidParameter(
        `Invalid value ${numParts} for parameter 'num_parts': expected 1 to ${MAX_MULTIPART_PARTS}`,
      );
    }
    const Key = this.key(path);
    try {
      const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
      const uploadId = created.UploadId;
      if (uploadId === undefined) throw new Error('S3 returned no UploadId');
      const credentials = [];
      for (let part = 1; part <= numParts; part += 1) {
        const url = await getSignedUrl(
          this.client,
          new UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber: part }),
          { expiresIn: this.presignExpiresSeconds },
        );
        credentials.push({ url, part_number: part, headers: {} });
      }
      return { uploadId, credentials };
    } catch (error) {
      throw s3Error(error, path);
    }
  }

  async completeMultipartUpload(
    path: string,
    uploadId: string,
    parts: readonly UploadedPart[],
  ): Promise<void> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key(path),
          UploadId: uploadId,
          MultipartUpload: {
            Parts: [...parts]
              .sort((a, b) => a.part_number - b.part_number)
              .map((p) => ({ PartNumber: p.part_number, ETag: p.etag })),
          },
        }),
      );
    } catch (error) {
      throw s3Error(error, path);
    }
  }

  async abortMultipartUpload(path: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(path), UploadId: uploadId }),
      );
    } catch (error) {
      throw s3Error(error, path);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private key(path: string): string {
    return this.prefix === '' ? path : `${this.prefix}/${path}`;
  }

  /** The key prefix of a folder: everything below it starts with this. */
  private folderPrefix(dir: string): string {
    const key = dir === '' ? this.prefix : this.key(dir);
    return key === '' ? '' : `${key}/`;
  }
}

const UNREACHABLE = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|EPIPE)$/;

/** Maps S3's answers onto the catalog; an unreachable store is 503 so clients retry. */
function s3Error(error: unknown, path: string): unknown {
  if (error instanceof KeelError) return error;
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  switch (e.name) {
    case 'NoSuchKey':
    case 'NotFound':
      return notFound(`No artifact file at '${path}'`);
    case 'NoSuchUpload':
      return notFound(`No multipart upload in progress for '${path}' with that upload_id`);
    case 'InvalidPart':
    case 'InvalidPartOrder':
    case 'EntityTooSmall':
      return invalidParameter(`Invalid value for parameter 'parts': ${(error as Error).message}`);
    case 'KeyTooLongError':
      return invalidParameter(`Invalid value for parameter 'path': artifact path '${path}' is too long`);
    default:
      break;
  }
  if (typeof e.code === 'string' && UNREACHABLE.test(e.code)) {
    return new KeelError('TEMPORARILY_UNAVAILABLE', `The artifact store is unreachable (${e.code})`, {
      cause: error,
    });
  }
  return error;
}
