/**
 * Deployments: named, versioned serving configurations (see docs/deployments.md). Browser-safe:
 * the types as they travel on Keel's wire and {@link parseDeploymentSpec}, which checks a spec's
 * shape and fills its defaults. Resolving the `models:/` URIs to versions is the server's job.
 */
import { invalidParameter } from './errors.js';
import { parseModelUri } from './model-uri.js';
import { integerIn, knownFields, numberIn, objectAt } from './spec-fields.js';

/** One weighted arm of a deployment. */
export interface DeploymentRoute {
  /** The arm's id, unique in the deployment. @default `route-<i>` (its index) */
  name: string;
  /**
   * A registry URI: `models:/name/7`, `models:/name@alias`, `models:/name/Stage` or
   * `models:/name/latest`. `runs:/` is not allowed: deployments serve registered models.
   */
  model: string;
  /** Relative share of the traffic, ≥ 0 (weights need not sum to 1 or 100). @default 1 */
  weight: number;
}

/** A model that gets a copy of every request; its answer is recorded, never returned. */
export interface DeploymentShadow {
  model: string;
}

/** Micro-batching of one arm's model calls (the model server's `batching`). */
export interface DeploymentBatching {
  /** Most rows in one model call. @default 64 */
  maxBatchSize: number;
  /** Longest wait for more rows before a call, in ms. @default 0 */
  maxDelayMs: number;
}

/** Resources of a deployment's arms; absent fields take the runtime's defaults. */
export interface DeploymentResources {
  /** Model worker threads (or processes) per loaded version. @default the flavor's default */
  workers?: number;
  /** Rows waiting for a model call before requests get 503 with `Retry-After`. @default 4096 */
  maxQueueRows?: number;
  /**
   * Calls the deployment answers at once, over every arm and both protocols, on one server; past it
   * a call gets 429 with `Retry-After`. @default no limit
   */
  maxConcurrentRequests?: number;
}

/** How prediction records keep each call's input and output. */
export const RECORDING_MODES = ['full', 'sample', 'hash'] as const;
/** `full`: every payload; `sample`: payloads of a `sampleRate` share of calls; `hash`: only a hash. */
export type RecordingMode = (typeof RECORDING_MODES)[number];

/** The recording policy of a deployment. */
export interface DeploymentRecording {
  mode: RecordingMode;
  /** Share of calls (0 to 1) whose payloads are kept; only, and required, for `sample`. */
  sampleRate?: number;
}

/**
 * What a deployment serves and how. As returned by {@link parseDeploymentSpec} every route has
 * a name and a weight, and `batching` and `recording` are present.
 */
export interface DeploymentSpec {
  /** At least one route; the weights must sum to more than 0. */
  routes: DeploymentRoute[];
  /** @default none */
  shadow?: DeploymentShadow | null;
  /** @default DEFAULT_DEPLOYMENT_BATCHING */
  batching?: DeploymentBatching;
  /** @default the runtime's */
  resources?: DeploymentResources;
  /** @default { mode: 'full' } */
  recording?: DeploymentRecording;
}

/**
 * A spec as clients may write it, before {@link parseDeploymentSpec} fills the defaults: route
 * names and weights optional, `shadow` as a bare URI, `batching` partial.
 *
 * @example
 * const spec: DeploymentSpecInput = { routes: [{ model: 'models:/fraud@champion' }], shadow: 'models:/fraud/9' };
 */
export interface DeploymentSpecInput {
  routes: { name?: string; model: string; weight?: number }[];
  shadow?: string | DeploymentShadow | null;
  batching?: Partial<DeploymentBatching>;
  resources?: DeploymentResources;
  recording?: DeploymentRecording;
}

/** A deployment as Keel's API returns it: its current revision. */
export interface Deployment {
  /** `[A-Za-z0-9][A-Za-z0-9_.-]{0,127}` */
  name: string;
  /** 1, 2, …: every change (create, update, rollback) makes a new revision; numbers are never reused. */
  revision: number;
  spec: DeploymentSpec;
  description?: string;
  /** Epoch ms. */
  creation_timestamp: number;
  /** Epoch ms of the current revision. */
  last_updated_timestamp: number;
  /** Who created the deployment. */
  created_by?: string;
  /** Who made the current revision. */
  last_updated_by?: string;
}

/** How a revision came about. */
export const DEPLOYMENT_ACTIONS = ['created', 'updated', 'rolled_back'] as const;
/** One of {@link DEPLOYMENT_ACTIONS}. */
export type DeploymentAction = (typeof DEPLOYMENT_ACTIONS)[number];

/**
 * One revision of a deployment, as `deployments/revisions` lists them: the deployment as it was
 * right after that change. Here `creation_timestamp`/`created_by` and
 * `last_updated_timestamp`/`last_updated_by` both describe the revision itself (when, and by whom,
 * it was made).
 */
