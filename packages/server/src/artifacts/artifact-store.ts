import type { Readable } from 'node:stream';
import { KeelError } from '@keel/core';

/** One entry of a folder listing (MLflow's FileInfo, with the entry's own name). */
export interface FileInfo {
  /** The entry's name within the listed folder (no slashes). */
  readonly name: string;
  readonly is_dir: boolean;
  /** Size in bytes; absent for folders. */
  readonly file_size?: number;
}

/** What a writer knows about the body it hands to {@link ArtifactStore.put}. */
export interface PutOptions {
  /** Exact length in bytes when known (lets S3 stream one PUT instead of buffering parts). */
  size?: number;
  /** Stored with the object where the backend keeps one (S3). */
  contentType?: string;
}

/** A stored file opened for reading. */
export interface ArtifactObject {
  /** The bytes; the caller must consume or destroy it. */
  readonly stream: Readable;
  readonly size: number;
  readonly lastModified?: Date;
}

/** One presigned URL a client PUTs a part to (MLflow's `MultipartUploadCredential`). */
export interface MultipartCredential {
  readonly url: string;
  readonly part_number: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** The answer to {@link ArtifactStore.createMultipartUpload} (MLflow's `CreateMultipartUpload.Response`). */
export interface MultipartUpload {
  readonly uploadId: string;
  readonly credentials: readonly MultipartCredential[];
}

/** One uploaded part, as the client reports it back on completion. */
export interface UploadedPart {
  readonly part_number: number;
  readonly etag: string;
}

/** Most parts one multipart upload may have (S3's limit). */
export const MAX_MULTIPART_PARTS = 10_000;

/**
 * Where artifact files live. Every path is a relative POSIX path already checked by
 * `validateArtifactPath` (`''` is the root for `list`); stores join it under their own root and
 * must keep it there. Everything streams: no operation holds a whole file in memory.
 *
 * Implementations: `local/` (a folder on disk) and `s3/` (an S3-compatible bucket), chosen by
 * `openArtifactStore`. Both run the same suite (`artifact-store.test.ts`).
 */
export interface ArtifactStore {
  /** The destination URI this store serves, e.g. `file:///data/artifacts` or `s3://bucket/prefix`. */
  readonly uri: string;
  /** Writes a file from a stream, replacing any file at `path`; readers never see a half-written file. */
  put(path: string, body: Readable, options?: PutOptions): Promise<void>;
  /** Opens a file for reading; RESOURCE_DOES_NOT_EXIST when there is no file at `path`. */
  get(path: string): Promise<ArtifactObject>;
  /** One level of a folder, sorted by name; empty when `dir` is missing or a file. */
  list(dir: string): Promise<FileInfo[]>;
  /** Deletes the file at `path`, or the folder at `path` with everything below it; absent is fine. */
  delete(path: string): Promise<void>;
  /** Deletes everything below the folder `dir` (garbage collection of a run or experiment). */
  deletePrefix(dir: string): Promise<void>;
  /**
   * Starts a multipart upload of `numParts` parts to `path` and returns one presigned URL per
   * part. Stores that cannot do this throw {@link multipartNotSupported} (501), and clients fall
   * back to a single PUT, as with MLflow.
   */
  createMultipartUpload(path: string, numParts: number): Promise<MultipartUpload>;
  /** Assembles the uploaded parts into the file at `path`. */
  completeMultipartUpload(path: string, uploadId: string, parts: readonly UploadedPart[]): Promise<void>;
  /** Discards an unfinished multipart upload and its parts. */
  abortMultipartUpload(path: string, uploadId: string): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * NOT_IMPLEMENTED (501) with the message MLflow's clients look for (they match its start) before
 * falling back to a plain PUT.
 */
export function multipartNotSupported(): KeelError {
  return new KeelError(
    'NOT_IMPLEMENTED',
    'Multipart upload is not supported for the current artifact repository',
  );
}
