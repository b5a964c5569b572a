import type { AddressInfo } from 'node:net';
import { buildApp, migrateToLatest, openStore, type ServerConfig, type StoreConnection } from '@keel/server';
import { CliError, oneLine } from '../cli-error.js';
import { redactUri } from '../redact.js';
import { listenError } from './lifecycle.js';

export { onStopSignal, STOP_TIMEOUT_MS } from './lifecycle.js';

/** The Fastify application `buildApp` returns (the CLI does not depend on Fastify itself). */
export type KeelApp = Awaited<ReturnType<typeof buildApp>>;

/**
 * Opens the backend store, turning a bad URI into a one-line {@link CliError} that names the
 * schemes Keel knows (the message comes from `openStore`).
 */
export function openBackendStore(config: Pick<ServerConfig, 'backendStoreUri'>): StoreConnection {
  try {
    return openStore(config.backendStoreUri);
  } catch (error) {
    throw new CliError(oneLine(error), { cause: error });
  }
}

/** Applies pending migrations; a failure names the store (password hidden) and the failed step. */
export async function migrateStore(store: StoreConnection, uri: string): Promise<void> {
  try {
    await migrateToLatest(store);
  } catch (error) {
    const root = connectionFailure(error);
    if (root)
      throw new CliError(`Cannot connect to backend store ${redactUri(uri)}: ${oneLine(root)}`, {
        cause: error,
      });
    throw new CliError(`Cannot prepare backend store ${redactUri(uri)}: ${oneLine(error)}`, { cause: error });
  }
}

/** Socket errors, and PostgreSQL's connection (08xxx), authentication (28xxx) and unknown-database codes. */
const CONNECTION_CODES =
  /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|08...|28...|3D000)$/;

/** The innermost cause when it says the store could not be reached at all, rather than a failed migration. */
export function connectionFailure(error: unknown): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && CONNECTION_CODES.test(code)) return current;
    current = current.cause;
  }
  return undefined;
}

/** Builds the app on an open store and listens on the configured host and port; returns the bound port. */
export async function startApp(
  store: StoreConnection,
  config: ServerConfig,
): Promise<{ app: KeelApp; port: number }> {
  const app = await buildApp({ store, config });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw listenError(error, config);
  }
  const address = app.server.address() as AddressInfo | null;
  return { app, port: address?.port ?? config.port };
}

/** `Keel listening on http://127.0.0.1:5000 (sqlite:///…/keel.db, 2 workers)` plus a newline. */
export function readyLine(config: ServerConfig, port: number, workers: number): string {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const processes = `${workers} worker${workers === 1 ? '' : 's'}`;
  return `Keel listening on http://${host}:${port} (${redactUri(config.backendStoreUri)}, ${processes})\n`;
}

/** Closes the app (in-flight requests finish, idle keep-alive sockets close), then the store. */
export async function stopApp(app: KeelApp, store: StoreConnection): Promise<void> {
  try {
    await app.close();
  } finally {
    await store.close();
  }
}
