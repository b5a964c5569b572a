import type { Readable } from 'node:stream';
import { invalidParameter, KeelError } from '@keel/core';
import { joinArtifactPath, validateArtifactPath } from '../artifacts/artifact-path.js';
import type {
  ArtifactObject,
  ArtifactStore,
  FileInfo,
  MultipartUpload,
  PutOptions,
  UploadedPart,
} from '../artifacts/artifact-store.js';
import { proxiedArtifactPath } from '../artifacts/proxied-uri.js';
import { isRegistryStoragePath } from './registry/registry-storage.js';
import type { RunService } from './tracking/run-service.js';

/** Largest body the web UI's `upload-artifact` route accepts, as in MLflow. */
export const MAX_UI_UPLOAD_BYTES = 10 * 1024 * 1024;

/** A listing entry of a run's artifacts: `path` is relative to the run's artifact root. */
export interface RunFileInfo {
  readonly path: string;
  readonly is_dir: boolean;
  readonly file_size?: number;
}

/** Everything the artifact service needs. */
export interface ArtifactServiceOptions {
  store: ArtifactStore;
  runs: RunService;
}

/**
 * The rules of artifacts: the proxy's operations on store paths (MLflow's `mlflow-artifacts`
 * service) and the run-scoped ones (`artifacts/list`, `get-artifact`, `upload-artifact`), which
 * resolve a run's `mlflow-artifacts:/<exp>/<run>/artifacts` URI to the store path
 * `<exp>/<run>/artifacts`. Runs with any other artifact URI are not served here
 * (INVALID_PARAMETER_VALUE). Paths arrive validated by `validateArtifactPath` at the route.
 */
export class ArtifactService {
  constructor(private readonly options: ArtifactServiceOptions) {}

  /** The destination URI of the store, e.g. for logs and docs. */
  get destination(): string {
    return this.options.store.uri;
  }

  /** Streams a file into the store (proxy PUT). */
  async upload(path: string, body: Readable, options: PutOptions = {}): Promise<void> {
    await this.options.store.put(writable(path), body, options);
  }

  /** Opens a file of the store (proxy GET). */
  download(path: string): Promise<ArtifactObject> {
    return this.options.store.get(path);
  }

  /** One level of a folder of the store (proxy listing). */
  list(dir: string): Promise<FileInfo[]> {
    return this.options.store.list(dir);
  }

  /** Deletes a file or a folder of the store (proxy DELETE); the store root cannot be deleted. */
  async delete(path: string): Promise<void> {
    if (path === '')
      throw invalidParameter("Invalid value for parameter 'path': the artifact root cannot be deleted");
    await this.options.store.delete(writable(path));
  }

  /**
   * Starts a multipart upload. As in MLflow, the URL names the destination folder and `localFile`
   * is the client's own file path, whose last segment becomes the artifact's name.
   */
  createMultipartUpload(dir: string, localFile: string, numParts: number): Promise<MultipartUpload> {
    // The part count is the store's to check: a store without multipart answers 501 whatever it is.
    return this.options.store.createMultipartUpload(this.multipartTarget(dir, localFile), numParts);
  }

  /** Completes a multipart upload started by {@link createMultipartUpload}. */
  completeMultipartUpload(
    dir: string,
    localFile: string,
    uploadId: string,
    parts: readonly UploadedPart[],
  ): Promise<void> {
    if (parts.length === 0) throw invalidParameter("Missing value for required parameter 'parts'.");
    return this.options.store.completeMultipartUpload(this.multipartTarget(dir, localFile), uploadId, parts);
  }

  /** Aborts a multipart upload started by {@link createMultipartUpload}. */
  abortMultipartUpload(dir: string, localFile: string, uploadId: string): Promise<void> {
    return this.options.store.abortMultipartUpload(this.multipartTarget(dir, localFile), uploadId);
  }

  /**
   * Lists a folder of a run's artifacts (`artifacts/list`): paths relative to the run's root,
   * plus the run's artifact URI as `root_uri`.
   */
  async listRunArtifacts(runId: string, path: string): Promise<{ rootUri: string; files: RunFileInfo[] }> {
    const run = await this.options.runs.requireRun(runId);
    return this.listUnder(run.artifact_uri, path, `Run ${runId}`);
  }

  /**
   * Lists a folder below an artifact URI (a run's, a logged model's): paths relative to it, plus
   * the URI as `root_uri`. `owner` names what the URI belongs to in the error when the URI is
   * not one this server proxies.
   */
  async listUnder(
    rootUri: string,
    path: string,
    owner: string,
  ): Promise<{ rootUri: string; files: RunFileInfo[] }> {
    const entries = await this.options.store.list(joinArtifactPath(servedRoot(rootUri, owner), path));
    return {
      rootUri,
      files: entries.map((entry) => ({
        path: joinArtifactPath(path, entry.name),
        is_dir: entry.is_dir,
        ...(entry.file_size !== undefined ? { file_size: entry.file_size } : {}),
      })),
    };
  }

  /** Opens one file of a run's artifacts (`/get-artifact`). */
  async openRunArtifact(runId: string, path: string): Promise<ArtifactObject> {
    const run = await this.options.runs.requireRun(runId);
    return this.openUnder(run.artifact_uri, path, `Run ${runId}`);
  }

  /** Opens one file below an artifact URI (see {@link listUnder}). */
  openUnder(rootUri: string, path: string, owner: string): Promise<ArtifactObject> {
    return this.options.store.get(joinArtifactPath(servedRoot(rootUri, owner), path));
  }

  /** Writes one file into a run's artifacts (the web UI's `upload-artifact`). */
  async uploadRunArtifact(
    runId: string,
    path: string,
    body: Readable,
    options: PutOptions = {},
  ): Promise<void> {
    const run = await this.options.runs.requireRun(runId);
    const root = servedRoot(run.artifact_uri, `Run ${runId}`);
    await this.options.store.put(writable(joinArtifactPath(root, path)), body, options);
  }

  private multipartTarget(dir: string, localFile: string): string {
    // The client's path may be a Windows one: its last segment after either separator is the name.
    const name = localFile.split(/[\\/]/).pop() ?? '';
    return writable(joinArtifactPath(dir, validateArtifactPath(name, { field: 'path' })));
  }
}

/** The store path an `mlflow-artifacts:` URI maps to; other URIs are not served here. */
function servedRoot(rootUri: string, owner: string): string {
  const root = proxiedArtifactPath(rootUri);
  if (root === undefined) {
    throw invalidParameter(
      `${owner} stores its artifacts at '${rootUri}', which this server does not serve; only 'mlflow-artifacts:' URIs are proxied`,
    );
  }
  return root;
}

/**
 * Registered model versions are immutable: their copies in registry storage can be read through
 * the proxy but never written or deleted (only the registry service does that).
 */
function writable(path: string): string {
  if (isRegistryStoragePath(path)) {
    throw new KeelError(
      'PERMISSION_DENIED',
      `Artifact path '${path}' belongs to a registered model version, which is immutable`,
    );
  }
  return path;
}
