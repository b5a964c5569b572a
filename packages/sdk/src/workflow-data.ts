/**
 * Local files and directories as workflow values: hashed by content and uploaded through the
 * artifact proxy to `workflows/data/<sha256>` (a directory's files below it), the layout the
 * server's engine uses for task outputs, so equal content is stored once and cache keys depend on
 * bytes, not on where a file came from. A directory's hash is the sha256 over its files' sorted
 * `"relpath\0sha256\n"` lines (POSIX relative paths; empty folders do not count).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import type { ArtifactValue, JsonValue, TypedInterface, TypeSpec } from '@keel/core';
import { ARTIFACT_PROXY_PREFIX, ArtifactLocation, joinArtifactPath } from './artifact-location.js';
import { type ArtifactTransfer, type TransferOptions, walk } from './artifact-transfer.js';
import { NotFoundError } from './errors.js';
import { keelRpc } from './keel-rpc.js';
import type { KeelRestClient } from './rest-client.js';
import { packageHash } from './workflows/bundle-workflow.js';

/** Artifact-store folder of content-addressed workflow data. */
export const WORKFLOW_DATA_PREFIX = 'workflows/data';

/** The artifact proxy's service root, whose `GET artifacts?path=` lists a folder. */
const ARTIFACT_SERVICE_PREFIX = ARTIFACT_PROXY_PREFIX.replace(/\/artifacts$/, '');

/** One file of a hashed local path. */
export interface HashedLocalFile {
  localPath: string;
  /** POSIX path relative to the hashed directory; `''` for a single file. */
  path: string;
  sha256: string;
  size: number;
}

/** What {@link hashLocalPath} found: the value's kind, content hash, total size and files. */
export interface LocalDigest {
  kind: ArtifactValue['kind'];
  sha256: string;
  size: number;
  files: HashedLocalFile[];
}

/**
 * sha256 (hex) and size of a local file, streamed.
 * @example const { sha256, size } = await hashFile('data/train.csv');
 */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Hashes a local file, or every file below a local directory and the directory as a whole.
 * @example const { kind, sha256 } = await hashLocalPath('data/images');
 */
export async function hashLocalPath(localPath: string): Promise<LocalDigest> {
  const info = await stat(localPath);
  if (!info.isDirectory()) {
    const { sha256, size } = await hashFile(localPath);
    return { kind: 'file', sha256, size, files: [{ localPath, path: '', sha256, size }] };
  }
  const files: HashedLocalFile[] = [];
  for (const file of await walk(localPath)) {
    const path = relative(localPath, file.path).split(sep).join('/');
    files.push({ localPath: file.path, path, ...(await hashFile(file.path)) });
  }
  return {
    kind: 'directory',
    sha256: packageHash(files),
    size: files.reduce((sum, f) => sum + f.size, 0),
    files,
  };
}

/**
 * Uploads local files and directories content-addressed below a prefix of the artifact store,
 * through the server's artifact proxy. Content already stored (same path and size) is not sent
 * again. Used by `keel.executions.launch` for file inputs.
 *
 * @example
 * const value = await uploader.upload('data/train.csv');
 * // { $artifact: 'workflows/data/3a7b…', sha256: '3a7b…', kind: 'file', size: 1024 }
 */
export class ContentUploader {
  constructor(
    private readonly rest: KeelRestClient,
    private readonly transfer: ArtifactTransfer,
    /** Folder of the artifact store the content goes below. @default 'workflows/data' */
    private readonly prefix: string = WORKFLOW_DATA_PREFIX,
  ) {}

  /** Uploads a local file or directory (see the class) and returns its value. */
  async upload(localPath: string, options: TransferOptions = {}): Promise<ArtifactValue> {
    const digest = await hashLocalPath(localPath);
    const root = joinArtifactPath(this.prefix, digest.sha256);
    const location = ArtifactLocation.parse(`mlflow-artifacts:/${root}`, this.rest.options.trackingUri);
    const stored = await this.storedSizes(root, digest.kind);
    const missing = digest.files
      .filter((f) => stored.get(f.path) !== f.size)
      .map((f) => ({ localPath: f.localPath, artifactPath: f.path, size: f.size }));
    if (missing.length > 0) await this.transfer.uploadFilesTo(location, missing, options);
    return { $artifact: root, sha256: digest.sha256, kind: digest.kind, size: digest.size };
  }

