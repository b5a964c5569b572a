import { readFileSync } from 'node:fs';
import { type DeploymentSpecInput, RECORDING_MODES, type RecordingMode } from '@keel/core';
import { type Command, Option } from 'commander';
import { CliError } from '../../cli-error.js';
import { collect, nonNegativeInteger, positiveInteger } from '../../options.js';

/** The flags that describe a deployment spec (shared by `create` and `update`). */
export interface DeploymentSpecFlags {
  specFile?: string;
  route?: string[];
  /** A URI, or `false` from `--no-shadow`. */
  shadow?: string | false;
  batchMaxSize?: number;
  batchMaxDelayMs?: number;
  workers?: number;
  maxQueueRows?: number;
  record?: RecordingMode;
  sampleRate?: number;
}

type RouteInput = DeploymentSpecInput['routes'][number];

/**
 * Adds the spec flags to a command: `--spec-file`, `--route` (repeatable), `--shadow`/`--no-shadow`,
 * `--batch-max-size`, `--batch-max-delay-ms`, `--workers`, `--max-queue-rows`, `--record`,
 * `--sample-rate`.
 */
export function withSpecFlags(command: Command): Command {
  return command
    .option(
      '--spec-file <path>',
      'JSON file with the spec (or a deployment as `get --json` prints it); the other flags override its fields',
    )
    .option(
      '--route <[name=]uri[:weight]>',
      'a route, e.g. stable=models:/fraud@champion:90; repeat for a traffic split (replaces all routes)',
      collect,
    )
    .option(
      '--shadow <uri>',
      'a model that gets a copy of every request (its answers are recorded, never returned)',
    )
    .option('--no-shadow', 'remove the shadow model')
    .option(
      '--batch-max-size <rows>',
      'rows merged from concurrent requests into one model call (default: 64)',
      positiveInteger('--batch-max-size'),
    )
    .option(
      '--batch-max-delay-ms <ms>',
      'how long an incomplete batch may wait for more requests (default: 0)',
      nonNegativeInteger('--batch-max-delay-ms'),
    )
    .option('--workers <n>', 'model workers per loaded version', positiveInteger('--workers'))
    .option(
      '--max-queue-rows <rows>',
      'rows that may wait before requests get 503 (default: 4096)',
      positiveInteger('--max-queue-rows'),
    )
    .addOption(
      new Option('--record <mode>', 'what prediction records keep of each call (default: full)').choices(
        RECORDING_MODES,
      ),
    )
    .option(
      '--sample-rate <rate>',
      'share of calls whose payloads are kept, 0 to 1 (implies --record sample)',
      rate,
    );
}

/** Whether any spec flag was given. */
export function hasSpecFlags(flags: DeploymentSpecFlags): boolean {
  return (
    flags.specFile !== undefined ||
    flags.route !== undefined ||
    flags.shadow !== undefined ||
    flags.batchMaxSize !== undefined ||
    flags.batchMaxDelayMs !== undefined ||
    flags.workers !== undefined ||
    flags.maxQueueRows !== undefined ||
    flags.record !== undefined ||
    flags.sampleRate !== undefined
  );
}

/**
 * The spec the flags describe: `--spec-file`'s spec if given, else `base` (the current spec for
 * `update`, nothing for `create`), with each given flag replacing its field. The server checks
 * the result (`parseDeploymentSpec`) and names any bad field.
 *
 * @example
 * specFromFlags({ route: ['stable=models:/fraud@champion:90', 'canary=models:/fraud/8:10'] });
 * // { routes: [{ name: 'stable', model: 'models:/fraud@champion', weight: 90 }, { name: 'canary', … weight: 10 }] }
 */
export function specFromFlags(flags: DeploymentSpecFlags, base?: DeploymentSpecInput): DeploymentSpecInput {
  const spec: Partial<DeploymentSpecInput> = structuredClone(
    flags.specFile !== undefined ? readSpecFile(flags.specFile) : (base ?? {}),
  );
  if (flags.route !== undefined) spec.routes = flags.route.map(parseRoute);
  if (flags.shadow === false) delete spec.shadow;
  else if (flags.shadow !== undefined) spec.shadow = flags.shadow;
  if (flags.batchMaxSize !== undefined || flags.batchMaxDelayMs !== undefined) {
    spec.batching = {
      ...spec.batching,
      ...(flags.batchMaxSize === undefined ? {} : { maxBatchSize: flags.batchMaxSize }),
      ...(flags.batchMaxDelayMs === undefined ? {} : { maxDelayMs: flags.batchMaxDelayMs }),
    };
  }
  if (flags.workers !== undefined || flags.maxQueueRows !== undefined) {
    spec.resources = {
      ...spec.resources,
      ...(flags.workers === undefined ? {} : { workers: flags.workers }),
      ...(flags.maxQueueRows === undefined ? {} : { maxQueueRows: flags.maxQueueRows }),
    };
  }
  if (flags.record !== undefined || flags.sampleRate !== undefined) {
    const mode = flags.record ?? (flags.sampleRate !== undefined ? 'sample' : 'full');
    const sampleRate = flags.sampleRate ?? spec.recording?.sampleRate;
    spec.recording = mode === 'sample' && sampleRate !== undefined ? { mode, sampleRate } : { mode };
  }
  if (spec.routes === undefined) {
    throw new CliError('A deployment needs at least one route: give --route (repeatable) or --spec-file');
  }
  return spec as DeploymentSpecInput;
}

/**
 * Parses `--route [name=]<models:/ URI>[:weight]`, e.g. `stable=models:/fraud@champion:90`,
 * `models:/fraud/7`. The weight is the number after the last `:`.
 */
export function parseRoute(text: string): RouteInput {
  const named = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(.*)$/.exec(text);
  let rest = named ? (named[2] as string) : text;
  const weighted = /^(.+):(\d+(?:\.\d+)?)$/.exec(rest);
  let weight: number | undefined;
  if (weighted) {
    rest = weighted[1] as string;
    weight = Number(weighted[2]);
  }
  if (!rest.toLowerCase().startsWith('models:')) {
    throw new CliError(
      `Invalid --route '${text}': expected [name=]<models:/ URI>[:weight], e.g. stable=models:/fraud@champion:90`,
    );
  }
  return {
    ...(named ? { name: named[1] as string } : {}),
    model: rest,
    ...(weight === undefined ? {} : { weight }),
  };
}

/** Reads a spec file: a spec, or a deployment (`{ spec: … }`) as `keel deployments get --json` prints it. */
function readSpecFile(path: string): DeploymentSpecInput {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError(`Cannot read --spec-file ${path}: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError(`Invalid --spec-file ${path}: expected a JSON object`);
  }
  const record = value as Record<string, unknown>;
  const spec = record.routes === undefined && typeof record.spec === 'object' ? record.spec : record;
  return spec as DeploymentSpecInput;
}

function rate(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new CliError(`Invalid --sample-rate '${text}': expected a number from 0 to 1`);
  }
  return value;
}
