/**
 * A launch's inputs: checked against the workflow's interface, defaults applied, and file,
 * directory and dataset inputs given as artifact paths or URIs turned into content-addressed
 * {@link ArtifactValue}s (copied to `workflows/data/<sha256>`), so that the execution, its cache
 * keys and any relaunch see the bytes as they were at launch.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type ArtifactValue,
  checkValue,
  formatType,
  invalidParameter,
  type JsonValue,
  KeelError,
  type TypeSpec,
  type WorkflowSpec,
} from '@keel/core';
import { joinArtifactPath, validateArtifactPath } from '../artifacts/artifact-path.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { proxiedArtifactPath } from '../artifacts/proxied-uri.js';
import type { RunService } from '../services/tracking/run-service.js';
import { listStoredFiles, uploadDirectory, uploadFile } from './engine/artifact-values.js';

/** What resolving artifact inputs needs. */
export interface ArtifactInputContext {
  artifacts: ArtifactStore;
  /** For `runs:/<run_id>/<path>` URIs. */
  runs: RunService;
}

/**
 * The launch inputs of `workflow`: every declared input, from `given` or else the workflow's
 * default (an optional input without either is null), checked against its type, artifact
 * references resolved.
 *
 * @throws INVALID_PARAMETER_VALUE naming the input, e.g. `inputs.alpha must be a number (float)`,
 *   `inputs.data: artifact 'raw/x.csv' does not exist`, for unknown inputs too.
 * @example
 * await launchInputs(spec, { data: 'mlflow-artifacts:/datasets/iris.csv', alpha: 0.1 }, { artifacts, runs });
 */
export async function launchInputs(
  workflow: WorkflowSpec,
  given: Record<string, unknown>,
  context: ArtifactInputContext,
): Promise<Record<string, JsonValue>> {
  const declared = workflow.interface.inputs;
  for (const name of Object.keys(given)) {
    if (!(name in declared)) {
      throw invalidParameter(`inputs.${name}: workflow '${workflow.name}' has no input '${name}'`);
    }
  }
  const inputs: Record<string, JsonValue> = {};
  for (const [name, type] of Object.entries(declared)) {
    const path = `inputs.${name}`;
    let value = given[name] ?? workflow.defaults?.[name];
    if (value === undefined || value === null) {
      if (type.type !== 'optional') throw invalidParameter(`${path} is required (${formatType(type)})`);
      value = null;
    }
    checkValue(type, value, path, 'launch');
    inputs[name] = await resolveArtifacts(type, value as JsonValue, path, context);
  }
  return inputs;
}

/** `value` (checked against `type`) with every artifact path or URI replaced by its ArtifactValue. */
async function resolveArtifacts(
  type: TypeSpec,
  value: JsonValue,
  path: string,
  context: ArtifactInputContext,
): Promise<JsonValue> {
  switch (type.type) {
    case 'file':
    case 'dataset':
    case 'directory':
      if (typeof value !== 'string') return value;
      return (await importArtifact(
        value,
        type.type === 'directory' ? 'directory' : 'file',
        path,
        context,
      )) as unknown as JsonValue;
    case 'optional':
      return value === null ? null : resolveArtifacts(type.of, value, path, context);
    case 'array': {
      const items = value as JsonValue[];
      const out: JsonValue[] = [];
      for (let i = 0; i < items.length; i++) {
        out.push(await resolveArtifacts(type.items, items[i] as JsonValue, `${path}[${i}]`, context));
      }
      return out;
    }
    case 'record': {
      const record = value as Record<string, JsonValue>;
      const out: Record<string, JsonValue> = {};
      for (const [name, field] of Object.entries(type.fields)) {
        if (record[name] === undefined) continue;
        out[name] = await resolveArtifacts(field, record[name] as JsonValue, `${path}.${name}`, context);
      }
      return out;
    }
    default:
      return value;
  }
}

/**
 * Copies the file or folder a path or URI names into `workflows/data/<sha256>` and returns its
 * value. Accepted: `mlflow-artifacts:/<path>`, `runs:/<run_id>/<path>`, or a path in the artifact
 * store.
 */
async function importArtifact(
  reference: string,
  kind: ArtifactValue['kind'],
  field: string,
  context: ArtifactInputContext,
): Promise<ArtifactValue> {
  const storePath = await storePathOf(reference, field, context.runs);
  const files = await listStoredFiles(context.artifacts, storePath);
  const isDirectory = files.length > 0;
  if (kind === 'directory' && !isDirectory) {
    throw invalidParameter(`${field}: '${reference}' is not a folder of the artifact store`);
  }
  const temp = await mkdtemp(join(tmpdir(), 'keel-launch-'));
  try {
    if (isDirectory) {
      if (kind === 'file') throw invalidParameter(`${field}: '${reference}' is a folder; a file is expected`);
      for (const file of files) {
        await copyToLocal(
          context.artifacts,
          joinArtifactPath(storePath, file.path),
          join(temp, ...file.path.split('/')),
        );
      }
      return await uploadDirectory(context.artifacts, temp);
    }
    const local = join(temp, 'file');
    try {
      await copyToLocal(context.artifacts, storePath, local);
    } catch (error) {
      if (error instanceof KeelError && error.code === 'RESOURCE_DOES_NOT_EXIST') {
        throw invalidParameter(`${field}: artifact '${reference}' does not exist`);
      }
      throw error;
    }
    return await uploadFile(context.artifacts, local);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** The artifact-store path a launch reference names. */
async function storePathOf(reference: string, field: string, runs: RunService): Promise<string> {
  if (/^mlflow-artifacts:/i.test(reference)) {
    const path = proxiedArtifactPath(reference);
    if (path === undefined || path === '')
      throw invalidParameter(`${field}: '${reference}' names no artifact`);
    return path;
  }
  const run = /^runs:\/([^/]+)\/(.+)$/.exec(reference);
  if (run !== null) {
    const row = await runs.requireRun(run[1] as string);
    const root = proxiedArtifactPath(row.artifact_uri);
    if (root === undefined) {
      throw invalidParameter(
        `${field}: run ${row.run_uuid} stores its artifacts outside this server ('${row.artifact_uri}')`,
      );
    }
    return joinArtifactPath(root, validateArtifactPath(run[2] as string, { field }));
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(reference)) {
    throw invalidParameter(
      `${field}: '${reference}' is not supported; give an artifact path, a mlflow-artifacts:/ URI or a runs:/ URI`,
    );
  }
  return validateArtifactPath(reference, { field });
}

/** Downloads one stored file (unchecked: its hash is what is being computed). */
async function copyToLocal(artifacts: ArtifactStore, path: string, dest: string): Promise<void> {
  const object = await artifacts.get(path);
  await mkdir(dirname(dest), { recursive: true });
  await pipeline(object.stream, createWriteStream(dest));
}
