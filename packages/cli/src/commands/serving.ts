import type { AddressInfo } from 'node:net';
// Only the light config module at start-up: `keel runs list` must not pay for loading the server.
import { CONFIG_ENV, resolveServerConfig, S3_ENV } from '@keel/server/config';
import { Command, Option } from 'commander';
import type { CliIo } from '../io.js';
import { nonNegativeInteger, portNumber, positiveInteger } from '../options.js';
import { redactUri } from '../redact.js';
import { httpUrl, listenError, onStopSignal } from '../serve/lifecycle.js';

/** The port `keel serving` binds without `--port`: beside `keel server`'s 5000 and `keel models serve`'s 5001. */
export const DEFAULT_SERVING_PORT = 5002;

/** Environment variable of `--model-cache-dir`. */
export const MODEL_CACHE_DIR_ENV = 'KEEL_MODEL_CACHE_DIR';

/** Flags of `keel serving`, parsed and with commander's defaults applied. */
export interface ServingFlags {
  host: string;
  port: number;
  backendStoreUri?: string;
  artifactsDestination?: string;
  s3EndpointUrl?: string;
  s3Region?: string;
  s3ForcePathStyle?: boolean;
  modelCacheDir?: string;
  pollIntervalMs?: number;
  idleEvictMs?: number;
}

/**
 * `keel serving`: serves the deployments of a Keel store from a process of its own, for scale-out
 * beside the Keel server (any number of these can read the same store and artifacts). The same
 * endpoints as the Keel server's (`/deployments/{name}/invocations`, `/v2/models/{name}/infer`, …,
 * `/metrics`), no tracking or registry API. Changes to deployments and aliases are picked up by
 * polling the store. Store and artifact flags are `keel server`'s (same `KEEL_*` variables); the
 * schema is brought up to date first. Prints one line once listening; SIGTERM/SIGINT stop taking
 * requests, close the models, write the pending prediction records, then exit.
 *
 * @example
 * keel serving --backend-store-uri postgresql://keel@db/keel --artifacts-destination s3://ml/keel --port 5002
 */
export function servingCommand(io: CliIo): Command {
  return new Command('serving')
    .description("Serve the store's deployments from this process (scale-out beside `keel server`)")
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('-p, --port <port>', 'TCP port, 0 for any free port', portNumber, DEFAULT_SERVING_PORT)
    .option(
      '--backend-store-uri <uri>',
      `the Keel server's store: sqlite:///path/keel.db or postgresql://… (default: ./keel-data/keel.db, env ${CONFIG_ENV.backendStoreUri})`,
    )
    .option(
      '--artifacts-destination <uri>',
      `the Keel server's artifacts: folder, file:// or s3://bucket/prefix URI (default: ./keel-data/artifacts, env ${CONFIG_ENV.artifactsDestination})`,
    )
    .option(
      '--s3-endpoint-url <url>',
      `S3-compatible endpoint for s3:// destinations (env ${S3_ENV.endpoint.join(', ')}; default: AWS S3)`,
    )
    .option('--s3-region <region>', `S3 region (env ${S3_ENV.region.join(', ')}; default: us-east-1)`)
    .option(
      '--s3-force-path-style',
      `path-style S3 addressing, for self-hosted stores (env ${S3_ENV.forcePathStyle[0]}; default: on when an endpoint is set)`,
    )
    .addOption(
      new Option(
        '--model-cache-dir <dir>',
        'local folder model versions are copied into before loading (default: model-cache beside the SQLite file, else ./keel-data/model-cache)',
      ).env(MODEL_CACHE_DIR_ENV),
    )
    .option(
      '--poll-interval-ms <ms>',
      'how often deployments and registry aliases are re-read (default: 2000)',
      positiveInteger('--poll-interval-ms'),
    )
    .option(
      '--idle-evict-ms <ms>',
      'how long a model no deployment uses stays loaded (default: 60000)',
      nonNegativeInteger('--idle-evict-ms'),
    )
    .action((flags: ServingFlags) => serveDeployments(flags, io));
}

/** Opens, migrates, builds and listens; on any failure releases what was acquired. */
async function serveDeployments(flags: ServingFlags, io: CliIo): Promise<void> {
  const config = resolveServerConfig({
    host: flags.host,
    port: flags.port,
    backendStoreUri: flags.backendStoreUri,
    artifactsDestination: flags.artifactsDestination,
    s3EndpointUrl: flags.s3EndpointUrl,
    s3Region: flags.s3Region,
    s3ForcePathStyle: flags.s3ForcePathStyle,
  });
  // Loaded here, not at start-up: other commands must not pay for the server and the model runtime.
  const { buildDeploymentServer } = await import('@keel/server');
  const { migrateStore, openBackendStore, stopApp } = await import('../serve/listen.js');
  const store = openBackendStore(config);
  let app: Awaited<ReturnType<typeof buildDeploymentServer>>['app'] | undefined;
  try {
    await migrateStore(store, config.backendStoreUri);
    const server = await buildDeploymentServer({
      store,
      config,
      cacheDir: flags.modelCacheDir ?? config.modelCacheDir,
      ...(flags.pollIntervalMs !== undefined ? { pollIntervalMs: flags.pollIntervalMs } : {}),
      ...(flags.idleEvictMs !== undefined ? { idleEvictMs: flags.idleEvictMs } : {}),
    });
    app = server.app;
    try {
      await app.listen({ host: config.host, port: config.port });
    } catch (error) {
      throw listenError(error, config);
    }
    const port = (app.server.address() as AddressInfo | null)?.port ?? config.port;
    const started = app;
    onStopSignal(() => stopApp(started, store));
    const names = server.runtime.names();
    const ready = names.filter((name) => server.runtime.ready(name)).length;
    io.stdout.write(
      `Keel serving deployments on ${httpUrl(config.host, port)} (${redactUri(config.backendStoreUri)}, ${ready} of ${names.length} deployments ready)\n`,
    );
  } catch (error) {
    await app?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}
