/**
 * Registers model versions through the real services (a run's artifacts, then the registry's copy),
 * for tests of what serves registered models (the deployment runtime and routes). Model bytes come
 * from the caller (e.g. the SDK's `exportLinearModel`), so this module needs no SDK import.
 */
import { Readable } from 'node:stream';
import {
  KeelError,
  type ModelVersion,
  type Signature,
  serializeMLmodel,
  serializeSignature,
} from '@keel/core';
import { joinArtifactPath } from '../artifacts/artifact-path.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { proxiedArtifactPath } from '../artifacts/proxied-uri.js';
import { type Actor, systemActor } from '../changes/change.js';
import type { RegistryService } from '../services/registry/registry-service.js';
import type { RunService } from '../services/tracking/run-service.js';

/** The services {@link registerModelVersion} uses (a `Services` object fits). */
export interface RegisteringServices {
  runs: RunService;
  registry: RegistryService;
}

/**
 * Uploads `files` (path → content) as `model/…` of a new run in the Default experiment, creates the
 * registered model `name` when it does not exist, and registers `runs:/<run>/model` as its next
 * version (which copies the files into registry storage). Returns the version.
 *
 * @example
 * const v1 = await registerModelVersion(services, artifacts, 'fraud', onnxModelFiles(bytes));
 */
export async function registerModelVersion(
  services: RegisteringServices,
  artifacts: ArtifactStore,
  name: string,
  files: Readonly<Record<string, string | Uint8Array>>,
  actor: Actor = systemActor('test'),
): Promise<ModelVersion> {
  const run = await services.runs.create({ experimentId: '0' }, actor);
  const root = proxiedArtifactPath(run.info.artifact_uri);
  if (root === undefined) throw new Error(`unexpected artifact root ${run.info.artifact_uri}`);
  for (const [path, content] of Object.entries(files)) {
    const bytes = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
    await artifacts.put(joinArtifactPath(root, 'model', path), Readable.from([bytes]), {
      size: bytes.length,
    });
  }
  try {
    await services.registry.getModel(name);
  } catch (error) {
    if (!(error instanceof KeelError) || error.code !== 'RESOURCE_DOES_NOT_EXIST') throw error;
    await services.registry.createModel({ name }, actor);
  }
  return services.registry.createVersion(
    { name, source: `runs:/${run.info.run_id}/model`, runId: run.info.run_id },
    actor,
  );
}

/**
 * The files of an `onnx`-flavor model directory: `model.onnx`, `MLmodel` (with `signature` when
 * given) and, with `servingInputExample`, `serving_input_example.json` referenced from `MLmodel`.
 */
export function onnxModelFiles(
  onnx: Uint8Array,
  options: { signature?: Signature; servingInputExample?: unknown } = {},
): Record<string, string | Uint8Array> {
  const files: Record<string, string | Uint8Array> = { 'model.onnx': onnx };
  files.MLmodel = serializeMLmodel({
    artifact_path: 'model',
    flavors: {
      onnx: { data: 'model.onnx', onnx_version: '1.17.0', providers: ['CPUExecutionProvider'] },
    },
    ...(options.signature !== undefined ? { signature: serializeSignature(options.signature) } : {}),
    ...(options.servingInputExample !== undefined
      ? {
          saved_input_example_info: {
            artifact_path: 'input_example.json',
            type: 'ndarray',
            format: 'tf-serving',
            serving_input_path: 'serving_input_example.json',
          },
        }
      : {}),
  });
  if (options.servingInputExample !== undefined) {
    files['serving_input_example.json'] = JSON.stringify(options.servingInputExample);
  }
  return files;
}
