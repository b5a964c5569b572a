/**
 * Fetching a model directory named by a `runs:/` or `models:/` URI, as MLflow's clients resolve them
 * (mlflow-compat.md §3).
 */
import { access, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FileInfo, parseModelUri } from '@keel/core';
import { ArtifactLocation, splitArtifactPath } from '../artifact-location.js';
import { ArtifactTransfer, type TransferOptions } from '../artifact-transfer.js';
import type { KeelClient } from '../keel-client.js';
import type { KeelRestClient } from '../rest-client.js';
import { MLMODEL_FILE } from './save-model.js';
import { invalidOption, toSdkError } from './sdk-error.js';

/** The file MLflow writes into a registered version it downloads: `model_name` and `model_version`. */
export const REGISTERED_MODEL_META_FILE = 'registered_model_meta';

/** A model directory fetched from the tracking server. */
export interface DownloadedModel {
  /** The local directory holding `MLmodel`. */
  path: string;
  /** The registered model's name, else the artifact folder's name (or the run id for a whole run). */
  name: string;
  /** The registered version, for `models:/` URIs. */
  version?: string;
  /** The run that logged the model, when known. */
  runId?: string;
}

/**
 * The local directory a model URI names, or `undefined` when it names a server's model: a plain
 * path or a `file:` URL is local; `runs:/` and `models:/` are not.
 *
 * @throws InvalidParameterError for any other scheme (`s3://`, `https://`…).
 * @example localModelPath('file:///tmp/model'); // '/tmp/model'
 */
export function localModelPath(uri: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(uri)?.[1]?.toLowerCase();
  // One letter is a Windows drive (`C:\models\churn`), not a scheme.
  if (scheme === undefined || scheme.length === 1) return resolve(uri);
  if (scheme === 'file') return fileURLToPath(uri);
  if (scheme === 'models' || scheme === 'runs') return undefined;
  throw invalidOption(
    `Unsupported model URI '${uri}': use models:/<name>/<version|stage|latest>, models:/<name>@<alias>, runs:/<run id>/<path>, or a local path`,
  );
}

/**
 * Downloads the model a `runs:/` or `models:/` URI names into `destDir` and returns where it is:
 *
 * - `runs:/<run id>/<path>` → `<destDir>/<path>` (the run's artifacts, through the artifact proxy);
 * - `models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/<name>/<stage>`,
 *   `models:/<name>/latest` → resolved with `registry.resolveModelUri`, then the version's files
 *   (its registry copy, from `model-versions/get-download-uri`) go straight into `destDir`, with a
 *   `registered_model_meta` file naming the model and version, as MLflow writes it.
 *
 * @throws InvalidParameterError for a malformed URI or when the files hold no `MLmodel`;
 *   NotFoundError for an unknown run, model, version, alias or stage;
 *   UnsupportedArtifactUriError when the files are not served by the tracking server.
 * @example
 * const { path } = await downloadModel(keel, 'models:/churn@champion', '/tmp/churn');
 */
export async function downloadModel(
  client: KeelClient,
  uri: string,
  destDir: string,
  transfer?: TransferOptions,
): Promise<DownloadedModel> {
  let parsed: ReturnType<typeof parseModelUri>;
  try {
    parsed = parseModelUri(uri);
  } catch (error) {
    throw toSdkError(error);
  }
  let model: DownloadedModel;
  if (parsed.kind === 'run') {
    model = await downloadRunModel(client, parsed.runId, parsed.path, destDir, transfer);
  } else {
    const version = await client.registry.resolveModelUri(uri);
    const artifactUri = await client.registry.getModelVersionDownloadUri(version.name, version.version);
    const source = /^runs:/i.test(artifactUri) ? parseModelUri(artifactUri) : undefined;
    let path: string;
    if (source?.kind === 'run') {
      path = (await downloadRunModel(client, source.runId, source.path, destDir, transfer)).path;
    } else {
      const location = ArtifactLocation.parse(artifactUri, client.trackingUri);
      path = await downloadLocation(client.rest, location, destDir, transfer);
    }
    await writeFile(
      join(path, REGISTERED_MODEL_META_FILE),
      `model_name: ${yamlQuote(version.name)}\nmodel_version: ${yamlQuote(version.version)}\n`,
    );
    model = {
      path,
      name: version.name,
      version: version.version,
      ...(version.run_id ? { runId: version.run_id } : {}),
    };
  }
  try {
    await access(join(model.path, MLMODEL_FILE));
  } catch {
    throw invalidOption(`'${uri}' is not a model: its files hold no ${MLMODEL_FILE}`);
  }
  return model;
}

async function downloadRunModel(
  client: KeelClient,
  runId: string,
  path: string,
  destDir: string,
  transfer: TransferOptions | undefined,
): Promise<DownloadedModel> {
  const local = await client.downloadArtifacts(runId, path, destDir, transfer);
  return { path: local, name: path === '' ? runId : basename(path), runId };
}

/**
 * Downloads every file below an artifact location (a registered version's copy) through the
 * artifact proxy, listing folders with `GET …/mlflow-artifacts/artifacts?path=`.
 */
async function downloadLocation(
  rest: KeelRestClient,
  location: ArtifactLocation,
  destDir: string,
  transfer: TransferOptions | undefined,
): Promise<string> {
  const files = new ArtifactTransfer({
    rest,
    locationOf: async () => location,
    list: (_runId, path) => listLocation(rest, location, path ?? ''),
  });
  return files.download('', '', destDir, transfer);
}

async function listLocation(
  rest: KeelRestClient,
  location: ArtifactLocation,
  path: string,
): Promise<FileInfo[]> {
  const dir = [...location.rootSegments, ...splitArtifactPath(path)].join('/');
  const url = `${location.endpoint}?${new URLSearchParams({ path: dir })}`;
  const { response, done } = await rest.request({ method: 'GET', url });
  try {
    const body = (await response.json()) as { files?: FileInfo[] };
    return body.files ?? [];
  } finally {
    done();
  }
}

/** A YAML single-quoted scalar (what PyYAML writes for a string that needs quoting). */
function yamlQuote(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
