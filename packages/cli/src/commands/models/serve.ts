import type { AddressInfo } from 'node:net';
import { CONFIG_ENV } from '@keel/server/config';
import { Command, Option } from 'commander';
import type { CliIo } from '../../io.js';
import { nonNegativeInteger, portNumber, positiveInteger } from '../../options.js';
import { httpUrl, listenError, onStopSignal } from '../../serve/lifecycle.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import { type ModelSource, resolveModelSource } from './model-source.js';

/** Flags of `keel models serve`, parsed and with commander's defaults applied. */
export interface ModelsServeFlags extends TrackingFlags {
  modelUri: string;
  host: string;
  port: number;
  name?: string;
  workers?: number;
  batchMaxSize?: number;
  batchMaxDelayMs?: number;
  maxQueueRows?: number;
  processPath?: string;
}

/** The port `keel models serve` binds without `--port`: beside `keel server`'s 5000. */
export const DEFAULT_SERVE_PORT = 5001;

/**
 * `keel models serve -m <uri|path>`: loads a model and serves it over HTTP — MLflow's scoring
 * protocol (`/ping`, `/health`, `/version`, `POST /invocations`), the Open Inference Protocol
 * (`/v2/…`) and `/metrics`. `models:/` and `runs:/` URIs are downloaded from the tracking server
 * into a temporary folder first. Prints one line with the URL once listening; SIGTERM/SIGINT
 * close the server (in-flight requests finish), then the model, then remove the download.
 *
 * @example
 * keel models serve -m models:/churn@champion --port 5001 --workers 2 --batch-max-size 64
 * keel models serve -m ./model --name iris --host 0.0.0.0
 */
export function modelsServeCommand(io: CliIo): Command {
  return withTrackingUri(new Command('serve'))
    .description('Serve a model over HTTP (MLflow scoring protocol and Open Inference Protocol)')
    .requiredOption(
      '-m, --model-uri <uri>',
      'models:/<name>/<version|stage|latest>, models:/<name>@<alias>, runs:/<run-id>/<path> or a local directory',
    )
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('-p, --port <port>', 'TCP port, 0 for any free port', portNumber, DEFAULT_SERVE_PORT)
    .option(
      '--name <name>',
      "name in Open Inference Protocol paths (default: the registered model's name, else the directory's)",
    )
    .option(
      '-w, --workers <n>',
      'inference worker threads, each with its own session (default: min(2, cores) for onnx, 1 for js; a process model runs one child)',
      positiveInteger('--workers'),
    )
    .option(
      '--batch-max-size <rows>',
      'rows merged from concurrent requests into one model call; 1 turns batching off (default: 64)',
      positiveInteger('--batch-max-size'),
    )
    .option(
      '--batch-max-delay-ms <ms>',
      'how long an incomplete batch may wait for more requests (default: 0, never wait)',
      nonNegativeInteger('--batch-max-delay-ms'),
    )
    .option(
      '--max-queue-rows <rows>',
      'rows that may wait for the model before requests get 503 with Retry-After (default: 4096)',
      positiveInteger('--max-queue-rows'),
    )
    .addOption(
      new Option(
        '--process-path <dirs>',
        "directories searched first for a process-flavor model's program, e.g. /usr/bin for Debian's python3",
      ).env('KEEL_PROCESS_PATH'),
    )
    .action((flags: ModelsServeFlags) => serveModel(flags, io));
}

/** Resolves, loads, builds and listens; on any failure releases what was acquired, in reverse. */
async function serveModel(flags: ModelsServeFlags, io: CliIo): Promise<void> {
  // Loaded here, not at start-up: `keel runs list` must not pay for the model runtime.
  const { buildModelServer, DEFAULT_BATCHING, loadModelFromDirectory } = await import('@keel/server/serving');
  const batching = batchingOf(flags, DEFAULT_BATCHING);
  const source = await resolveModelSource(flags.modelUri, () => trackingClient(flags));
  const release: (() => Promise<void>)[] = [() => source.cleanup()];
  const releaseAll = async (): Promise<void> => {
    for (const step of release.reverse()) await step().catch(() => undefined);
  };
  try {
    const name = flags.name ?? source.name;
    // A process model logs child restarts and stderr through the server's logger, once there is one.
    let log:
      | { info(object: object, message: string): void; warn(object: object, message: string): void }
      | undefined;
    const model = await loadModelFromDirectory(source.dir, {
      name,
      ...(flags.workers === undefined ? {} : { workers: flags.workers }),
      ...(flags.processPath === undefined ? {} : { processPath: flags.processPath }),
      logger: {
        info: (object, message) => log?.info(object, message),
        warn: (object, message) => log?.warn(object, message),
      },
    });
    release.push(() => model.close());
    const app = await buildModelServer({
      model,
      name,
      ...(source.version === undefined ? {} : { version: source.version }),
      ...(batching === undefined ? {} : { batching }),
      ...(flags.maxQueueRows === undefined ? {} : { maxQueueRows: flags.maxQueueRows }),
      processMetrics: true,
      logger: { level: logLevel() },
    });
    log = app.log;
    release.push(() => app.close());
    try {
      await app.listen({ host: flags.host, port: flags.port });
    } catch (error) {
      throw listenError(error, flags);
    }
    const port = (app.server.address() as AddressInfo | null)?.port ?? flags.port;
    onStopSignal(async () => {
      try {
        await app.close();
      } finally {
        try {
          await model.close();
        } finally {
          await source.cleanup();
        }
      }
    });
    io.stdout.write(`${readyLine(source, name, model.metadata.flavor)} on ${httpUrl(flags.host, port)}\n`);
  } catch (error) {
    await releaseAll();
    throw error;
  }
}

/** `--batch-max-size` and `--batch-max-delay-ms` over the server's defaults; `undefined` when neither is given. */
function batchingOf(
  flags: ModelsServeFlags,
  defaults: Readonly<{ maxBatchSize: number; maxDelayMs: number }>,
): { maxBatchSize: number; maxDelayMs: number } | undefined {
  if (flags.batchMaxSize === undefined && flags.batchMaxDelayMs === undefined) return undefined;
  return {
    maxBatchSize: flags.batchMaxSize ?? defaults.maxBatchSize,
    maxDelayMs: flags.batchMaxDelayMs ?? defaults.maxDelayMs,
  };
}

/**
 * The model server's pino level: `KEEL_LOG_LEVEL`, else `warn` — at `info` Fastify logs two lines per
 * request, which a model server answering thousands of requests a second should not pay for by default.
 */
function logLevel(env: NodeJS.ProcessEnv = process.env): string {
  return env[CONFIG_ENV.logLevel] || 'warn';
}

/** `Keel serving model 'churn' version 3 (onnx)`. */
function readyLine(source: ModelSource, name: string, flavor: string): string {
  const version = source.version === undefined ? '' : ` version ${source.version}`;
  return `Keel serving model '${name}'${version} (${flavor})`;
}
