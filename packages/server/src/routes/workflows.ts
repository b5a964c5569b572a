import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { actorOf } from '../http/actor.js';
import { decodeMessage } from '../http/decode.js';
import { type AnyRpc, KEEL_PREFIXES, registerRpcs, rpc } from '../http/rpc.js';
import { LOG_LINES_CONTENT_TYPE, serializeLogLines } from '../workflows/engine/log-hub.js';
import type { WorkflowService } from '../workflows/workflow-service.js';

const Page = {
  max_results: Type.Optional(Type.Integer()),
  page_token: Type.Optional(Type.String()),
};
const ExecutionId = { execution_id: Type.String() };

const LogsRequest = Type.Object({
  execution_id: Type.String(),
  node_id: Type.String(),
  attempt: Type.Optional(Type.Integer()),
  follow: Type.Optional(
    Type.Union([Type.Literal('0'), Type.Literal('1'), Type.Literal('true'), Type.Literal('false')]),
  ),
  format: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('jsonl')])),
});

/** Interval of the SSE keep-alive comment, so proxies do not close a quiet log stream. */
const KEEP_ALIVE_MS = 15_000;

/**
 * Keel's workflow API (see docs/workflows.md). Answers carry specs, inputs and outputs exactly as
 * stored (not compacted like MLflow's RPCs: a null there is a value).
 *
 * Under `/api/2.0/keel/workflows/`: `register` (POST `{registration}` → `{workflow_version,
 * created}`), `list` (GET `filter`, paging → `{workflows, next_page_token?}`), `get` (GET `name`,
 * `version?`), `versions` (GET `name`, paging), `set-default` (POST `{name, version}`).
 *
 * Under `/api/2.0/keel/executions/`: `launch` (POST `{workflow, version?, inputs, cache?}`), `get`
 * (GET `execution_id`), `list` (GET `workflow`, `version`, `state`, `created_by`, paging), `cancel`,
 * `relaunch` (`{execution_id, cache?}`), `recover` (POST `{execution_id}`), each answering
 * `{execution}`; and `GET {execution_id}/nodes/{node_id}/logs?attempt=&follow=&format=` (see
 * {@link registerWorkflowRoutes}).
 */
export function workflowRpcs(workflows: WorkflowService): AnyRpc[] {
  const common = { prefixes: KEEL_PREFIXES, verbatim: true } as const;
  return [
    rpc({
      ...common,
      methods: ['POST'],
      path: '/workflows/register',
      request: Type.Object({ registration: Type.Unknown() }),
      handler: (m, context) => workflows.register(actorOf(context), m.registration),
    }),
    rpc({
      ...common,
      methods: ['GET'],
      path: '/workflows/list',
      request: Type.Object({ filter: Type.Optional(Type.String()), ...Page }),
      handler: async (m) => {
        const page = await workflows.listWorkflows({
          ...pageOf(m),
          ...(m.filter ? { filter: m.filter } : {}),
        });
        return { workflows: page.items, ...nextPage(page.nextPageToken) };
      },
    }),
    rpc({
      ...common,
      methods: ['GET'],
      path: '/workflows/get',
      request: Type.Object({ name: Type.String(), version: Type.Optional(Type.String()) }),
      handler: async (m) => ({
        workflow_version: await workflows.getVersion(m.name, m.version || undefined),
      }),
    }),
    rpc({
      ...common,
      methods: ['GET'],
      path: '/workflows/versions',
      request: Type.Object({ name: Type.String(), ...Page }),
      handler: async (m) => {
        const page = await workflows.listVersions(m.name, pageOf(m));
        return { versions: page.items, ...nextPage(page.nextPageToken) };
      },
    }),
    rpc({
      ...common,
      methods: ['POST'],
      path: '/workflows/set-default',
      request: Type.Object({ name: Type.String(), version: Type.String() }),
      handler: async (m, context) => ({
        workflow_version: await workflows.setDefault(actorOf(context), m.name, m.version),
      }),
    }),
    rpc({
      ...common,
      methods: ['POST'],
      path: '/executions/launch',
      request: Type.Object({
        workflow: Type.String(),
        version: Type.Optional(Type.String()),
        inputs: Type.Optional(Type.Unknown()),
        cache: Type.Optional(Type.String()),
      }),
      handler: async (m, context) => ({
        execution: await workflows.launch(actorOf(context), {
          workflow: m.workflow,
          ...(m.version ? { version: m.version } : {}),
          inputs: m.inputs,
          ...(m.cache === undefined ? {} : { cache: m.cache }),
        }),
      }),
    }),
    rpc({
      ...common,
      methods: ['GET'],
      path: '/executions/get',
      request: Type.Object(ExecutionId),
      handler: async (m) => ({ execution: await workflows.getExecution(m.execution_id) }),
    }),
    rpc({
      ...common,
      methods: ['GET'],
      path: '/executions/list',
      request: Type.Object({
        workflow: Type.Optional(Type.String()),
        version: Type.Optional(Type.String()),
        state: Type.Optional(Type.String()),
        created_by: Type.Optional(Type.String()),
        ...Page,
      }),
      handler: async (m) => {
        const page = await workflows.listExecutions({
          ...pageOf(m),
          ...(m.workflow ? { workflow: m.workflow } : {}),
          ...(m.version ? { version: m.version } : {}),
          ...(m.state ? { state: m.state } : {}),
          ...(m.created_by ? { createdBy: m.created_by } : {}),
        });
        return { executions: page.items, ...nextPage(page.nextPageToken) };
      },
    }),
    rpc({
      ...common,
      methods: ['POST'],
      path: '/executions/cancel',
      request: Type.Object(ExecutionId),
      handler: async (m, context) => ({
        execution: await workflows.cancel(actorOf(context), m.execution_id),
      }),
    }),
    rpc({
      ...common,
      methods: ['POST'],
      path: '/executions/relaunch',
      request: Type.Object({ ...ExecutionId, cache: Type.Optional(Type.String()) }),
      handler: async (m, context) => ({
        execution: await workflows.relaunch(actorOf(context), m.execution_id, m.cache),
      }),
    }),
    rpc({
      ...common,
      methods: ['POST'],
      path: '/executions/recover',
      request: Type.Object(ExecutionId),
      handler: async (m, context) => ({
        execution: await workflows.recover(actorOf(context), m.execution_id),
      }),
    }),
  ];
}