export interface DeploymentRevision extends Deployment {
  action: DeploymentAction;
  /** For `rolled_back`: the revision whose spec was restored. */
  source_revision?: number;
}

/** Arm name of the shadow model in prediction records; no route may take it. */
export const SHADOW_ARM = 'shadow';

/** Batching a spec gets when it names none; the same numbers as the model server's `DEFAULT_BATCHING`. */
export const DEFAULT_DEPLOYMENT_BATCHING: Readonly<DeploymentBatching> = Object.freeze({
  maxBatchSize: 64,
  maxDelayMs: 0,
});

/** Bounds checked by {@link parseDeploymentSpec} and the deployment service. */
export const DEPLOYMENT_LIMITS = {
  maxRoutes: 32,
  maxBatchSize: 65_536,
  maxDelayMs: 60_000,
  maxWorkers: 256,
  maxQueueRows: 100_000_000,
  maxConcurrentRequests: 1_000_000,
  maxDescriptionLength: 65_535,
  maxModelUriLength: 1024,
} as const;

const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const ROUTE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Checks a deployment name: `[A-Za-z0-9][A-Za-z0-9_.-]{0,127}` (it appears in URLs such as
 * `/deployments/{name}/invocations`).
 *
 * @throws INVALID_PARAMETER_VALUE naming `field`.
 * @example validateDeploymentName('fraud-v2'); // ok
 */
