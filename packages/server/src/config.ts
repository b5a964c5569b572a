import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Everything `keel server` can be configured with. Resolved once by {@link resolveServerConfig}. */
export interface ServerConfig {
  /** Interface to bind. @default '127.0.0.1' */
  readonly host: string;
  /** TCP port. @default 5000 */
  readonly port: number;
  /** `sqlite:///path/keel.db` or `postgresql://…`. @default `sqlite:///<cwd>/keel-data/keel.db` */
  readonly backendStoreUri: string;
  /** Where artifacts live: a folder or `file://…` URI. @default `file://<cwd>/keel-data/artifacts` */
  readonly artifactsDestination: string;
  /** Number of server processes sharing the port. @default 1 */
  readonly workers: number;
  /** Pino log level. @default 'info' */
  readonly logLevel: string;
}

/** Options accepted by {@link resolveServerConfig}; anything missing comes from the environment, then defaults. */
export type ServerConfigInput = Partial<Record<keyof ServerConfig, string | number | undefined>>;

/** Environment variables read by Keel, by config field. The only place `process.env` is read for the server. */
export const CONFIG_ENV = {
  host: 'KEEL_HOST',
  port: 'KEEL_PORT',
  backendStoreUri: 'KEEL_BACKEND_STORE_URI',
  artifactsDestination: 'KEEL_ARTIFACTS_DESTINATION',
  workers: 'KEEL_WORKERS',
  logLevel: 'KEEL_LOG_LEVEL',
} as const satisfies Record<keyof ServerConfig, string>;

/** The default data folder of a laptop install: `./keel-data` under the working directory. */
export function defaultDataDir(cwd: string = process.cwd()): string {
  return resolve(cwd, 'keel-data');
}

/**
 * Resolves the server configuration: explicit options win, then `KEEL_*` environment variables,
 * then defaults. The result is frozen.
 *
 * @example
 * const config = resolveServerConfig({ port: 0, backendStoreUri: 'sqlite:///tmp/k.db' });
 */
export function resolveServerConfig(
  input: ServerConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): ServerConfig {
  const pick = (field: keyof ServerConfig): string | undefined => {
    const value = input[field];
    if (value !== undefined && value !== '') return String(value);
    const fromEnv = env[CONFIG_ENV[field]];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };
  const dataDir = defaultDataDir(cwd);
  const port = toInteger('port', pick('port') ?? '5000', 0, 65535);
  const workers = toInteger('workers', pick('workers') ?? '1', 1, 256);
  return Object.freeze({
    host: pick('host') ?? '127.0.0.1',
    port,
    backendStoreUri: pick('backendStoreUri') ?? `sqlite:///${resolve(dataDir, 'keel.db')}`,
    artifactsDestination: normalizeArtifactsDestination(
      pick('artifactsDestination') ?? resolve(dataDir, 'artifacts'),
      cwd,
    ),
    workers,
    logLevel: pick('logLevel') ?? 'info',
  });
}

function toInteger(field: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`Invalid ${field} '${raw}': expected an integer from ${min} to ${max}`);
  }
  return value;
}

/** Turns a plain folder into a `file://` URI; leaves URIs with a scheme as they are. */
export function normalizeArtifactsDestination(value: string, cwd: string = process.cwd()): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  return pathToFileURL(resolve(cwd, value)).href;
}
