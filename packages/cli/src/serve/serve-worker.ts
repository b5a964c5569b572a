import type { ServerConfig, StoreConnection } from '@keel/server';
import { oneLine } from '../cli-error.js';
import { isPrimaryMessage, type WorkerMessage } from './cluster-messages.js';
import {
  type KeelApp,
  onStopSignal,
  openBackendStore,
  STOP_TIMEOUT_MS,
  startApp,
  stopApp,
} from './listen.js';

/** How long a worker that failed to start waits for its primary to stop it before exiting by itself. */
const FATAL_EXIT_DELAY_MS = 5_000;

/**
 * Runs one cluster worker: opens its own store connection (the primary has already migrated),
 * listens on the shared port and reports `keel:ready`. It stops gracefully (app, then store) on
 * the primary's `keel:shutdown` or on SIGTERM/SIGINT (Ctrl-C reaches the whole process group).
 * When the primary disappears, Node's cluster module exits the worker.
 */
export async function serveWorker(config: ServerConfig): Promise<void> {
  let store: StoreConnection | undefined;
  let app: KeelApp | undefined;
  try {
    store = openBackendStore(config);
    const started = await startApp(store, config);
    app = started.app;
    await send({ type: 'keel:ready', port: started.port });
  } catch (error) {
    await store?.close().catch(() => undefined);
    await send({ type: 'keel:fatal', message: oneLine(error) });
    // The primary kills us once it has read the message; this only guards against a lost primary.
    setTimeout(() => process.exit(1), FATAL_EXIT_DELAY_MS);
    return;
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= stopApp(app as KeelApp, store as StoreConnection);
    return stopping;
  };
  onStopSignal(stop);
  process.on('message', (message) => {
    if (!isPrimaryMessage(message)) return;
    setTimeout(() => process.exit(1), STOP_TIMEOUT_MS).unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

/** Sends a message to the primary and waits until it is written, so an exit right after cannot lose it. */
function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });
}