export function validateDeploymentName(name: string, field = 'name'): void {
  if (name === '') throw invalidParameter(`Missing value for required parameter '${field}'`);
  if (!DEPLOYMENT_NAME.test(name)) {
    throw invalidParameter(
      `Invalid value '${name.slice(0, 200)}' for parameter '${field}': a deployment name is 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  }
}

/**
 * Validates a deployment spec (a parsed JSON value) and returns it normalised: routes named
 * (`route-<i>` by default) and weighted (1 by default), a string `shadow` turned into
 * `{ model }` (and `null` dropped), `batching` completed from {@link DEFAULT_DEPLOYMENT_BATCHING},
 * `recording` defaulting to `{ mode: 'full' }`, keys in a fixed order. Unknown fields are
 * refused, so a misspelt option is not silently ignored.
 *
 * @throws INVALID_PARAMETER_VALUE whose message starts with the offending field's path, e.g.
 *   `spec.routes[1].weight must be a non-negative number`.
 *
 * @example
 * parseDeploymentSpec({ routes: [{ model: 'models:/fraud@champion', weight: 90 }, { model: 'models:/fraud/8', weight: 10 }] });
 * // { routes: [{ name: 'route-0', model: 'models:/fraud@champion', weight: 90 }, { name: 'route-1', …, weight: 10 }],
 * //   batching: { maxBatchSize: 64, maxDelayMs: 0 }, recording: { mode: 'full' } }
 */
export function parseDeploymentSpec(value: unknown, field = 'spec'): DeploymentSpec {
  const spec = objectAt(value, field);
  knownFields(spec, field, ['routes', 'shadow', 'batching', 'resources', 'recording']);
  const routes = parseRoutes(spec.routes, `${field}.routes`);
  const out: DeploymentSpec = { routes };
  const shadow = parseShadow(spec.shadow, `${field}.shadow`);
  if (shadow !== undefined) out.shadow = shadow;
  out.batching = parseBatching(spec.batching, `${field}.batching`);
  const resources = parseResources(spec.resources, `${field}.resources`);
  if (resources !== undefined) out.resources = resources;
  out.recording = parseRecording(spec.recording, `${field}.recording`);
  return out;
}

function parseRoutes(value: unknown, field: string): DeploymentRoute[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidParameter(`${field} must be a non-empty list of routes`);
  }
  if (value.length > DEPLOYMENT_LIMITS.maxRoutes) {
    throw invalidParameter(
      `${field} has ${value.length} routes; at most ${DEPLOYMENT_LIMITS.maxRoutes} are allowed`,
    );
  }
  const seen = new Map<string, number>();
  const routes = value.map((item, index): DeploymentRoute => {
    const at = `${field}[${index}]`;
    const route = objectAt(item, at);
    knownFields(route, at, ['name', 'model', 'weight']);
    const name = route.name === undefined ? `route-${index}` : route.name;
    if (typeof name !== 'string' || !ROUTE_NAME.test(name)) {
      throw invalidParameter(
        `${at}.name must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit`,
      );
    }
    if (name === SHADOW_ARM)
      throw invalidParameter(`${at}.name '${SHADOW_ARM}' is reserved for the shadow model`);
    const previous = seen.get(name);
    if (previous !== undefined) {
      throw invalidParameter(`${at}.name '${name}' is already used by ${field}[${previous}]`);
    }
    seen.set(name, index);
    const weight = route.weight === undefined ? 1 : route.weight;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw invalidParameter(`${at}.weight must be a non-negative number`);
    }
    return { name, model: parseRegistryUri(route.model, `${at}.model`), weight };
  });
  if (!routes.some((r) => r.weight > 0)) {
    throw invalidParameter(`${field} weights sum to 0: at least one route needs a positive weight`);
  }
  return routes;
}

function parseShadow(value: unknown, field: string): DeploymentShadow | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return { model: parseRegistryUri(value, field) };
  const shadow = objectAt(value, field, 'an object { model } or a models:/ URI');
  knownFields(shadow, field, ['model']);
  return { model: parseRegistryUri(shadow.model, `${field}.model`) };
}

function parseBatching(value: unknown, field: string): DeploymentBatching {
  if (value === undefined || value === null) return { ...DEFAULT_DEPLOYMENT_BATCHING };
  const batching = objectAt(value, field);
  knownFields(batching, field, ['maxBatchSize', 'maxDelayMs']);
  return {
    maxBatchSize:
      batching.maxBatchSize === undefined
        ? DEFAULT_DEPLOYMENT_BATCHING.maxBatchSize
        : integerIn(batching.maxBatchSize, `${field}.maxBatchSize`, 1, DEPLOYMENT_LIMITS.maxBatchSize),
    maxDelayMs:
      batching.maxDelayMs === undefined
        ? DEFAULT_DEPLOYMENT_BATCHING.maxDelayMs
        : numberIn(batching.maxDelayMs, `${field}.maxDelayMs`, 0, DEPLOYMENT_LIMITS.maxDelayMs),
  };
}

function parseResources(value: unknown, field: string): DeploymentResources | undefined {
  if (value === undefined || value === null) return undefined;
  const resources = objectAt(value, field);
  knownFields(resources, field, ['workers', 'maxQueueRows', 'maxConcurrentRequests']);
  const out: DeploymentResources = {};
  if (resources.workers !== undefined) {
    out.workers = integerIn(resources.workers, `${field}.workers`, 1, DEPLOYMENT_LIMITS.maxWorkers);
  }
  if (resources.maxQueueRows !== undefined) {
    out.maxQueueRows = integerIn(
      resources.maxQueueRows,
      `${field}.maxQueueRows`,
      1,
      DEPLOYMENT_LIMITS.maxQueueRows,
    );
  }
  if (resources.maxConcurrentRequests !== undefined) {
    out.maxConcurrentRequests = integerIn(
      resources.maxConcurrentRequests,
      `${field}.maxConcurrentRequests`,
      1,
      DEPLOYMENT_LIMITS.maxConcurrentRequests,
    );
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function parseRecording(value: unknown, field: string): DeploymentRecording {
  if (value === undefined || value === null) return { mode: 'full' };
  const recording = objectAt(value, field);
  knownFields(recording, field, ['mode', 'sampleRate']);
  const mode = recording.mode === undefined ? 'full' : recording.mode;
  const known = RECORDING_MODES.find((m) => m === mode);
  if (known === undefined) {
    throw invalidParameter(`${field}.mode must be one of ${RECORDING_MODES.join(', ')}`);
  }
  if (known !== 'sample') {
    if (recording.sampleRate !== undefined) {
      throw invalidParameter(`${field}.sampleRate is only allowed when ${field}.mode is 'sample'`);
    }
    return { mode: known };
  }
  if (recording.sampleRate === undefined) {
    throw invalidParameter(`${field}.sampleRate is required when ${field}.mode is 'sample'`);
  }
  return { mode: known, sampleRate: numberIn(recording.sampleRate, `${field}.sampleRate`, 0, 1) };
}

/** A `models:/` URI, checked with {@link parseModelUri}; `runs:/` is refused. */
function parseRegistryUri(value: unknown, field: string): string {
  if (value === undefined || value === null || value === '') {
    throw invalidParameter(`${field} is required: a models:/ URI such as models:/fraud@champion`);
  }
  if (typeof value !== 'string') throw invalidParameter(`${field} must be a models:/ URI string`);
  if (value.length > DEPLOYMENT_LIMITS.maxModelUriLength) {
    throw invalidParameter(
      `${field} is ${value.length} characters long; at most ${DEPLOYMENT_LIMITS.maxModelUriLength} are allowed`,
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw invalidParameter(`${field} must not contain control characters`);
  let kind: string;
  try {
    kind = parseModelUri(value).kind;
  } catch (error) {
    throw invalidParameter(`${field}: ${(error as Error).message}`);
  }
  if (kind === 'run') {
    throw invalidParameter(
      `${field} must be a models:/ URI: runs:/ URIs are not allowed (deployments serve registered models)`,
    );
  }
  return value;
}
