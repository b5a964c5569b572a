// Tests only: a small in-memory HTTP server speaking the workflow and execution API of issue 7
// (contract §E) and the artifact proxy, for the SDK client and CLI tests. It records every
// request. Its "engine" is a script: each `executions/get` moves an execution one step (the next
// node starts, the running one succeeds — or fails when the execution's inputs say
// `fail_at: <node id>`), so a client that polls sees a run go by.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  canonicalWorkflowJson,
  type Execution,
  type ExecutionNode,
  type JsonValue,
  pendingNode,
  TERMINAL_EXECUTION_STATES,
  TERMINAL_NODE_STATES,
  type WorkflowRegistration,
  type WorkflowVersion,
} from '@keel/core';

/** One request the fake received. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, decoded. */
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  /** The body as text (uploads included). */
  body: string;
}

/** The fake server. */
export interface FakeWorkflowsServer {
  readonly uri: string;
  readonly requests: RecordedRequest[];
  /** Stored artifacts by path. */
  readonly artifacts: Map<string, Buffer>;
  /** Executions by id. */
  readonly executions: Map<string, Execution>;
  /**
   * Log chunks of a node's attempt, served as history; `live` ones follow, 20 ms apart, when
   * followed; then the `end` event, unless `cut` (the stream just closes).
   */
  setLogs(executionId: string, nodeId: string, attempt: number, logs: FakeLogs): void;
  /** Requests whose path ends with `suffix`. */
  seen(suffix: string): RecordedRequest[];
  close(): Promise<void>;
}

/** What {@link FakeWorkflowsServer.setLogs} takes. */
export interface FakeLogs {
  history: LogLine[];
  live?: LogLine[];
  cut?: boolean;
}

/** One log chunk. */
export interface LogLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