/**
 * Mounts {@link workflowRpcs} and the logs route
 * `GET /api/2.0/keel/executions/{execution_id}/nodes/{node_id}/logs?attempt=&follow=0|1&format=text|jsonl`:
 * the attempt's log (default: the node's latest attempt) as `text/plain`, or with `format=jsonl`
 * as JSON lines `{"time","stream","text","level"?}` (one per line of output); with `follow=1` a
 * `text/event-stream` of `event: log` (`{"stream","text"}`) events — what was written so far,
 * then live output — and a final `event: end` (`{"state"}`) when the attempt ends. The stream
 * closes when the client goes away.
 */
export function registerWorkflowRoutes(app: FastifyInstance, workflows: WorkflowService): void {
  registerRpcs(app, workflowRpcs(workflows));
  for (const prefix of KEEL_PREFIXES) {
    app.get(`${prefix}/executions/:execution_id/nodes/:node_id/logs`, async (request, reply) => {
      const m = decodeMessage<Static<typeof LogsRequest>>(
        LogsRequest,
        { ...(request.query as object), ...(request.params as object) },
        true,
      );
      if (m.follow === '1' || m.follow === 'true') {
        await followLogs(reply, workflows, m);
        return reply;
      }
      const log = await workflows.readLog(m.execution_id, m.node_id, m.attempt);
      if (m.format === 'jsonl') {
        return reply.type(`${LOG_LINES_CONTENT_TYPE}; charset=utf-8`).send(serializeLogLines(log.lines));
      }
      return reply.type('text/plain; charset=utf-8').send(log.text);
    });
  }
}

/** Streams an attempt's log as server-sent events until it ends or the client leaves. */
async function followLogs(reply: FastifyReply, workflows: WorkflowService, m: Static<typeof LogsRequest>) {
  const gone = new AbortController();
  const raw = reply.raw;
  let keepAlive: NodeJS.Timeout | undefined;
  const send = (event: string, data: unknown): void => {
    if (!raw.writableEnded) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  try {
    await workflows.followLog(
      m.execution_id,
      m.node_id,
      m.attempt,
      {
        open: () => {
          reply.hijack();
          raw.writeHead(200, {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache',
            'x-accel-buffering': 'no',
          });
          raw.on('close', () => gone.abort());
          keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
        },
        log: (chunk) => send('log', chunk),
        end: (state) => send('end', { state }),
      },
      gone.signal,
    );
  } catch (error) {
    // Once the stream is open the status is sent: the client sees the stream end early.
    if (!reply.sent) throw error;
  } finally {
    clearInterval(keepAlive);
    if (reply.sent && !raw.writableEnded) raw.end();
  }
}

function pageOf(m: { max_results?: number; page_token?: string }): {
  maxResults?: number;
  pageToken?: string;
} {
  return {
    ...(m.max_results === undefined ? {} : { maxResults: m.max_results }),
    ...(m.page_token ? { pageToken: m.page_token } : {}),
  };
}

function nextPage(token: string | undefined): { next_page_token?: string } {
  return token === undefined ? {} : { next_page_token: token };
}
