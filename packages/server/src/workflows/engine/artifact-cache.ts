/**
 * A local, content-addressed copy of artifact-store values: code packages and file inputs are
 * downloaded once per machine, checked against their sha256, and reused by every later attempt.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArtifactValue } from '@keel/core';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import { ArtifactIntegrityError, downloadArtifact } from './artifact-values.js';
import type { CodeRef } from './executor.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Downloads values into `<root>/<kind>/<sha256>` (`file/…` or `directory/…`; a code package is a
 * directory). A download goes to `<root>/tmp/` first and is renamed into place only once its hash
 * matches, so what is in the cache is always complete and verified; concurrent requests for the
 * same value share one download. Entries are never changed: callers copy before modifying.
 *
 * @example
 * const cache = new ArtifactCache(store, '/var/lib/keel/workflow-cache');
 * const dir = await cache.codePackage({ path: 'workflows/code/ab…', sha256: 'ab…' }); // …/directory/ab…
 */
export class ArtifactCache {
  readonly #store: ArtifactStore;
  readonly #root: string;
  readonly #inFlight = new Map<string, Promise<string>>();
  /** Code packages known to be in the cache: few, and asked for on every attempt. */
  readonly #packages = new Map<string, string>();

  /** @param root local folder of the cache; created on first use. */
  constructor(store: ArtifactStore, root: string) {
    this.#store = store;
    this.#root = root;
  }

  /**
   * The local path of `value`'s content, downloading it when it is not cached yet.
   * @throws ArtifactIntegrityError when the stored content does not match `value.sha256`.
   */
  fetch(value: ArtifactValue): Promise<string> {
    if (!SHA256_HEX.test(value.sha256)) {
      return Promise.reject(
        new ArtifactIntegrityError(`Artifact '${value.$artifact}' has an invalid sha256 '${value.sha256}'`),
      );
    }
    const local = join(this.#root, value.kind, value.sha256);
    let pending = this.#inFlight.get(local);
    if (pending === undefined) {
      pending = this.#download(value, local).finally(() => this.#inFlight.delete(local));
      this.#inFlight.set(local, pending);
    }
    return pending;
  }

  /**
   * The local folder of a code package (holding `bundle.mjs`); see {@link fetch}. Remembered in
   * memory once cached, so later attempts do not touch the disk.
   */
  async codePackage(code: CodeRef): Promise<string> {
    const known = this.#packages.get(code.sha256);
    if (known !== undefined) return known;
    const local = await this.fetch({ $artifact: code.path, sha256: code.sha256, kind: 'directory' });
    this.#packages.set(code.sha256, local);
    return local;
  }

  async #download(value: ArtifactValue, local: string): Promise<string> {
    if (await exists(local)) return local;
    const temp = join(this.#root, 'tmp', randomBytes(8).toString('hex'));
    await mkdir(dirname(temp), { recursive: true });
    await downloadArtifact(this.#store, value, temp);
    await mkdir(dirname(local), { recursive: true });
    try {
      await rename(temp, local);
    } catch (error) {
      // Another process cached the same content first; its copy is as good as ours.
      const code = (error as NodeJS.ErrnoException).code;
      await rm(temp, { recursive: true, force: true });
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
    return local;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