const WORKFLOWS = '/api/2.0/keel/workflows/';
const EXECUTIONS = '/api/2.0/keel/executions/';
const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the fake on a loopback port. */
export async function startFakeWorkflowsServer(): Promise<FakeWorkflowsServer> {
  const state = new FakeState();
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((request, response) => {
    void handle(state, requests, request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}`,
    requests,
    artifacts: state.artifacts,
    executions: state.executions,
    setLogs: (executionId, nodeId, attempt, logs) => {
      state.logs.set(`${executionId}/${nodeId}/${attempt}`, logs);
    },
    seen: (suffix) => requests.filter((r) => r.path.endsWith(suffix)),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  state: FakeState,
  requests: RecordedRequest[],
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const url = new URL(request.url ?? '/', 'http://fake');
  const recorded: RecordedRequest = {
    method: request.method ?? 'GET',
    path: decodeURIComponent(url.pathname),
    query: Object.fromEntries(url.searchParams),
    headers: request.headers,
    body: raw.toString('utf8'),
  };
  requests.push(recorded);
  try {
    if (url.pathname.startsWith(PROXY)) return state.artifact(recorded, raw, response);
    const logs = /^\/api\/2\.0\/keel\/executions\/([^/]+)\/nodes\/([^/]+)\/logs$/.exec(url.pathname);
    if (logs) {
      const [executionId, nodeId] = [decodeURIComponent(logs[1] ?? ''), decodeURIComponent(logs[2] ?? '')];
      return await state.serveLogs(executionId, nodeId, recorded.query, response);
    }
    const body = recorded.body === '' ? {} : (JSON.parse(recorded.body) as Record<string, unknown>);
    const message = recorded.method === 'GET' ? recorded.query : body;
    const answer = url.pathname.startsWith(WORKFLOWS)
      ? state.workflowRpc(url.pathname.slice(WORKFLOWS.length), message)
      : url.pathname.startsWith(EXECUTIONS)
        ? state.executionRpc(url.pathname.slice(EXECUTIONS.length), message)
        : undefined;
    if (answer === undefined) throw new HttpError(404, 'ENDPOINT_NOT_FOUND', `No route ${url.pathname}`);
    sendJson(response, 200, answer);
  } catch (error) {
    if (error instanceof HttpError) {
      sendJson(response, error.status, { error_code: error.code, message: error.message });
    } else {
      sendJson(response, 500, { error_code: 'INTERNAL_ERROR', message: String(error) });
    }
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Pages of `items` as the real API cuts them: `max_results` per page, the offset as the token. */
function page<T>(items: T[], message: Record<string, unknown>): { items: T[]; next?: string } {
  const size = Number(message.max_results ?? 100);
  const start = Number(message.page_token ?? 0);
  const next = start + size < items.length ? String(start + size) : undefined;
  return { items: items.slice(start, start + size), ...(next === undefined ? {} : { next }) };
}

class FakeState {
  readonly artifacts = new Map<string, Buffer>();
  readonly executions = new Map<string, Execution>();
  readonly logs = new Map<string, FakeLogs>();
  private readonly versions = new Map<string, WorkflowVersion[]>();
  private readonly defaults = new Map<string, string>();
  private nextId = 1;

  artifact(request: RecordedRequest, raw: Buffer, response: ServerResponse): void {
    if (request.path === PROXY) {
      const dir = `${request.query.path ?? ''}/`;
      const names = new Map<string, { is_dir: boolean; file_size?: number }>();
      for (const [path, bytes] of this.artifacts) {
        if (!path.startsWith(dir)) continue;
        const [name = '', ...rest] = path.slice(dir.length).split('/');
        names.set(name, rest.length > 0 ? { is_dir: true } : { is_dir: false, file_size: bytes.length });
      }
      sendJson(response, 200, { files: [...names].map(([path, info]) => ({ path, ...info })) });
      return;
    }
    const path = request.path.slice(PROXY.length + 1);
    if (request.method === 'PUT') {
      this.artifacts.set(path, raw);
      sendJson(response, 200, {});
      return;
    }
    const bytes = this.artifacts.get(path);
    if (bytes === undefined) throw new HttpError(404, 'RESOURCE_DOES_NOT_EXIST', `No artifact '${path}'`);
    response.writeHead(200, { 'content-length': bytes.length }).end(bytes);
  }

  workflowRpc(path: string, m: Record<string, unknown>): unknown {
    switch (path) {
      case 'register':
        return this.register(m.registration as WorkflowRegistration);
      case 'list': {
        const names = [...this.versions.keys()]
          .filter((name) => name.startsWith(String(m.filter ?? '')))
          .sort();
        const { items, next } = page(names, m);
        return {
          workflows: items.map((name) => {
            const all = this.versions.get(name) ?? [];
            return {
              name,
              default_version: this.defaults.get(name),
              latest_version: all.at(-1)?.version,
              versions: all.length,
              created_at: all[0]?.created_at,
              updated_at: all.at(-1)?.created_at,
            };
          }),
          ...(next === undefined ? {} : { next_page_token: next }),
        };
      }
      case 'get':
        return { workflow_version: this.version(String(m.name), m.version as string | undefined) };
      case 'versions': {
        this.version(String(m.name));
        const all = [...(this.versions.get(String(m.name)) ?? [])].reverse();
        const { items, next } = page(all, m);
        return {
          versions: items.map(({ spec: _spec, ...rest }) => this.withDefault(rest as WorkflowVersion)),
          ...(next === undefined ? {} : { next_page_token: next }),
        };
      }
      case 'set-default': {
        const version = this.version(String(m.name), String(m.version));
        this.defaults.set(version.name, version.version);
        return { workflow_version: this.withDefault(version) };
      }
      default:
        return undefined;
    }
  }

  private register(registration: WorkflowRegistration): unknown {
    if (registration?.workflow?.name === undefined) {
      throw new HttpError(400, 'INVALID_PARAMETER_VALUE', 'registration.workflow.name is required');
    }
    const name = registration.workflow.name;
    const hash = createHash('sha256').update(canonicalWorkflowJson(registration)).digest('hex');
    const versionName = registration.version ?? hash;
    const all = this.versions.get(name) ?? [];
    const existing = all.find((v) => v.version === versionName);
    if (existing !== undefined) {
      if (existing.content_hash !== hash) {
        throw new HttpError(
          409,
          'RESOURCE_ALREADY_EXISTS',
          `Workflow '${name}' version '${versionName}' exists with different content`,
        );
      }
      return { workflow_version: this.withDefault(existing), created: false };
    }
    const version: WorkflowVersion = {
      name,
      version: versionName,
      content_hash: hash,
      created_at: Date.now(),
      created_by: 'alice',
      is_default: false,
      ...(registration.description === undefined ? {} : { description: registration.description }),
      spec: registration,
    };
    all.push(version);
    this.versions.set(name, all);
    if (!this.defaults.has(name)) this.defaults.set(name, versionName);
    return { workflow_version: this.withDefault(version), created: true };
  }

  private version(name: string, version?: string): WorkflowVersion {
    const wanted = version ?? this.defaults.get(name);
    const found = this.versions.get(name)?.find((v) => v.version === wanted);
    if (found === undefined) {
      throw new HttpError(404, 'RESOURCE_DOES_NOT_EXIST', `Workflow '${name}' version '${wanted}' not found`);
    }
    return this.withDefault(found);
  }

  private withDefault<T extends { name: string; version: string }>(version: T): T & { is_default: boolean } {
    return { ...version, is_default: this.defaults.get(version.name) === version.version };
  }

  executionRpc(path: string, m: Record<string, unknown>): unknown {
    switch (path) {
      case 'launch': {
        const version = this.version(String(m.workflow), m.version as string | undefined);
        return { execution: this.create(version, m.inputs as Record<string, JsonValue>, m.cache, 'launch') };
      }
      case 'get': {
        const execution = this.execution(String(m.execution_id));
        this.step(execution);
        return { execution };
      }
      case 'list': {
        const all = [...this.executions.values()]
          .filter((e) => m.workflow === undefined || e.workflow === m.workflow)
          .filter((e) => m.state === undefined || e.state === m.state)
          .reverse();
        const { items, next } = page(all, m);
        return {
          executions: items.map(({ nodes: _nodes, ...rest }) => rest),
          ...(next === undefined ? {} : { next_page_token: next }),
        };
      }
      case 'cancel': {
        const execution = this.execution(String(m.execution_id));
        if (!TERMINAL_EXECUTION_STATES.includes(execution.state)) this.finish(execution, 'cancelled');
        return { execution };
      }
      case 'relaunch':
      case 'recover': {
        const parent = this.execution(String(m.execution_id));
        if (path === 'recover' && !['failed', 'cancelled'].includes(parent.state)) {
          throw new HttpError(
            400,
            'INVALID_PARAMETER_VALUE',
            `Execution '${parent.execution_id}' is ${parent.state}`,
          );
        }
        const version = this.version(parent.workflow, parent.version);
        const inputs = path === 'recover' ? { ...parent.inputs, fail_at: null } : parent.inputs;
        const execution = this.create(version, inputs, m.cache, path, parent.execution_id);
        if (path === 'recover') {
          for (const node of execution.nodes) {
            const before = parent.nodes.find((n) => n.node_id === node.node_id);
            if (before?.state === 'succeeded' || before?.state === 'cached') {
              Object.assign(node, { state: 'cached', cache: 'hit', outputs: before.outputs });
            }
          }
        }
        return { execution };
      }
      default:
        return undefined;
    }
  }

  private execution(id: string): Execution {
    const execution = this.executions.get(id);
    if (execution === undefined) {
      throw new HttpError(404, 'RESOURCE_DOES_NOT_EXIST', `Execution '${id}' not found`);
    }
    return execution;
  }

  private create(
    version: WorkflowVersion,
    inputs: Record<string, JsonValue>,
    cache: unknown,
    mode: Execution['mode'],
    parent: string | null = null,
  ): Execution {
    const id = `exec-${String(this.nextId++).padStart(4, '0')}`;
    const nodes: ExecutionNode[] = version.spec.workflow.nodes.map((node) =>
      pendingNode({
        node_id: node.id,
        kind: node.kind,
        task: node.kind === 'task' || node.kind === 'map' ? node.task : null,
        parent_node: null,
      }),
    );
    const execution: Execution = {
      execution_id: id,
      workflow: version.name,
      version: version.version,
      state: 'queued',
      inputs,
      outputs: null,
      error: null,
      created_at: Date.now(),
      started_at: null,
      ended_at: null,
      created_by: 'alice',
      mode,
      parent_execution_id: parent,
      cache_mode: (cache as Execution['cache_mode'] | undefined) ?? 'use',
      run_id: null,
      nodes,
    };
    this.executions.set(id, execution);
    return execution;
  }

  /** One step of the scripted engine. */
  private step(execution: Execution): void {
    if (TERMINAL_EXECUTION_STATES.includes(execution.state)) return;
    const now = Date.now();
    if (execution.state === 'queued') {
      execution.state = 'running';
      execution.started_at = now;
    }
    const running = execution.nodes.find((n) => n.state === 'running');
    if (running !== undefined) {
      running.ended_at = now;
      if (execution.inputs.fail_at === running.node_id) {
        running.state = 'failed';
        running.error = { kind: 'user', retryable: false, message: `${running.node_id} blew up` };
        execution.error = running.error;
        this.finish(execution, 'failed');
        return;
      }
      running.state = 'succeeded';
      running.cache = 'miss';
      running.outputs = { done: true };
    }
    const next = execution.nodes.find((n) => n.state === 'pending');
    if (next === undefined) {
      execution.outputs = { ok: true };
      this.finish(execution, 'succeeded');
      return;
    }
    Object.assign(next, { state: 'running', attempt: 1, queued_at: now, started_at: now });
  }

  private finish(execution: Execution, state: 'succeeded' | 'failed' | 'cancelled'): void {
    const now = Date.now();
    for (const node of execution.nodes) {
      if (TERMINAL_NODE_STATES.includes(node.state)) continue;
      node.state = node.state === 'running' ? 'cancelled' : 'skipped';
      node.ended_at = now;
    }
    execution.state = state;
    execution.ended_at = now;
  }

  async serveLogs(
    executionId: string,
    nodeId: string,
    query: Record<string, string>,
    response: ServerResponse,
  ): Promise<void> {
    const execution = this.execution(executionId);
    const node = execution.nodes.find((n) => n.node_id === nodeId);
    if (node === undefined) {
      throw new HttpError(
        404,
        'RESOURCE_DOES_NOT_EXIST',
        `Execution '${executionId}' has no node '${nodeId}'`,
      );
    }
    const attempt = query.attempt ?? String(Math.max(1, node.attempt));
    const logs: FakeLogs = this.logs.get(`${executionId}/${nodeId}/${attempt}`) ?? { history: [] };
    if (query.follow !== '1') {
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      response.end([...logs.history, ...(logs.live ?? [])].map((l) => l.text).join(''));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    response.write(logs.history.map((line) => event('log', line)).join(''));
    for (const line of logs.live ?? []) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      // A keep-alive comment, and an event split across two writes, as a real stream may cut them.
      const text = `: keep-alive\r\n${event('log', line)}`;
      response.write(text.slice(0, 10));
      response.write(text.slice(10));
    }
    if (logs.cut) response.end();
    else
      response.end(
        event('end', { state: TERMINAL_NODE_STATES.includes(node.state) ? node.state : 'succeeded' }),
      );
  }
}
