import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** How Keel reaches an S3-compatible object store for `s3://` artifact destinations. */
export interface S3Config {
  /**
   * Endpoint of a self-hosted or non-AWS store, e.g. `http://127.0.0.1:9000`. Unset means AWS S3.
   * @default undefined
   */
  readonly endpoint?: string;
  /** Signing region. @default 'us-east-1' */
  readonly region: string;
  /**
   * Path-style addressing (`http://host/bucket/key`), which most self-hosted stores need.
   * @default true when an endpoint is set, false for AWS S3
   */
  readonly forcePathStyle: boolean;
  /** Static credentials; when unset the AWS SDK's default chain (profiles, instance roles) applies. */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

/**
 * How the webhook dispatcher delivers (see docs/webhooks.md, "Delivery"). Each field has a
 * `KEEL_WEBHOOK_*` variable ({@link WEBHOOK_ENV}); tests pass small literals.
 */
export interface WebhookDeliveryConfig {
  /** Attempts per delivery before it is marked failed. @default 8 */
  readonly maxAttempts: number;
  /** Delay before the first retry; doubles per attempt, plus up to 25% jitter. @default 1000 */
  readonly backoffBaseMs: number;
  /** Longest delay between two attempts. @default 300000 (5 minutes) */
  readonly backoffMaxMs: number;
  /** How often an idle dispatcher looks for due deliveries. @default 1000 */
  readonly pollIntervalMs: number;
  /** Per-request timeout. @default 10000 */
  readonly timeoutMs: number;
}

/** Defaults of {@link WebhookDeliveryConfig}. */
export const DEFAULT_WEBHOOK_DELIVERY: WebhookDeliveryConfig = Object.freeze({
  maxAttempts: 8,
  backoffBaseMs: 1000,
  backoffMaxMs: 300_000,
  pollIntervalMs: 1000,
  timeoutMs: 10_000,
});

/** The variables of {@link WebhookDeliveryConfig}, by field. */
export const WEBHOOK_ENV = {
  maxAttempts: 'KEEL_WEBHOOK_MAX_ATTEMPTS',
  backoffBaseMs: 'KEEL_WEBHOOK_BACKOFF_BASE_MS',
  backoffMaxMs: 'KEEL_WEBHOOK_BACKOFF_MAX_MS',
  pollIntervalMs: 'KEEL_WEBHOOK_POLL_INTERVAL_MS',
  timeoutMs: 'KEEL_WEBHOOK_TIMEOUT_MS',
} as const satisfies Record<keyof WebhookDeliveryConfig, string>;

/** Everything `keel server` can be configured with. Resolved once by {@link resolveServerConfig}. */
export interface ServerConfig {
  /** Interface to bind. @default '127.0.0.1' */
  readonly host: string;
  /** TCP port. @default 5000 */
  readonly port: number;
  /** `sqlite:///path/keel.db` or `postgresql://…`. @default `sqlite:///<cwd>/keel-data/keel.db` */
  readonly backendStoreUri: string;
  /**
   * Where artifacts live: a folder, a `file://…` URI or `s3://bucket/prefix`.
   * @default `file://<cwd>/keel-data/artifacts`
   */
  readonly artifactsDestination: string;
  /** Number of server processes sharing the port. @default 1 */
  readonly workers: number;
  /** Pino log level. @default 'info' */
  readonly logLevel: string;
  /** S3 client settings, used when {@link artifactsDestination} is an `s3://` URI. */
  readonly s3: S3Config;
  /** Webhook delivery settings. */
  readonly webhooks: WebhookDeliveryConfig;
  /**
   * Folder where prediction records wait when the backend store cannot take them yet (see
   * `PredictionRecorder`); replayed on the next start.
   * @default `predictions-spill` beside the SQLite file, else `<cwd>/keel-data/predictions-spill`
   */
  readonly predictionSpillDir: string;
  /**
   * Folder registered model versions are copied into before deployments load them (see `ModelCache`).
   * @default `model-cache` beside the SQLite file, else `<cwd>/keel-data/model-cache`
   */
  readonly modelCacheDir: string;
  /** Worker processes running workflow task attempts at once (see `LocalProcessExecutor`). @default os.availableParallelism() */
  readonly workflowWorkers: number;
  /**
   * Folder workflow code packages and task inputs are downloaded into, and attempts run in.
   * @default `workflow-cache` beside the SQLite file, else `<cwd>/keel-data/workflow-cache`
   */
  readonly workflowCacheDir: string;
  /**
   * How long the workflow scheduler's leases last: a process killed without warning has its
   * executions continued by another (or the restarted) one after this long. Renewed every third of it.
   * @default 15000
   */
  readonly workflowLeaseMs: number;
}

/** The scalar fields of {@link ServerConfig}, each set by one flag and one `KEEL_*` variable. */
type ScalarField = Exclude<keyof ServerConfig, 's3' | 'webhooks'>;

/** Options accepted by {@link resolveServerConfig}; anything missing comes from the environment, then defaults. */
export type ServerConfigInput = Partial<Record<ScalarField, string | number | undefined>> & {
  /** `--s3-endpoint-url` */
  s3EndpointUrl?: string | undefined;
  /** `--s3-region` */
  s3Region?: string | undefined;
  /** `--s3-force-path-style` (`true`/`false`) */
  s3ForcePathStyle?: boolean | string | undefined;
};

/** Environment variables read by Keel, by config field. The only place `process.env` is read for the server. */
export const CONFIG_ENV = {
  host: 'KEEL_HOST',
  port: 'KEEL_PORT',
  backendStoreUri: 'KEEL_BACKEND_STORE_URI',
  artifactsDestination: 'KEEL_ARTIFACTS_DESTINATION',
  workers: 'KEEL_WORKERS',
  logLevel: 'KEEL_LOG_LEVEL',
  predictionSpillDir: 'KEEL_PREDICTION_SPILL_DIR',
  modelCacheDir: 'KEEL_MODEL_CACHE_DIR',
  workflowWorkers: 'KEEL_WORKFLOW_WORKERS',
  workflowCacheDir: 'KEEL_WORKFLOW_CACHE_DIR',
  workflowLeaseMs: 'KEEL_WORKFLOW_LEASE_MS',
} as const satisfies Record<ScalarField, string>;

/**
 * The standard variables the S3 settings come from, first match wins: AWS's own names, plus
 * MLflow's `MLFLOW_S3_ENDPOINT_URL` so an MLflow deployment's environment works unchanged.
 */
export const S3_ENV = {
  endpoint: ['KEEL_S3_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'MLFLOW_S3_ENDPOINT_URL', 'AWS_ENDPOINT_URL'],
  region: ['KEEL_S3_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'],
  forcePathStyle: ['KEEL_S3_FORCE_PATH_STYLE'],
  accessKeyId: ['AWS_ACCESS_KEY_ID'],
  secretAccessKey: ['AWS_SECRET_ACCESS_KEY'],
  sessionToken: ['AWS_SESSION_TOKEN'],
} as const;

/** The default data folder of a laptop install: `./keel-data` under the working directory. */
export function defaultDataDir(cwd: string = process.cwd()): string {
  return resolve(cwd, 'keel-data');
}

/**
 * Resolves the server configuration: explicit options win, then `KEEL_*` environment variables
 * (and the standard AWS variables for S3), then defaults. The result is frozen.
 *
 * @example
 * const config = resolveServerConfig({ port: 0, backendStoreUri: 'sqlite:///tmp/k.db' });
 */
export function resolveServerConfig(
  input: ServerConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): ServerConfig {
  const pick = (field: ScalarField): string | undefined => {
    const value = input[field];
    if (value !== undefined && value !== '') return String(value);
    return fromEnv(env, [CONFIG_ENV[field]]);
  };
  const dataDir = defaultDataDir(cwd);
  const port = toInteger('port', pick('port') ?? '5000', 0, 65535);
  const workers = toInteger('workers', pick('workers') ?? '1', 1, 256);
  const backendStoreUri = pick('backendStoreUri') ?? `sqlite:///${resolve(dataDir, 'keel.db')}`;
  const spillDir = pick('predictionSpillDir');
  const modelCacheDir = pick('modelCacheDir');
  const workflowCacheDir = pick('workflowCacheDir');
  return Object.freeze({
    host: pick('host') ?? '127.0.0.1',
    port,
    backendStoreUri,
    artifactsDestination: normalizeArtifactsDestination(
      pick('artifactsDestination') ?? resolve(dataDir, 'artifacts'),
      cwd,
    ),
    workers,
    logLevel: pick('logLevel') ?? 'info',
    s3: resolveS3Config(input, env),
    webhooks: resolveWebhookDeliveryConfig(env),
    predictionSpillDir:
      spillDir !== undefined
        ? resolve(cwd, spillDir)
        : besideStore(backendStoreUri, dataDir, cwd, 'predictions-spill'),
    modelCacheDir:
      modelCacheDir !== undefined
        ? resolve(cwd, modelCacheDir)
        : besideStore(backendStoreUri, dataDir, cwd, 'model-cache'),
    workflowWorkers: toInteger(
      'workflowWorkers',
      pick('workflowWorkers') ?? String(Math.max(1, availableParallelism())),
      1,
      1024,
    ),
    workflowCacheDir:
      workflowCacheDir !== undefined
        ? resolve(cwd, workflowCacheDir)
        : besideStore(backendStoreUri, dataDir, cwd, 'workflow-cache'),
    workflowLeaseMs: toInteger('workflowLeaseMs', pick('workflowLeaseMs') ?? '15000', 100, 3_600_000),
  });
}

/** The folder `name` beside the SQLite file of a `sqlite:///` store, else under the data folder. */
function besideStore(backendStoreUri: string, dataDir: string, cwd: string, name: string): string {
  // sqlite:///relative and sqlite:////absolute, as `sqlitePathOf` reads them (not imported: this
  // module stays free of the store's dependencies).
  const sqlite = /^sqlite:\/\/\/([^?]+)/i.exec(backendStoreUri)?.[1];
  if (sqlite !== undefined && sqlite !== ':memory:') {
    return resolve(dirname(resolve(cwd, decodeURIComponent(sqlite))), name);
  }
  return resolve(dataDir, name);
}

/** The S3 block of {@link resolveServerConfig}: flags, then environment, then defaults. */
function resolveS3Config(input: ServerConfigInput, env: NodeJS.ProcessEnv): S3Config {
  const endpoint = nonEmpty(input.s3EndpointUrl) ?? fromEnv(env, S3_ENV.endpoint);
  if (endpoint !== undefined && !/^https?:\/\/[^/]/i.test(endpoint)) {
    throw new Error(`Invalid S3 endpoint '${endpoint}': expected an http:// or https:// URL`);
  }
  const pathStyle = input.s3ForcePathStyle ?? fromEnv(env, S3_ENV.forcePathStyle);
  const accessKeyId = fromEnv(env, S3_ENV.accessKeyId);
  const secretAccessKey = fromEnv(env, S3_ENV.secretAccessKey);
  const sessionToken = fromEnv(env, S3_ENV.sessionToken);
  return Object.freeze({
    ...(endpoint !== undefined ? { endpoint } : {}),
    region: nonEmpty(input.s3Region) ?? fromEnv(env, S3_ENV.region) ?? 'us-east-1',
    forcePathStyle:
      pathStyle === undefined || pathStyle === ''
        ? endpoint !== undefined
        : toBoolean('s3ForcePathStyle', pathStyle),
    ...(accessKeyId !== undefined && secretAccessKey !== undefined
      ? {
          credentials: Object.freeze({
            accessKeyId,
            secretAccessKey,
            ...(sessionToken !== undefined ? { sessionToken } : {}),
          }),
        }
      : {}),
  });
}

/** The webhook block of {@link resolveServerConfig}: `KEEL_WEBHOOK_*` variables, then defaults. */
function resolveWebhookDeliveryConfig(env: NodeJS.ProcessEnv): WebhookDeliveryConfig {
  const pick = (field: keyof WebhookDeliveryConfig, min: number, max: number): number => {
    const raw = fromEnv(env, [WEBHOOK_ENV[field]]);
    return raw === undefined ? DEFAULT_WEBHOOK_DELIVERY[field] : toInteger(WEBHOOK_ENV[field], raw, min, max);
  };
  return Object.freeze({
    maxAttempts: pick('maxAttempts', 1, 100),
    backoffBaseMs: pick('backoffBaseMs', 1, 3_600_000),
    backoffMaxMs: pick('backoffMaxMs', 1, 86_400_000),
    pollIntervalMs: pick('pollIntervalMs', 1, 3_600_000),
    timeoutMs: pick('timeoutMs', 1, 600_000),
  });
}

function fromEnv(env: NodeJS.ProcessEnv, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function toBoolean(field: string, raw: boolean | string): boolean {
  if (typeof raw === 'boolean') return raw;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new Error(`Invalid ${field} '${raw}': expected true or false`);
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
