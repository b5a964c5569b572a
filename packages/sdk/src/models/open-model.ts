/**
 * Loading a model by URI or path: fetch its directory when it lives on the server, then load it
 * with the model runtime.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { TransferOptions } from '../artifact-transfer.js';
import type { KeelClient } from '../keel-client.js';
import { downloadModel, localModelPath } from './download-model.js';
import { type LoadedModel, type ModelRuntimeOptions, openModelDirectory } from './local-model.js';

/**
 * Options of `loadModel` and `KeelClient.loadModel`.
 * @example { dstPath: '/var/cache/models/churn', runtime: { workers: 1 } }
 */
export interface LoadModelOptions {
  /**
   * Where a `runs:/` or `models:/` model is downloaded (kept after `close()`).
   * @default a fresh temporary folder, removed by `close()`
   */
  dstPath?: string;
  /** Download concurrency and progress. @default 4 files at a time, no progress */
  transfer?: TransferOptions;
  /** Options for the model runtime (`workers`, `intraOpNumThreads`, `name`…). @default {} */
  runtime?: ModelRuntimeOptions;
}

/**
 * Loads the model `uri` names: a local path or `file:` URL is loaded in place; `runs:/…` and
 * `models:/…` (version, `@alias`, stage, `latest`) are downloaded first (see `downloadModel`).
 * The model's name is the registered model's name, else the folder's.
 *
 * @throws ModelRuntimeNotInstalledError when `@keel/server` is not installed; the errors of
 *   `downloadModel` and of the runtime's loader.
 * @example
 * const model = await openModel(keel, 'models:/churn@champion', { runtime: { workers: 1 } });
 */
export async function openModel(
  client: KeelClient,
  uri: string,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  const local = localModelPath(uri);
  if (local !== undefined) {
    return openModelDirectory(local, {
      runtime: { ...options.runtime, name: options.runtime?.name ?? basename(local) },
    });
  }
  const owned = options.dstPath === undefined ? await mkdtemp(join(tmpdir(), 'keel-model-')) : undefined;
  try {
    const downloaded = await downloadModel(
      client,
      uri,
      options.dstPath ?? (owned as string),
      options.transfer,
    );
    return await openModelDirectory(downloaded.path, {
      runtime: { ...options.runtime, name: options.runtime?.name ?? downloaded.name },
      ...(owned === undefined ? {} : { ownedDir: owned }),
    });
  } catch (error) {
    if (owned !== undefined) await rm(owned, { recursive: true, force: true });
    throw error;
  }
}
