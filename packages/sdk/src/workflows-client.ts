import type { Workflow, WorkflowRegistration, WorkflowVersion } from '@keel/core';
import type { KeelClient } from './keel-client.js';
import { keelRpc } from './keel-rpc.js';
import { paginate } from './paginate.js';
import type { KeelRestClient } from './rest-client.js';
import {
  type RegisteredWorkflow,
  type RegisterWorkflowOptions,
  registerWorkflow,
  WORKFLOWS_API_PREFIX,
} from './workflows/register-workflow.js';

/** A workflow as `workflows/list` returns it, with its latest version and how many it has. */
export interface WorkflowSummary extends Workflow {
  /** The most recently registered version. */
  latest_version?: string;
  /** How many versions are registered. */
  versions?: number;
}

/** A workflow version as `workflows/versions` lists it: without its spec. */
export type WorkflowVersionSummary = Omit<WorkflowVersion, 'spec'>;

/** Options of {@link WorkflowsClient.list}. */
export interface ListWorkflowsOptions {
  /** Only workflows whose name starts with this. @default every workflow */
  filter?: string;
  /** Page size (the iterator fetches page after page). @default the server's */
  maxResults?: number;
}

/** Options of {@link WorkflowsClient.versions}. */
export interface ListWorkflowVersionsOptions {
  /** Page size (the iterator fetches page after page). @default the server's */
  maxResults?: number;
}

/** What {@link WorkflowsClient.registerSpec} answers. */
export interface RegisterSpecResult {
  workflowVersion: WorkflowVersion;
  /** False when that version with the same content existed (a no-op). */
  created: boolean;
}

/**
 * Keel's workflows — typed DAGs of tasks, registered in versions — through
 * `/api/2.0/keel/workflows/*`. Reached as `client.workflows`; errors are the SDK's typed errors
 * (`NotFoundError`, `AlreadyExistsError` for a version re-registered with different content,
 * `InvalidParameterError` naming the field). Executions are `client.executions`.
 *
 * @example
 * const keel = new KeelClient();
 * const [train] = await keel.workflows.register('flows/train.ts');
 * for await (const v of keel.workflows.versions('train')) console.log(v.version, v.is_default);
 * await keel.workflows.setDefault('train', train.version);
 */
export class WorkflowsClient {
  /** Use `KeelClient.workflows`; this shares the client's HTTP settings. */
  constructor(
    private readonly rest: KeelRestClient,
    private readonly client: KeelClient,
  ) {}

  /**
   * Registers every workflow a module exports (see `registerWorkflow`): bundles it, uploads the
   * code package, derives and sends each registration. Unchanged code is a no-op (`created: false`).
   * @example const [train] = await keel.workflows.register('flows/train.ts', { version: 'v3' });
   */
  register(entry: string, options: RegisterWorkflowOptions = {}): Promise<RegisteredWorkflow[]> {
    return registerWorkflow(this.client, entry, options);
  }

  /**
   * Sends a registration built elsewhere (e.g. by `deriveRegistration`) as it is; its code
   * package must already be in the artifact store.
   * @example const { workflowVersion, created } = await keel.workflows.registerSpec(registration);
   */
  async registerSpec(registration: WorkflowRegistration): Promise<RegisterSpecResult> {
    const answer = await this.call<{ workflow_version: WorkflowVersion; created: boolean }>(
      'POST',
      'register',
      { registration },
    );
    return { workflowVersion: answer.workflow_version, created: answer.created };
  }

  /**
   * Every workflow (or those whose name starts with `filter`), fetching page after page.
   * @example for await (const w of keel.workflows.list()) console.log(w.name, w.default_version);
   */
  list(options: ListWorkflowsOptions = {}): AsyncGenerator<WorkflowSummary> {
    return paginate(async (pageToken) => {
      const page = await this.call<{ workflows?: WorkflowSummary[]; next_page_token?: string }>(
        'GET',
        'list',
        {
          filter: options.filter,
          max_results: options.maxResults,
          page_token: pageToken,
        },
      );
      return { items: page.workflows ?? [], nextPageToken: page.next_page_token };
    });
  }

  /**
   * One version with its spec (the registration: graph, interface, tasks); the default version
   * when `version` is left out. Throws `NotFoundError` if there is none.
   * @example const { spec } = await keel.workflows.get('train'); spec.workflow.interface.inputs;
   */
  async get(name: string, version?: string): Promise<WorkflowVersion> {
    const answer = await this.call<{ workflow_version: WorkflowVersion }>('GET', 'get', { name, version });
    return answer.workflow_version;
  }

  /**
   * A workflow's versions (without their specs), fetching page after page.
   * @example for await (const v of keel.workflows.versions('train')) console.log(v.version, v.created_by);
   */
  versions(name: string, options: ListWorkflowVersionsOptions = {}): AsyncGenerator<WorkflowVersionSummary> {
    return paginate(async (pageToken) => {
      const page = await this.call<{ versions?: WorkflowVersionSummary[]; next_page_token?: string }>(
        'GET',
        'versions',
        { name, max_results: options.maxResults, page_token: pageToken },
      );
      return { items: page.versions ?? [], nextPageToken: page.next_page_token };
    });
  }

  /**
   * Makes `version` the one launches use when they name none (a rollback is setting an older one).
   * @example await keel.workflows.setDefault('train', 'v2');
   */
  async setDefault(name: string, version: string): Promise<WorkflowVersion> {
    const answer = await this.call<{ workflow_version: WorkflowVersion }>('POST', 'set-default', {
      name,
      version,
    });
    return answer.workflow_version;
  }

  private call<T>(method: 'GET' | 'POST', path: string, message: Record<string, unknown>): Promise<T> {
    return keelRpc<T>(this.rest, WORKFLOWS_API_PREFIX, method, path, message);
  }
}
