import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { FileInfo } from '@keel/core';
import { type ArtifactLocation, joinArtifactPath, splitArtifactPath } from './artifact-location.js';
import { KeelConnectionError } from './errors.js';
import { mapLimit } from './map-limit.js';
import type { KeelRestClient } from './rest-client.js';

/** Progress of a transfer, reported per chunk and per finished file. */
export interface TransferProgress {
  /** The artifact path (relative to the run's root) of the file this event is about. */
  path: string;
  /** Bytes of that file transferred so far (restarts at 0 if the file is retried). */
  bytes: number;
  /** Size of that file, when known. */
  totalBytes?: number;
  /** Files finished so far in this call. */
  filesDone: number;
  /** Files this call transfers. */
  filesTotal: number;
}

/**
 * Options of the artifact upload and download methods.
 * @example await keel.uploadArtifacts(runId, 'out', 'model', { concurrency: 8, onProgress: (p) => console.log(p.path, p.bytes) });
 */
export interface TransferOptions {
  /** Files transferred at the same time. @default 4 */
  concurrency?: number;
  /**
   * Called as bytes move (about every 64 KiB) and when each file is finished. For a total over
   * many files, keep the latest `bytes` per `path` and add them up.
   */
  onProgress?: (progress: TransferProgress) => void;
}

/** Files transferred at the same time when {@link TransferOptions.concurrency} is not given. */
export const DEFAULT_TRANSFER_CONCURRENCY = 4;

/** What the transfer needs from the client: HTTP, the run's artifact root, and listing. */
export interface ArtifactTransferDeps {
  rest: KeelRestClient;
  locationOf(runId: string): Promise<ArtifactLocation>;
  list(runId: string, path: string | undefined): Promise<FileInfo[]>;
}

interface PlannedFile {
  /** Artifact path relative to the run's root. */
  artifactPath: string;
  localPath: string;
  size?: number | undefined;
}

/**
 * Streams files between the local disk and a run's artifacts through the server's artifact
 * proxy (`PUT`/`GET /api/2.0/mlflow-artifacts/artifacts/<path>`), a few at a time. Files are
 * never read whole into memory; downloads land in a temporary file renamed into place when
 * complete. Used by `KeelClient`'s artifact methods.
 *
 * @example
 * const transfer = new ArtifactTransfer({ rest, locationOf, list });
 * await transfer.uploadFile(runId, './model.onnx', 'model');
 */
export class ArtifactTransfer {
  constructor(private readonly deps: ArtifactTransferDeps) {}

  /** Uploads one file to `<artifactPath>/<basename>`. */
  async uploadFile(
    runId: string,
    localFile: string,
    artifactPath: string | undefined,
    options: TransferOptions = {},
  ): Promise<void> {
    const info = await stat(localFile);
    if (!info.isFile()) {
      throw new TypeError(`'${localFile}' is not a file: use uploadArtifacts() for a directory`);
    }
    const file = {
      artifactPath: joinArtifactPath(artifactPath, basename(localFile)),
      localPath: localFile,
      size: info.size,
    };
    const location = await this.deps.locationOf(runId);
    await this.run([file], options, (f, progress) => this.put(location, f, progress));
  }

  /** Uploads the contents of a folder (recursively) below `artifactPath`. */
  async uploadDirectory(
    runId: string,
    localDir: string,
    artifactPath: string | undefined,
    options: TransferOptions = {},
  ): Promise<void> {
    const info = await stat(localDir);
    if (!info.isDirectory()) throw new TypeError(`'${localDir}' is not a directory`);
    const files = (await walk(localDir)).map((f) => ({
      artifactPath: joinArtifactPath(artifactPath, relative(localDir, f.path).split(sep).join('/')),
      localPath: f.path,
      size: f.size,
    }));
    if (files.length === 0) return;
    const location = await this.deps.locationOf(runId);
    await this.run(files, options, (f, progress) => this.put(location, f, progress));
  }

  /**
   * Uploads local files to paths relative to `location`, an artifact-store folder not tied to a
   * run (e.g. content-addressed workflow data); `''` as a file's path uploads to `location` itself.
   */
  async uploadFilesTo(
    location: ArtifactLocation,
    files: readonly { localPath: string; artifactPath: string; size?: number }[],
    options: TransferOptions = {},
  ): Promise<void> {
    await this.run(files, options, (f, progress) => this.put(location, f, progress));
  }

  /**
   * Downloads a file or a folder (recursively) to `<destDir>/<artifactPath>` and returns that
   * local path. A path that lists as a non-empty folder is a folder; otherwise it is fetched as
   * a file (the run's root, `''`, is always a folder).
   */
  async download(
    runId: string,
    artifactPath: string,
    destDir: string,
    options: TransferOptions = {},
  ): Promise<string> {
    const path = joinArtifactPath(artifactPath);
    const dest = resolve(destDir);
    const entries = await this.deps.list(runId, path === '' ? undefined : path);
    const isFile =
      path !== '' &&
      (entries.length === 0 || (entries.length === 1 && !entries[0]?.is_dir && entries[0]?.path === path));
    const remote: { path: string; size?: number | undefined }[] = isFile
      ? [{ path, size: entries[0]?.file_size }]
      : await this.listFiles(runId, path, entries);
    const files = remote.map((f) => ({
      artifactPath: f.path,
      localPath: localPathOf(dest, f.path),
      size: f.size,
    }));
    const target = path === '' ? dest : localPathOf(dest, path);
    if (!isFile) await mkdir(target, { recursive: true });
    const location = await this.deps.locationOf(runId);
    await this.run(files, options, (f, progress) => this.get(location, f, progress));
    return target;
  }

