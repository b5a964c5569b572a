import cluster, { type Worker } from 'node:cluster';
import type { ServerConfig } from '@keel/server';
import { CliError } from '../cli-error.js';
import type { CliIo } from '../io.js';
import { isWorkerMessage } from './cluster-messages.js';
import { migrateStore, openBackendStore, readyLine, STOP_TIMEOUT_MS } from './listen.js';

/** A replacement worker that fails to start this many times in a row stops the server. */
const MAX_FAILED_RESTARTS = 5;
/** Pause before replacing a dead worker: lets a Ctrl-C reach the primary first, and throttles crash loops. */
const RESTART_DELAY_MS = 250;

interface WorkerState {
  ready: boolean;
  fatal?: string;
}

/**
 * Runs the cluster primary for `--workers N` (N > 1). It applies pending migrations once, then
 * forks N workers (each re-runs this command and sees `cluster.isWorker`) that listen on the same
 * port. Resolves after every worker is listening and the ready line is printed; rejects with the
 * worker's own one-line reason when the first workers cannot start (port in use, store
 * unreachable). A worker that dies later is replaced. SIGTERM/SIGINT ask every worker to stop
 * gracefully, then exit 0; a second signal or {@link STOP_TIMEOUT_MS} kills them, and the exit
 * code is then 1.
 */
export async function servePrimary(config: ServerConfig, io: CliIo): Promise<void> {
  const store = openBackendStore(config);
  try {
    await migrateStore(store, config.backendStoreUri);
  } finally {
    await store.close();
  }

  return new Promise<void>((resolve, reject) => {
    const workers = new Map<Worker, WorkerState>();
    let announced = false;
    let stopping = false;
    let exitCodeAfterStop: number | undefined;
    let failedRestarts = 0;

    const fork = (): void => {
      const worker = cluster.fork();
      const state: WorkerState = { ready: false };
      workers.set(worker, state);
      worker.on('message', (message: unknown) => {
        if (!isWorkerMessage(message)) return;
        if (message.type === 'keel:fatal') {
          state.fatal = message.message;
          worker.process.kill('SIGKILL');
          return;
        }
        state.ready = true;
        failedRestarts = 0;
        const readyCount = [...workers.values()].filter((s) => s.ready).length;
        if (!announced && readyCount === config.workers) {
          announced = true;
          io.stdout.write(readyLine(config, message.port, config.workers));
          resolve();
        }
      });
    };

    const stopAll = (exitCode: number | undefined): void => {
      if (stopping) {
        forceStop();
        return;
      }
      stopping = true;
      exitCodeAfterStop = exitCode;
      if (workers.size === 0) {
        finish();
        return;
      }
      for (const [worker, state] of workers) {
        // A worker still starting has no requests to drain and may not listen for messages yet.
        if (state.ready && worker.isConnected()) worker.send({ type: 'keel:shutdown' });
        else worker.process.kill('SIGTERM');
      }
      setTimeout(forceStop, STOP_TIMEOUT_MS).unref();
    };

    /** A stop that had to kill is not a clean one: exit 1 instead of 0. */
    const forceStop = (): void => {
      if (workers.size === 0) return;
      if (exitCodeAfterStop === 0) exitCodeAfterStop = 1;
      for (const worker of workers.keys()) worker.process.kill('SIGKILL');
    };

    const finish = (): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      if (exitCodeAfterStop !== undefined) process.exit(exitCodeAfterStop);
    };

    const onSignal = (): void => stopAll(0);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);

    cluster.on('exit', (worker, code, signal) => {
      const state = workers.get(worker);
      if (!state) return;
      workers.delete(worker);
      if (stopping) {
        if (workers.size === 0) finish();
        return;
      }
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      if (!announced) {
        stopAll(undefined);
        reject(new CliError(state.fatal ?? `A server worker exited while starting (${how})`));
        return;
      }
      if (state.ready) {
        io.stderr.write(`Keel worker ${worker.process.pid} exited (${how}); starting a replacement\n`);
      } else {
        failedRestarts += 1;
        io.stderr.write(`error: replacement worker failed to start: ${state.fatal ?? how}\n`);
        if (failedRestarts >= MAX_FAILED_RESTARTS) {
          io.stderr.write(
            `error: ${failedRestarts} replacement workers in a row failed to start; stopping\n`,
          );
          stopAll(1);
          return;
        }
      }
      setTimeout(
        () => {
          if (!stopping) fork();
        },
        RESTART_DELAY_MS * (failedRestarts + 1),
      );
    });

    for (let i = 0; i < config.workers; i += 1) fork();
  });
}
