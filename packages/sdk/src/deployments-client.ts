import type { Deployment, DeploymentRevision, DeploymentSpec, DeploymentSpecInput } from '@keel/core';
import type { KeelRestClient } from './rest-client.js';

/** Where Keel mounts its deployment RPCs, below the tracking URI. */
export const DEPLOYMENTS_API_PREFIX = '/api/2.0/keel/deployments';

/** Options of {@link DeploymentsClient.create}. */
export interface CreateDeploymentOptions {
  /** @default none */
  description?: string;
}

/** Fields {@link DeploymentsClient.update} changes; give at least one. */
export interface DeploymentPatch {
  /** The whole new spec (it replaces the current one). */
  spec?: DeploymentSpecInput | DeploymentSpec;
  /** `''` clears the description. */
  description?: string;
}

/**
 * Keel's deployments — named, versioned serving configurations — through
 * `/api/2.0/keel/deployments/*`. Reached as `client.deployments`; errors are the SDK's typed
 * errors (`NotFoundError`, `AlreadyExistsError`, `InvalidParameterError` whose message names the
 * spec field…). Every change makes a new revision; {@link rollback} restores an earlier spec as a
 * new revision.
 *
 * @example
 * const keel = new KeelClient();
 * await keel.deployments.create('fraud', {
 *   routes: [
 *     { name: 'stable', model: 'models:/fraud@champion', weight: 90 },
 *     { name: 'canary', model: 'models:/fraud/8', weight: 10 },
 *   ],
 * });
 * const history = await keel.deployments.revisions('fraud');
 * await keel.deployments.rollback('fraud', 1);
 */
export class DeploymentsClient {
  private readonly rest: KeelRestClient;

  /** Use `KeelClient.deployments`; this shares the client's HTTP settings. */
  constructor(rest: KeelRestClient) {
    this.rest = rest;
  }

  /**
   * Creates a deployment (revision 1, or the next number if the name was used before and
   * deleted). Throws `AlreadyExistsError` if a deployment of that name exists.
   * @example await keel.deployments.create('fraud', { routes: [{ model: 'models:/fraud@champion' }] });
   */
  async create(
    name: string,
    spec: DeploymentSpecInput | DeploymentSpec,
    options: CreateDeploymentOptions = {},
  ): Promise<Deployment> {
    const { deployment } = await this.call<{ deployment: Deployment }>('POST', 'create', {
      name,
      spec,
      ...(options.description === undefined ? {} : { description: options.description }),
    });
    return deployment;
  }

  /**
   * A deployment at its current revision. Throws `NotFoundError` if there is none.
   * @example const { revision, spec } = await keel.deployments.get('fraud');
   */
  async get(name: string): Promise<Deployment> {
    const { deployment } = await this.call<{ deployment: Deployment }>('GET', 'get', { name });
    return deployment;
  }

  /**
   * Every deployment, by name.
   * @example for (const d of await keel.deployments.list()) console.log(d.name, d.revision);
   */
  async list(): Promise<Deployment[]> {
    const { deployments } = await this.call<{ deployments?: Deployment[] }>('GET', 'list', {});
    return deployments ?? [];
  }

  /**
   * Replaces the spec and/or the description as a new revision (an update that changes nothing
   * returns the current revision unchanged).
   * @example await keel.deployments.update('fraud', { spec: { routes: [{ model: 'models:/fraud/8' }] } });
   */
  async update(name: string, patch: DeploymentPatch): Promise<Deployment> {
    const { deployment } = await this.call<{ deployment: Deployment }>('PATCH', 'update', {
      name,
      ...(patch.spec === undefined ? {} : { spec: patch.spec }),
      ...(patch.description === undefined ? {} : { description: patch.description }),
    });
    return deployment;
  }

  /**
   * Deletes a deployment (its revisions stay readable through {@link revisions}).
   * @example await keel.deployments.delete('fraud');
   */
  async delete(name: string): Promise<void> {
    await this.call('DELETE', 'delete', { name });
  }

  /**
   * Every revision of a deployment, newest first, each with how it came about (`created`,
   * `updated`, `rolled_back` + `source_revision`), who made it and when.
   * @example const [latest] = await keel.deployments.revisions('fraud');
   */
  async revisions(name: string): Promise<DeploymentRevision[]> {
    const { revisions } = await this.call<{ revisions?: DeploymentRevision[] }>('GET', 'revisions', { name });
    return revisions ?? [];
  }

  /**
   * One revision, also of a deleted deployment.
   * @example const { spec } = await keel.deployments.getRevision('fraud', 3);
   */
  async getRevision(name: string, revision: number): Promise<DeploymentRevision> {
    const answer = await this.call<{ revision: DeploymentRevision }>('GET', 'get-revision', {
      name,
      revision,
    });
    return answer.revision;
  }

  /**
   * Makes a new revision with the spec of revision `revision`.
   * @example const restored = await keel.deployments.rollback('fraud', 2);
   */
  async rollback(name: string, revision: number): Promise<Deployment> {
    const { deployment } = await this.call<{ deployment: Deployment }>('POST', 'rollback', {
      name,
      revision,
    });
    return deployment;
  }

  /** One RPC: GET with a query string, other methods with a JSON body. */
  private async call<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    message: Record<string, unknown>,
  ): Promise<T> {
    const url = new URL(
      `${this.rest.options.trackingUri.replace(/\/+$/, '')}${DEPLOYMENTS_API_PREFIX}/${path}`,
    );
    const body = method === 'GET' ? undefined : JSON.stringify(message);
    if (body === undefined) {
      for (const [key, value] of Object.entries(message)) url.searchParams.set(key, String(value));
    }
    // Keel's own API lives beside MLflow's prefix, so the absolute-URL door is used.
    const { response, done } = await this.rest.request({
      method,
      url: url.href,
      ...(body === undefined ? {} : { body: () => body, headers: { 'content-type': 'application/json' } }),
    });
    try {
      const text = await response.text();
      return (text.trim() === '' ? {} : JSON.parse(text)) as T;
    } finally {
      done();
    }
  }
}
