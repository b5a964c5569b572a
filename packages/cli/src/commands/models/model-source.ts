/**
 * Turns the `-m` of `keel models serve` and `keel models build-docker` into a local model directory:
 * a path as it is, a `runs:/` or `models:/` URI downloaded from the tracking server.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type KeelClient, localModelPath, REGISTERED_MODEL_META_FILE } from '@keel/sdk';
import { CliError, oneLine } from '../../cli-error.js';

/** A model directory on this machine, and who the model is. */
export interface ModelSource {
  /** The directory holding `MLmodel`. */
  readonly dir: string;
  /**
   * The name to serve the model under: the registered model's name for `models:/` URIs (or from
   * the directory's `registered_model_meta`), else the directory's name.
   */
  readonly name: string;
  /** The registered version, when the model came from the registry. */
  readonly version: string | undefined;
  /** Removes what was downloaded; nothing for a local path. */
  cleanup(): Promise<void>;
}

/** How {@link resolveModelSource} reaches the tracking server, created only for URIs. */
export type ClientFactory = () => KeelClient;

/**
 * Resolves `-m`: a local directory (or `file://` URL), `runs:/<run-id>/<path>`, or a registry URI
 * (`models:/name/3`, `models:/name@alias`, `models:/name/Production`, `models:/name/latest`). URIs
 * are downloaded with the SDK's `downloadModel` into a fresh temporary directory that
 * {@link ModelSource.cleanup} removes.
 *
 * @throws CliError for a missing path; the SDK's typed errors for an unknown scheme (`localModelPath`)
 *   and for a URI the server cannot resolve (unknown model, version, alias or run).
 *
 * @example
 * const source = await resolveModelSource('models:/churn@champion', () => trackingClient(flags));
 * source.name; // 'churn'
 * await source.cleanup();
 */
export async function resolveModelSource(uri: string, client: ClientFactory): Promise<ModelSource> {
  const local = localModelPath(uri);
  if (local !== undefined) return localSource(local);
  const into = await mkdtemp(join(tmpdir(), 'keel-model-'));
  const cleanup = (): Promise<void> => rm(into, { recursive: true, force: true });
  try {
    const model = await client().downloadModel(uri, into);
    return { dir: model.path, name: model.name, version: model.version, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** A local directory; its `registered_model_meta`, when present, names the model and version. */
async function localSource(dir: string): Promise<ModelSource> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) throw new CliError(`Model directory '${dir}' does not exist`);
  if (!info.isDirectory()) {
    throw new CliError(`Model path '${dir}' is not a directory: pass the directory holding MLmodel`);
  }
  const meta = await readRegisteredModelMeta(dir);
  return {
    dir,
    name: meta.name ?? basename(dir),
    version: meta.version,
    cleanup: async () => undefined,
  };
}

/** `model_name` and `model_version` from `<dir>/registered_model_meta` (MLflow's YAML), when present. */
async function readRegisteredModelMeta(dir: string): Promise<{ name?: string; version?: string }> {
  let text: string;
  try {
    text = await readFile(join(dir, REGISTERED_MODEL_META_FILE), 'utf8');
  } catch {
    return {};
  }
  const meta: { name?: string; version?: string } = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^(model_name|model_version):\s*(.*?)\s*$/.exec(line);
    if (match === null) continue;
    const value = yamlScalar(match[2] ?? '');
    if (value === '') continue;
    if (match[1] === 'model_name') meta.name = value;
    else meta.version = value;
  }
  return meta;
}

/** A one-line YAML scalar as `yaml.safe_dump` writes it: plain, 'single' or "double" quoted. */
function yamlScalar(text: string): string {
  if (text.startsWith("'") && text.endsWith("'") && text.length >= 2) {
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) {
    try {
      return String(JSON.parse(text));
    } catch (error) {
      throw new CliError(`Invalid ${REGISTERED_MODEL_META_FILE}: ${oneLine(error)}`);
    }
  }
  return text;
}
