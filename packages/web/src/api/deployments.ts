/**
 * Keel's deployments API (docs/deployments.md): the deployments and their revisions under
 * `/api/2.0/keel/deployments/…`, each deployment's readiness at `/deployments/{name}/ready`, and the
 * server's Prometheus text at `/metrics` (the live request rate and latency are computed from it).
 */
import type { Deployment, DeploymentRevision } from '@keel/core';
import { apiRaw, ConnectionError, keelGet } from './client';

/** `deployments/list`: every live deployment, by name. */
export async function listDeployments(signal?: AbortSignal): Promise<Deployment[]> {
  const answer = await keelGet<{ deployments?: Deployment[] }>('deployments/list', {}, signal);
  return answer.deployments ?? [];
}

/** `deployments/get`: a deployment at its current revision. */
export async function getDeployment(name: string, signal?: AbortSignal): Promise<Deployment> {
  const answer = await keelGet<{ deployment: Deployment }>('deployments/get', { name }, signal);
  return answer.deployment;
}

/** `deployments/revisions`: every revision, newest first. */
export async function listDeploymentRevisions(
  name: string,
  signal?: AbortSignal,
): Promise<DeploymentRevision[]> {
  const answer = await keelGet<{ revisions?: DeploymentRevision[] }>(
    'deployments/revisions',
    { name },
    signal,
  );
  return answer.revisions ?? [];
}

/** Where a deployment stands in the process that answered (`loading`, `serving`, `degraded`, `failed`). */
export type DeploymentState = 'loading' | 'serving' | 'degraded' | 'failed' | (string & {});

/** `GET /deployments/{name}/ready`. */
export interface DeploymentReadiness {
  name: string;
  ready: boolean;
  state?: DeploymentState;
  desired_revision?: number;
  serving_revision?: number;
  error?: { message: string; revision?: number; at?: number };
  /** HTTP status: 200 ready, 503 not ready, 404 unknown. */
  httpStatus: number;
}

/** `GET /deployments/{name}/ready`: 200 and 503 both carry the state, so neither is an error here. */
export async function getDeploymentReadiness(
  name: string,
  signal?: AbortSignal,
): Promise<DeploymentReadiness> {
  const answer = await apiRaw(`/deployments/${encodeURIComponent(name)}/ready`, signal ? { signal } : {});
  let body: Partial<DeploymentReadiness> & { message?: string } = {};
  try {
    body = JSON.parse(answer.text) as typeof body;
  } catch {
    // Not JSON: a proxy's page. The status alone says what we know.
  }
  if (answer.status === 404) {
    return {
      name,
      ready: false,
      state: 'unknown',
      httpStatus: 404,
      error: { message: body.message ?? 'Not found' },
    };
  }
  return { ...body, name, ready: body.ready ?? answer.status === 200, httpStatus: answer.status };
}

/** `GET /metrics`: the server's Prometheus text exposition. */
export async function getMetricsText(signal?: AbortSignal): Promise<string> {
  const answer = await apiRaw('/metrics', { accept: 'text/plain', ...(signal ? { signal } : {}) });
  if (answer.status !== 200) throw new ConnectionError(`/metrics answered HTTP ${answer.status}`);
  return answer.text;
}