  /** Sizes of what is stored at `root` by relative path (`''` for a file), empty when nothing is. */
  private async storedSizes(root: string, kind: ArtifactValue['kind']): Promise<Map<string, number>> {
    if (kind === 'file') {
      const size = await this.storedFileSize(root);
      return new Map(size === undefined ? [] : [['', size]]);
    }
    const sizes = new Map<string, number>();
    const visit = async (dir: string): Promise<void> => {
      const { files } = await keelRpc<{ files?: { path: string; is_dir: boolean; file_size?: number }[] }>(
        this.rest,
        ARTIFACT_SERVICE_PREFIX,
        'GET',
        'artifacts',
        { path: joinArtifactPath(root, dir) },
      ).catch((error: unknown) => {
        if (error instanceof NotFoundError) return { files: [] };
        throw error;
      });
      for (const entry of files ?? []) {
        const rel = joinArtifactPath(dir, entry.path.split('/').pop());
        if (entry.is_dir) await visit(rel);
        else sizes.set(rel, entry.file_size ?? -1);
      }
    };
    await visit('');
    return sizes;
  }

  /** The stored file's size from the headers of a GET whose body is not read. */
  private async storedFileSize(path: string): Promise<number | undefined> {
    const location = ArtifactLocation.parse(`mlflow-artifacts:/${path}`, this.rest.options.trackingUri);
    try {
      const { response, done } = await this.rest.request({
        method: 'GET',
        url: location.urlOf(''),
        headers: { accept: '*/*' },
      });
      done();
      await response.body?.cancel();
      const length = Number(response.headers.get('content-length') ?? Number.NaN);
      return Number.isSafeInteger(length) ? length : undefined;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }
}

/**
 * A launch's inputs with every local path at a `file`, `dataset` or `directory` position of the
 * interface (inside arrays, records and optionals too) uploaded by `upload` and replaced by its
 * value. Strings that are URIs (`runs:/…`, `mlflow-artifacts:/…`, `s3://…`) or that name nothing
 * on the local disk are left for the server to resolve; every other value is sent as it is.
 *
 * @example
 * await uploadLocalInputs(iface, { data: './train.csv', alpha: 0.1 }, (p) => uploader.upload(p));
 * // { data: { $artifact: 'workflows/data/…', sha256: '…', kind: 'file', size: 120 }, alpha: 0.1 }
 */
export async function uploadLocalInputs(
  iface: TypedInterface,
  inputs: Readonly<Record<string, unknown>>,
  upload: (localPath: string) => Promise<ArtifactValue>,
): Promise<Record<string, JsonValue>> {
  const out: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(inputs)) {
    if (value === undefined) continue;
    const type = iface.inputs[name];
    out[name] = (type === undefined ? value : await resolveValue(type, value, upload)) as JsonValue;
  }
  return out;
}

/**
 * True when some string inside `value` could be a local path (it names an existing file or
 * folder and is not a URI): only then does a launch need the workflow's interface.
 */
export async function mentionsLocalPath(value: unknown): Promise<boolean> {
  if (typeof value === 'string') return (await localKind(value)) !== undefined;
  if (Array.isArray(value)) {
    for (const item of value) if (await mentionsLocalPath(item)) return true;
    return false;
  }
  if (typeof value === 'object' && value !== null) return mentionsLocalPath(Object.values(value));
  return false;
}

async function resolveValue(
  type: TypeSpec,
  value: unknown,
  upload: (localPath: string) => Promise<ArtifactValue>,
): Promise<unknown> {
  switch (type.type) {
    case 'file':
    case 'dataset':
    case 'directory': {
      if (typeof value !== 'string') return value;
      return (await localKind(value)) === undefined ? value : upload(value);
    }
    case 'optional':
      return value === null ? value : resolveValue(type.of, value, upload);
    case 'array': {
      if (!Array.isArray(value)) return value;
      const items: unknown[] = [];
      for (const item of value) items.push(await resolveValue(type.items, item, upload));
      return items;
    }
    case 'record': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
      const record: Record<string, unknown> = {};
      for (const [field, item] of Object.entries(value)) {
        const fieldType = type.fields[field];
        record[field] = fieldType === undefined ? item : await resolveValue(fieldType, item, upload);
      }
      return record;
    }
    default:
      return value;
  }
}

/** What a string names on the local disk, if it is not a URI: a file, a directory or nothing. */
async function localKind(text: string): Promise<ArtifactValue['kind'] | undefined> {
  // `C:\…` is a Windows path, not a URI with scheme `c`.
  if (text === '' || /^[A-Za-z][A-Za-z0-9+.-]+:/.test(text)) return undefined;
  const info = await stat(text).catch(() => undefined);
  if (info === undefined) return undefined;
  return info.isDirectory() ? 'directory' : info.isFile() ? 'file' : undefined;
}
