/**
 * Logging a model to a run, as MLflow's `log_model` does: save it locally, upload it as run
 * artifacts, record its `MLmodel` with `runs/log-model`, and optionally register a version.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MLmodel, ModelVersion, Signature } from '@keel/core';
import { joinArtifactPath } from '../artifact-location.js';
import type { TransferOptions } from '../artifact-transfer.js';
import type { TagsInput } from '../batch-plan.js';
import { AlreadyExistsError, EndpointNotFoundError, NotImplementedError } from '../errors.js';
import type { KeelClient } from '../keel-client.js';
import { type SaveModelOptions, writeModel } from './save-model.js';
import { invalidOption } from './sdk-error.js';

/** Where a model is logged in the run's artifacts when no `artifactPath` is given. */
export const DEFAULT_MODEL_ARTIFACT_PATH = 'model';

/** Options of logging a model that {@link SaveModelOptions} does not have. */
export interface LogModelExtraOptions {
  /** The folder in the run's artifacts. @default 'model' */
  artifactPath?: string;
  /**
   * Registers the logged model as a new version of this registered model (created if missing).
   * @default not registered
   */
  registeredModelName?: string;
  /** Tags of the registered version. @default none */
  versionTags?: TagsInput;
  /** Description of the registered version. @default none */
  versionDescription?: string;
  /** Upload concurrency and progress. @default 4 files at a time, no progress */
  transfer?: TransferOptions;
}

/**
 * Options of `ActiveRun.logModel` and `KeelClient.logModel`: what `saveModel` takes, plus where
 * to log and whether to register.
 * @example
 * { flavor: 'onnx', onnx: bytes, inputExample: rows.slice(0, 5), registeredModelName: 'iris-classifier' }
 */
export type LogModelOptions = SaveModelOptions & LogModelExtraOptions;

/** What logging a model produced. */
export interface LoggedModel {
  /** `runs:/<run id>/<artifact path>`, loadable with `loadModel`. */
  modelUri: string;
  runId: string;
  /** The folder in the run's artifacts. */
  artifactPath: string;
  /** The `MLmodel` as written and recorded. */
  mlmodel: MLmodel;
  /** The recorded signature, when there is one. */
  signature: Signature | undefined;
  /** The new registered version, when `registeredModelName` was given. */
  registeredModelVersion?: ModelVersion;
}

/**
 * Logs a model to a run: writes the model directory (see `saveModel`) into a temporary folder,
 * uploads it to `<artifactPath>` in the run's artifacts, records its `MLmodel` in the run's
 * `mlflow.log-model.history` tag through `runs/log-model` (skipped on servers without that
 * endpoint), then registers it when `registeredModelName` is given. The run must be active.
 *
 * @throws InvalidParameterError for bad options (see `saveModel`), an artifact path with `..` or
 *   one that is the run's root; the server's typed errors for a missing or finished run.
 * @example
 * const { modelUri } = await logModel(keel, runId, { flavor: 'onnx', path: 'model.onnx' });
 */
export async function logModel(
  client: KeelClient,
  runId: string,
  options: LogModelOptions,
): Promise<LoggedModel> {
  let artifactPath: string;
  try {
    artifactPath = joinArtifactPath(options.artifactPath ?? DEFAULT_MODEL_ARTIFACT_PATH);
  } catch (error) {
    throw invalidOption((error as Error).message);
  }
  if (artifactPath === '') {
    throw invalidOption("A model's 'artifactPath' must name a folder in the run's artifacts, not its root");
  }
  const temp = await mkdtemp(join(tmpdir(), 'keel-log-model-'));
  try {
    const saved = await writeModel(join(temp, 'model'), options, { runId, artifactPath });
    await client.uploadArtifacts(runId, saved.path, artifactPath, options.transfer);
    try {
      await client.recordLoggedModel(runId, saved.mlmodel);
    } catch (error) {
      // A server without `runs/log-model` still holds the files, which is what loading needs.
      if (!(error instanceof EndpointNotFoundError || error instanceof NotImplementedError)) throw error;
    }
    const logged: LoggedModel = {
      modelUri: `runs:/${runId}/${artifactPath}`,
      runId,
      artifactPath,
      mlmodel: saved.mlmodel,
      signature: saved.signature,
    };
    if (options.registeredModelName !== undefined) {
      logged.registeredModelVersion = await registerRunModel(
        client,
        runId,
        artifactPath,
        options.registeredModelName,
        {
          ...(options.versionTags === undefined ? {} : { tags: options.versionTags }),
          ...(options.versionDescription === undefined ? {} : { description: options.versionDescription }),
        },
      );
    }
    return logged;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * Registers `<artifactPath>` of a run's artifacts as a new version of `name` (created first if it
 * does not exist), with source `runs:/<runId>/<artifactPath>` and the run's id.
 * @example const version = await registerRunModel(keel, runId, 'model', 'churn');
 */
export async function registerRunModel(
  client: KeelClient,
  runId: string,
  artifactPath: string,
  name: string,
  options: { tags?: TagsInput; description?: string } = {},
): Promise<ModelVersion> {
  try {
    await client.registry.createRegisteredModel(name);
  } catch (error) {
    // Registering into an existing model is the common case, not an error.
    if (!(error instanceof AlreadyExistsError)) throw error;
  }
  const path = artifactPath.replace(/^\/+|\/+$/g, '');
  return client.registry.createModelVersion(name, `runs:/${runId}/${path}`, {
    runId,
    ...(options.tags === undefined ? {} : { tags: options.tags }),
    ...(options.description === undefined ? {} : { description: options.description }),
  });
}
