import cluster from 'node:cluster';
// Only the light config module at start-up: `keel runs list` must not pay for loading the server.
import { CONFIG_ENV, resolveServerConfig, S3_ENV } from '@keel/server/config';
import { Command } from 'commander';
import type { CliIo } from '../io.js';

/** Flags of `keel server`, as commander hands them over (strings; resolved by `resolveServerConfig`). */
export interface ServerFlags {
  host?: string;
  port?: string;
  backendStoreUri?: string;
  artifactsDestination?: string;
  workers?: string;
  s3EndpointUrl?: string;
  s3Region?: string;
  s3ForcePathStyle?: boolean;
  modelCacheDir?: string;
}

/**
 * `keel server`: runs the tracking server with MLflow's flag names. Flags win over the `KEEL_*`
 * environment variables, which win over the defaults; all three are resolved by
 * `resolveServerConfig`, so commander declares no defaults of its own. Pending migrations are
 * applied once before serving. With `--workers N` (N > 1) a `node:cluster` primary forks N
 * processes sharing the port and replaces any that die.
 *
 * @example
 * keel server --port 5000 --backend-store-uri sqlite:///keel-data/keel.db --workers 4
 * keel server --artifacts-destination s3://ml-artifacts/keel --s3-endpoint-url http://127.0.0.1:9000
 */
export function serverCommand(io: CliIo): Command {
  return new Command('server')
    .description('Run the Keel tracking server (MLflow REST API)')
    .option('--host <host>', `interface to bind (default: 127.0.0.1, env ${CONFIG_ENV.host})`)
    .option('--port <port>', `TCP port, 0 for any free port (default: 5000, env ${CONFIG_ENV.port})`)
    .option(
      '--backend-store-uri <uri>',
      `sqlite:///path/keel.db or postgresql://… (default: ./keel-data/keel.db, env ${CONFIG_ENV.backendStoreUri})`,
    )
    .option(
      '--artifacts-destination <uri>',
      `artifact folder, file:// or s3://bucket/prefix URI (default: ./keel-data/artifacts, env ${CONFIG_ENV.artifactsDestination})`,
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
    .option('--workers <n>', `server processes sharing the port (default: 1, env ${CONFIG_ENV.workers})`)
    .option(
      '--model-cache-dir <dir>',
      `local folder the deployments' model versions are copied into before loading (default: model-cache beside the SQLite file, else ./keel-data/model-cache; env ${CONFIG_ENV.modelCacheDir})`,
    )
    .action(async (flags: ServerFlags) => {
      const config = resolveServerConfig({
        host: flags.host,
        port: flags.port,
        backendStoreUri: flags.backendStoreUri,
        artifactsDestination: flags.artifactsDestination,
        workers: flags.workers,
        s3EndpointUrl: flags.s3EndpointUrl,
        s3Region: flags.s3Region,
        s3ForcePathStyle: flags.s3ForcePathStyle,
        modelCacheDir: flags.modelCacheDir,
      });
      if (cluster.isWorker) return (await import('../serve/serve-worker.js')).serveWorker(config);
      if (config.workers === 1) return (await import('../serve/serve-single.js')).serveSingle(config, io);
      return (await import('../serve/serve-primary.js')).servePrimary(config, io);
    });
}
