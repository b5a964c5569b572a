/**
 * Listening and stopping, shared by `keel server` and `keel models serve`. Light on purpose: it
 * imports neither the tracking server nor the model runtime, so either command loads only its own.
 */
import { CliError, oneLine } from '../cli-error.js';

/** How long a graceful stop may take before the process exits anyway. */
export const STOP_TIMEOUT_MS = 10_000;

/** Where a server tried to listen. */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * Turns a `listen` failure into one clear sentence.
 *
 * @example
 * listenError(Object.assign(new Error('x'), { code: 'EADDRINUSE' }), { host: '127.0.0.1', port: 5001 }).message;
 * // "Port 5001 on 127.0.0.1 is already in use; pick another with --port"
 */
export function listenError(error: unknown, { host, port }: ListenAddress): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new CliError(`Port ${port} on ${host} is already in use; pick another with --port`);
    case 'EACCES':
      return new CliError(`Permission denied binding ${where}; ports below 1024 need privileges`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new CliError(`Cannot bind ${where}: host '${host}' is not an address of this machine`);
    default:
      return new CliError(`Cannot listen on ${where}: ${oneLine(error)}`, { cause: error });
  }
}

/** `http://host:port`, with an IPv6 host in brackets. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Runs `stop` once on the first SIGTERM or SIGINT; a second signal, or a stop that outlives
 * {@link STOP_TIMEOUT_MS}, exits at once with code 1.
 */
export function onStopSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => process.exit(1), STOP_TIMEOUT_MS).unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`error: while stopping: ${oneLine(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