  /** Every file below a folder, listing sub-folders breadth first; also creates empty folders' paths. */
  private async listFiles(runId: string, root: string, rootEntries: FileInfo[]) {
    const files: { path: string; size?: number | undefined }[] = [];
    const queue: { parent: string; entries: FileInfo[] }[] = [{ parent: root, entries: rootEntries }];
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      for (const entry of item.entries) {
        // `artifacts/list` answers paths relative to the run's root; a server answering basenames
        // (like the proxy's own listing) is read the same way.
        const full =
          item.parent === '' || entry.path.startsWith(`${item.parent}/`)
            ? joinArtifactPath(entry.path)
            : joinArtifactPath(item.parent, entry.path);
        if (entry.is_dir) queue.push({ parent: full, entries: await this.deps.list(runId, full) });
        else files.push({ path: full, size: entry.file_size });
      }
    }
    return files;
  }

  private async run(
    files: readonly PlannedFile[],
    options: TransferOptions,
    transfer: (file: PlannedFile, progress: (bytes: number) => void) => Promise<void>,
  ): Promise<void> {
    const filesTotal = files.length;
    let filesDone = 0;
    const report = options.onProgress;
    await mapLimit(files, options.concurrency ?? DEFAULT_TRANSFER_CONCURRENCY, async (file) => {
      let bytes = 0;
      const emit = () =>
        report?.({
          path: file.artifactPath,
          bytes,
          ...(file.size === undefined ? {} : { totalBytes: file.size }),
          filesDone,
          filesTotal,
        });
      await transfer(file, (n) => {
        bytes = n;
        emit();
      });
      filesDone += 1;
      emit();
    });
  }

  private async put(location: ArtifactLocation, file: PlannedFile, progress: (bytes: number) => void) {
    let readError: unknown;
    const { response, done } = await this.deps.rest.request({
      method: 'PUT',
      url: location.urlOf(file.artifactPath),
      headers: { 'content-type': 'application/octet-stream' },
      localError: () => readError,
      body: (touch) => {
        readError = undefined;
        progress(0);
        if (file.size === 0) return new Uint8Array(0);
        let sent = 0;
        const stream = createReadStream(file.localPath);
        stream.on('error', (error) => {
          readError = error;
        });
        // A second 'data' listener only observes: Readable.toWeb's own listener still pauses
        // the file stream when the socket pushes back.
        stream.on('data', (chunk: Buffer | string) => {
          sent += chunk.length;
          touch();
          progress(sent);
        });
        return Readable.toWeb(stream) as ReadableStream<Uint8Array>;
      },
    });
    try {
      await response.arrayBuffer();
    } finally {
      done();
    }
  }

  private async get(location: ArtifactLocation, file: PlannedFile, progress: (bytes: number) => void) {
    const url = location.urlOf(file.artifactPath);
    const { response, touch, done } = await this.deps.rest.request({
      method: 'GET',
      url,
      headers: { accept: '*/*' },
    });
    if (file.size === undefined) {
      const length = Number(response.headers.get('content-length') ?? Number.NaN);
      if (Number.isSafeInteger(length)) file.size = length;
    }
    await mkdir(dirname(file.localPath), { recursive: true });
    const partial = `${file.localPath}.${randomBytes(6).toString('hex')}.partial`;
    let received = 0;
    progress(0);
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        touch();
        progress(received);
        callback(null, chunk);
      },
    });
    try {
      const body = response.body
        ? Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>)
        : Readable.from([]);
      await pipeline(body, counter, createWriteStream(partial));
      await rename(partial, file.localPath);
    } catch (error) {
      await rm(partial, { force: true });
      if (isLocalFsError(error)) throw error;
      throw new KeelConnectionError(url, `GET ${url}: download interrupted (${describe(error)})`, {
        cause: error,
      });
    } finally {
      done();
    }
  }
}

/** The local path of an artifact below `dest`; refuses paths that would land outside it. */
function localPathOf(dest: string, artifactPath: string): string {
  const local = resolve(dest, ...splitArtifactPath(artifactPath));
  if (local !== dest && !local.startsWith(dest.endsWith(sep) ? dest : `${dest}${sep}`)) {
    throw new RangeError(`Artifact path '${artifactPath}' would be written outside '${dest}'`);
  }
  return local;
}

/** Regular files below a folder (following symlinks to files, not to folders), sorted by path. */
export async function walk(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  const visit = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        await visit(path);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        const info = await stat(path).catch(() => undefined);
        if (info?.isFile()) out.push({ path, size: info.size });
      }
    }
  };
  await visit(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function isLocalFsError(error: unknown): boolean {
  return typeof (error as { syscall?: unknown } | undefined)?.syscall === 'string';
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return error.message;
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
}
