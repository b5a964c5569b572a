import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { invalidParameter, notFound } from '@keel/core';
import {
  type ArtifactObject,
  type ArtifactStore,
  type FileInfo,
  type MultipartUpload,
  multipartNotSupported,
  type PutOptions,
} from '../artifact-store.js';

/** Files being written are named `.keel-upload-<random>` next to their target; listings hide them. */
const TEMP_PREFIX = '.keel-upload-';
/** Read chunk size: large enough for few system calls, small enough to keep memory flat. */
const READ_CHUNK_BYTES = 256 * 1024;
// Windows has no O_NOFOLLOW; the real-path checks still apply there.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * Artifacts in a folder on disk (`file://…` destinations). Paths are joined under the root
 * after `validateArtifactPath`; on top of that every existing component is checked with
 * `lstat`, and a symbolic link is followed only when its real path stays inside the root's real
 * path (one pointing outside is refused with INVALID_PARAMETER_VALUE). Files are opened with
 * O_NOFOLLOW, and written to a temporary file that is renamed into place, so readers never see a
 * half-written file and an interrupted upload leaves nothing behind. Multipart uploads answer
 * NOT_IMPLEMENTED, as MLflow's local store does; clients then PUT the whole file.
 *
 * @example
 * const store = new LocalArtifactStore('/data/keel/artifacts');
 * await store.put('1/abc/artifacts/model.onnx', createReadStream('model.onnx'));
 */
export class LocalArtifactStore implements ArtifactStore {
  readonly uri: string;
  private readonly root: string;
  private rootReal: string | undefined;

  /** @param root the folder holding the artifacts; created on first use. */
  constructor(root: string) {
    this.root = resolve(root);
    this.uri = pathToFileURL(this.root).href;
  }

  async put(path: string, body: Readable, _options: PutOptions = {}): Promise<void> {
    const root = (await this.realRoot(true)) as string;
    const target = await this.locate(root, path);
    const parent = dirname(target);
    try {
      await mkdir(parent, { recursive: true });
    } catch (error) {
      throw fsError(error, path);
    }
    // Re-checked after mkdir: a component may have been swapped for a link meanwhile.
    const realParent = await realpath(parent);
    if (!isInside(root, realParent)) throw outside(path);
    const temp = join(realParent, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      const handle = await open(
        temp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
        0o644,
      );
      await pipeline(body, handle.createWriteStream());
      await rename(temp, join(realParent, basename(target)));
    } catch (error) {
      await rm(temp, { force: true });
      throw fsError(error, path);
    }
  }

  async get(path: string): Promise<ArtifactObject> {
    const root = await this.realRoot();
    if (root === undefined) throw notFound(`No artifact file at '${path}'`);
    const target = await this.locate(root, path);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(target, constants.O_RDONLY | O_NOFOLLOW);
    } catch (error) {
      throw fsError(error, path);
    }
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw notFound(`No artifact file at '${path}'`);
    }
    return {
      stream: handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES }),
      size: info.size,
      lastModified: info.mtime,
    };
  }

  async list(dir: string): Promise<FileInfo[]> {
    const root = await this.realRoot();
    if (root === undefined) return [];
    const folder = await this.locate(root, dir);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw fsError(error, dir);
    }
    const files: FileInfo[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const full = join(folder, entry.name);
      try {
        let target = full;
        if (entry.isSymbolicLink()) {
          target = await realpath(full);
          // A link leading out of the store is not part of it.
          if (!isInside(root, target)) continue;
        }
        const info = await stat(target);
        if (info.isDirectory()) files.push({ name: entry.name, is_dir: true });
        else if (info.isFile()) files.push({ name: entry.name, is_dir: false, file_size: info.size });
      } catch {
        // Removed while listing, or a dangling link: not listed.
      }
    }
    return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    if (path === '') throw invalidParameter('Refusing to delete the artifact store root');
    const root = await this.realRoot();
    if (root === undefined) return;
    const slash = path.lastIndexOf('/');
    const parent = await this.locate(root, slash === -1 ? '' : path.slice(0, slash));
    const entry = join(parent, path.slice(slash + 1));
    let info: Awaited<ReturnType<typeof lstat>>;
    try {
      info = await lstat(entry);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw fsError(error, path);
    }
    if (info.isSymbolicLink()) {
      const target = await realpath(entry).catch(() => undefined);
      if (target === undefined || !isInside(root, target)) throw outside(path);
    }
    // rm never follows a link: deleting one removes the link, not what it points to.
    await rm(entry, { recursive: true, force: true });
  }

  async deletePrefix(dir: string): Promise<void> {
    await this.delete(dir);
  }

  async createMultipartUpload(): Promise<MultipartUpload> {
    throw multipartNotSupported();
  }

  async completeMultipartUpload(): Promise<void> {
    throw multipartNotSupported();
  }

  async abortMultipartUpload(): Promise<void> {
    throw multipartNotSupported();
  }

  async close(): Promise<void> {}

  /**
   * The root's real path. Writers create the folder; readers get `undefined` while it does not
   * exist (an empty store), so reading or collecting garbage never creates folders.
   */
  private async realRoot(create = false): Promise<string | undefined> {
    if (this.rootReal) return this.rootReal;
    if (create) await mkdir(this.root, { recursive: true });
    try {
      this.rootReal = await realpath(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !create) return undefined;
      throw error;
    }
    return this.rootReal;
  }

  /**
   * The real location of `path`: each existing component is checked with lstat, and links are
   * followed only while they stay inside the root. Components that do not exist yet are
   * appended as they are.
   */
  private async locate(root: string, path: string): Promise<string> {
    if (path === '') return root;
    const segments = path.split('/');
    let current = root;
    for (let i = 0; i < segments.length; i += 1) {
      const next = join(current, segments[i] as string);
      let info: Awaited<ReturnType<typeof lstat>>;
      try {
        info = await lstat(next);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return join(next, ...segments.slice(i + 1));
        throw fsError(error, path);
      }
      if (info.isSymbolicLink()) {
        const target = await realpath(next).catch(() => undefined);
        if (target === undefined || !isInside(root, target)) throw outside(path);
        current = target;
      } else {
        current = next;
      }
    }
    return current;
  }
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(sep) ? root : root + sep);
}

function outside(path: string) {
  return invalidParameter(
    `Invalid value for parameter 'path': artifact path '${path}' leads outside the artifact store (symbolic link)`,
  );
}

/** Turns file-system errors a request can cause into catalog errors; anything else stays a 500. */
function fsError(error: unknown, path: string): unknown {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return notFound(`No artifact file at '${path}'`);
    case 'ELOOP':
      return outside(path);
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
    case 'ENOTEMPTY':
      return invalidParameter(
        `Invalid value for parameter 'path': artifact path '${path}' conflicts with an existing file or folder`,
      );
    case 'ENAMETOOLONG':
      return invalidParameter(`Invalid value for parameter 'path': artifact path '${path}' is too long`);
    default:
      return error;
  }
}
