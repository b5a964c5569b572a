import type { ServerConfig } from '@keel/server';
import type { CliIo } from '../io.js';
import { migrateStore, onStopSignal, openBackendStore, readyLine, startApp, stopApp } from './listen.js';

/**
 * Serves from this process alone (`--workers 1`): migrate, build, listen, print the ready line.
 * Resolves once listening; SIGTERM/SIGINT close the app and the store, then exit 0.
 */
export async function serveSingle(config: ServerConfig, io: CliIo): Promise<void> {
  const store = openBackendStore(config);
  let started: Awaited<ReturnType<typeof startApp>>;
  try {
    await migrateStore(store, config.backendStoreUri);
    started = await startApp(store, config);
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  const { app, port } = started;
  onStopSignal(() => stopApp(app, store));
  io.stdout.write(readyLine(config, port, 1));
}
