import cluster from 'node:cluster';
import { CONFIG_ENV, resolveServerConfig } from '@keel/server';
import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { servePrimary } from '../serve/serve-primary.js';
import { serveSingle } from '../serve/serve-single.js';
import { serveWorker } from '../serve/serve-worker.js';

/** Flags of `keel server`, as commander hands them over (strings; resolved by `resolveServerConfig`). */
export interface ServerFlags {
  host?: string;
  port?: string;
  backendStoreUri?: string;
  artifactsDestination?: string;
  workers?: string;
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
      `artifact folder or file:// URI (default: ./keel-data/artifacts, env ${CONFIG_ENV.artifactsDestination})`,
    )
    .option('--workers <n>', `server processes sharing the port (default: 1, env ${CONFIG_ENV.workers})`)
    .action(async (flags: ServerFlags) => {
      const config = resolveServerConfig({
        host: flags.host,
        port: flags.port,
        backendStoreUri: flags.backendStoreUri,
        artifactsDestination: flags.artifactsDestination,
        workers: flags.workers,
      });
      if (cluster.isWorker) return serveWorker(config);
      if (config.workers === 1) return serveSingle(config, io);
      return servePrimary(config, io);
    });
}
