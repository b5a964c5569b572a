import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowRegistration, WorkflowVersion } from '@keel/core';
import { ArtifactLocation } from '../artifact-location.js';
import { ArtifactTransfer, type TransferOptions } from '../artifact-transfer.js';
import type { KeelClient } from '../keel-client.js';
import { keelRpc } from '../keel-rpc.js';
import { invalidOption } from '../models/sdk-error.js';
import { bundleWorkflowModule, WORKFLOW_FILES_DIR, type WorkflowPackage } from './bundle-workflow.js';
import { deriveRegistration } from './derive-registration.js';

/** Where Keel mounts its workflow RPCs, below the tracking URI. */
export const WORKFLOWS_API_PREFIX = '/api/2.0/keel/workflows';

/** Where code packages are stored in the artifact store: `workflows/code/<sha256>/`. */
export const WORKFLOW_CODE_ROOT = 'workflows/code';

/** Options of {@link registerWorkflow}. */
export interface RegisterWorkflowOptions {
  /** The version of every workflow registered. @default each registration's content hash */
  version?: string;
  /** @default each workflow's own description */
  description?: string;
  /** Upload concurrency and progress. @default 4 files at a time, no progress */
  transfer?: TransferOptions;
  /** Extra `package.json` export conditions for bundling (see `bundleWorkflowModule`). @default none */
  conditions?: readonly string[];
}

/** One workflow registered by {@link registerWorkflow}. */
export interface RegisteredWorkflow {
  name: string;
  version: string;
  /** False when that version with the same content was registered before (a no-op). */
  created: boolean;
  /** The server's answer. */
  workflowVersion: WorkflowVersion;
}

/**
 * Registers every workflow a module exports: bundles the module into a code package (see
 * `bundleWorkflowModule`), derives each workflow's registration (graph, typed interface, task
 * versions), uploads the package through the artifact proxy to `workflows/code/<sha256>/`, then
 * sends each registration to `POST /api/2.0/keel/workflows/register`. Registering unchanged code
 * again is a no-op (`created: false`); the same version with different content is refused
 * (`AlreadyExistsError`).
 *
 * @throws InvalidParameterError when the module does not bundle or load, exports no workflow, or a
 *   graph is wrong (nothing is uploaded then); the server's typed errors otherwise.
 * @example
 * const [train] = await registerWorkflow(keel, 'flows/train.ts', { version: 'v3' });
 * console.log(train.name, train.version, train.created);
 */
export async function registerWorkflow(
  client: KeelClient,
  entry: string,
  options: RegisterWorkflowOptions = {},
): Promise<RegisteredWorkflow[]> {
  const work = await mkdtemp(join(tmpdir(), 'keel-workflow-package-'));
  try {
    const pkg = await bundleWorkflowModule(entry, join(work, 'package'), {
      ...(options.conditions === undefined ? {} : { conditions: options.conditions }),
    });
    if (pkg.workflows.length === 0) throw invalidOption(`'${entry}' exports no workflow`);
    const code = { path: `${WORKFLOW_CODE_ROOT}/${pkg.sha256}`, sha256: pkg.sha256 };
    const files = shippedFileHashes(pkg);
    const registrations = pkg.workflows.map((workflow) =>
      deriveRegistration(workflow, code, {
        files,
        ...(options.version === undefined ? {} : { version: options.version }),
        ...(options.description === undefined ? {} : { description: options.description }),
      }),
    );
    await uploadPackage(client, pkg.dir, code.path, options.transfer);
    const registered: RegisteredWorkflow[] = [];
    for (const registration of registrations) registered.push(await postRegistration(client, registration));
    return registered;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The hashes of the package's `files/…`, by path relative to `files/`. */
function shippedFileHashes(pkg: WorkflowPackage): Record<string, string> {
  const prefix = `${WORKFLOW_FILES_DIR}/`;
  return Object.fromEntries(
    pkg.files
      .filter((file) => file.path.startsWith(prefix))
      .map((file) => [file.path.slice(prefix.length), file.sha256]),
  );
}

/** Uploads the package folder below `path` of the artifact store, through the artifact proxy. */
async function uploadPackage(
  client: KeelClient,
  dir: string,
  path: string,
  transfer: TransferOptions | undefined,
): Promise<void> {
  const location = ArtifactLocation.parse(`mlflow-artifacts:/${path}`, client.trackingUri);
  const uploader = new ArtifactTransfer({
    rest: client.rest,
    locationOf: async () => location,
    list: async () => [],
  });
  await uploader.uploadDirectory('', dir, undefined, transfer);
}

async function postRegistration(
  client: KeelClient,
  registration: WorkflowRegistration,
): Promise<RegisteredWorkflow> {
  const { workflow_version: workflowVersion, created } = await keelRpc<{
    workflow_version: WorkflowVersion;
    created: boolean;
  }>(client.rest, WORKFLOWS_API_PREFIX, 'POST', 'register', { registration });
  return { name: workflowVersion.name, version: workflowVersion.version, created, workflowVersion };
}
