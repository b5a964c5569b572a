import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DEPLOYMENT_BATCHING,
  DEPLOYMENT_LIMITS,
  parseDeploymentSpec,
  validateDeploymentName,
} from './deployments.js';
import { KeelError } from './errors.js';

/** The KeelError a call throws (fails the test when it does not throw one). */
function errorOf(call: () => unknown): KeelError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(KeelError);
    return error as KeelError;
  }
  return expect.unreachable('expected the call to throw');
}

const route = (model: string, extra: object = {}) => ({ model, ...extra });

describe('parseDeploymentSpec', () => {
  it('fills defaults: route names and weights, batching, recording', () => {
    expect(parseDeploymentSpec({ routes: [route('models:/fraud@champion')] })).toEqual({
      routes: [{ name: 'route-0', model: 'models:/fraud@champion', weight: 1 }],
      batching: { ...DEFAULT_DEPLOYMENT_BATCHING },
      recording: { mode: 'full' },
    });
  });

  it('keeps every given field, in a fixed key order, and accepts a string shadow', () => {
    const spec = parseDeploymentSpec({
      recording: { mode: 'sample', sampleRate: 0.25 },
      resources: { maxConcurrentRequests: 8, maxQueueRows: 100, workers: 2 },
      batching: { maxDelayMs: 2.5 },
      shadow: 'models:/fraud/Staging',
      routes: [
        { weight: 90, model: 'models:/fraud/7', name: 'stable' },
        { name: 'canary', model: 'models:/fraud/latest', weight: 10 },
        { model: 'models://host/fraud@challenger', weight: 0 },
      ],
    });
    expect(spec).toEqual({
      routes: [
        { name: 'stable', model: 'models:/fraud/7', weight: 90 },
        { name: 'canary', model: 'models:/fraud/latest', weight: 10 },
        { name: 'route-2', model: 'models://host/fraud@challenger', weight: 0 },
      ],
      shadow: { model: 'models:/fraud/Staging' },
      batching: { maxBatchSize: 64, maxDelayMs: 2.5 },
      resources: { workers: 2, maxQueueRows: 100, maxConcurrentRequests: 8 },
      recording: { mode: 'sample', sampleRate: 0.25 },
    });
    expect(JSON.stringify(Object.keys(spec))).toBe('["routes","shadow","batching","resources","recording"]');
    expect(JSON.stringify(Object.keys(spec.resources ?? {}))).toBe(
      '["workers","maxQueueRows","maxConcurrentRequests"]',
    );
    expect(JSON.stringify(Object.keys(spec.routes[0] ?? {}))).toBe('["name","model","weight"]');
  });

  it('drops a null shadow and an empty resources object', () => {
    const spec = parseDeploymentSpec({ routes: [route('models:/m/1')], shadow: null, resources: {} });
    expect(spec).not.toHaveProperty('shadow');
    expect(spec).not.toHaveProperty('resources');
  });

  it('is idempotent: parsing a parsed spec gives the same spec', () => {
    const once = parseDeploymentSpec({
      routes: [route('models:/m/1', { weight: 3 }), route('models:/m@b')],
      shadow: { model: 'models:/m/2' },
      recording: { mode: 'hash' },
    });
    expect(parseDeploymentSpec(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });

  it.each<[string, unknown, string]>([
    ['not an object', [], 'spec must be an object'],
    ['no routes', {}, 'spec.routes must be a non-empty list of routes'],
    ['empty routes', { routes: [] }, 'spec.routes must be a non-empty list of routes'],
    [
      'unknown top-level field',
      { routes: [route('models:/m/1')], shadows: 'x' },
      'spec.shadows is not a known field',
    ],
    ['route not an object', { routes: ['models:/m/1'] }, 'spec.routes[0] must be an object'],
    [
      'unknown route field',
      { routes: [route('models:/m/1', { wieght: 1 })] },
      'spec.routes[0].wieght is not a known field',
    ],
    ['missing model', { routes: [route('models:/m/1'), { weight: 1 }] }, 'spec.routes[1].model is required'],
    [
      'model not a string',
      { routes: [route('models:/m/1'), { model: 7 }] },
      'spec.routes[1].model must be a models:/ URI string',
    ],
    ['bad URI', { routes: [route('models:/m')] }, "spec.routes[0].model: Invalid model URI 'models:/m'"],
    ['s3 URI', { routes: [route('s3://bucket/model')] }, 'spec.routes[0].model: Invalid model URI'],
    [
      'control characters',
      { routes: [route('models:/a\u0000b/1')] },
      'spec.routes[0].model must not contain control characters',
    ],
    [
      'runs URI',
      { routes: [route('runs:/abc/model')] },
      'spec.routes[0].model must be a models:/ URI: runs:/ URIs are not allowed',
    ],
    [
      'negative weight',
      { routes: [route('models:/m/1'), route('models:/m/2', { weight: -1 })] },
      'spec.routes[1].weight must be a non-negative number',
    ],
    [
      'string weight',
      { routes: [route('models:/m/1'), route('models:/m/2', { weight: '5' })] },
      'spec.routes[1].weight must be a non-negative number',
    ],
    ['all weights zero', { routes: [route('models:/m/1', { weight: 0 })] }, 'spec.routes weights sum to 0'],
    [
      'bad route name',
      { routes: [route('models:/m/1', { name: 'a b' })] },
      'spec.routes[0].name must be 1 to 64 letters',
    ],
    [
      'reserved route name',
      { routes: [route('models:/m/1', { name: 'shadow' })] },
      "spec.routes[0].name 'shadow' is reserved",
    ],
    [
      'duplicate route name',
      {
        routes: [
          route('models:/m/1', { name: 'a' }),
          route('models:/m/2'),
          route('models:/m/3', { name: 'a' }),
        ],
      },
      "spec.routes[2].name 'a' is already used by spec.routes[0]",
    ],
    [
      'explicit name clashing with a default one',
      { routes: [route('models:/m/1', { name: 'route-1' }), route('models:/m/2')] },
      "spec.routes[1].name 'route-1' is already used by spec.routes[0]",
    ],
    [
      'runs shadow',
      { routes: [route('models:/m/1')], shadow: 'runs:/r/model' },
      'spec.shadow must be a models:/ URI',
    ],
    ['shadow without model', { routes: [route('models:/m/1')], shadow: {} }, 'spec.shadow.model is required'],
    [
      'shadow of the wrong type',
      { routes: [route('models:/m/1')], shadow: 3 },
      'spec.shadow must be an object { model } or a models:/ URI',
    ],
    [
      'batch size 0',
      { routes: [route('models:/m/1')], batching: { maxBatchSize: 0 } },
      'spec.batching.maxBatchSize must be a whole number from 1',
    ],
    [
      'fractional batch size',
      { routes: [route('models:/m/1')], batching: { maxBatchSize: 1.5 } },
      'spec.batching.maxBatchSize must be a whole number',
    ],
    [
      'negative delay',
      { routes: [route('models:/m/1')], batching: { maxDelayMs: -1 } },
      'spec.batching.maxDelayMs must be a number from 0',
    ],
    [
      'unknown batching field',
      { routes: [route('models:/m/1')], batching: { size: 2 } },
      'spec.batching.size is not a known field',
    ],
    [
      'zero workers',
      { routes: [route('models:/m/1')], resources: { workers: 0 } },
      'spec.resources.workers must be a whole number from 1',
    ],
    [
      'huge queue',
      { routes: [route('models:/m/1')], resources: { maxQueueRows: 1e12 } },
      'spec.resources.maxQueueRows must be a whole number',
    ],
    [
      'zero concurrent requests',
      { routes: [route('models:/m/1')], resources: { maxConcurrentRequests: 0 } },
      `spec.resources.maxConcurrentRequests must be a whole number from 1 to ${DEPLOYMENT_LIMITS.maxConcurrentRequests}`,
    ],
    [
      'fractional concurrent requests',
      { routes: [route('models:/m/1')], resources: { maxConcurrentRequests: 2.5 } },
      'spec.resources.maxConcurrentRequests must be a whole number from 1',
    ],
    [
      'concurrent requests as a string',
      { routes: [route('models:/m/1')], resources: { maxConcurrentRequests: '4' } },
      'spec.resources.maxConcurrentRequests must be a whole number from 1',
    ],
    [
      'a misspelt resources field',
      { routes: [route('models:/m/1')], resources: { maxConcurrency: 4 } },
      'spec.resources.maxConcurrency is not a known field (expected workers, maxQueueRows, maxConcurrentRequests)',
    ],
    [
      'too many concurrent requests',
      {
        routes: [route('models:/m/1')],
        resources: { maxConcurrentRequests: DEPLOYMENT_LIMITS.maxConcurrentRequests + 1 },
      },
      'spec.resources.maxConcurrentRequests must be a whole number from 1',
    ],
    [
      'unknown recording mode',
      { routes: [route('models:/m/1')], recording: { mode: 'some' } },
      'spec.recording.mode must be one of full, sample, hash',
    ],
    [
      'sample without a rate',
      { routes: [route('models:/m/1')], recording: { mode: 'sample' } },
      'spec.recording.sampleRate is required',
    ],
    [
      'rate above 1',
      { routes: [route('models:/m/1')], recording: { mode: 'sample', sampleRate: 1.5 } },
      'spec.recording.sampleRate must be a number from 0 to 1',
    ],
    [
      'rate with full mode',
      { routes: [route('models:/m/1')], recording: { sampleRate: 0.5 } },
      'spec.recording.sampleRate is only allowed',
    ],
  ])('refuses %s, naming the field', (_what, spec, message) => {
    const error = errorOf(() => parseDeploymentSpec(spec));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message.startsWith(message)).toBe(true);
  });

  it(`allows up to ${DEPLOYMENT_LIMITS.maxRoutes} routes`, () => {
    const routes = (n: number) => Array.from({ length: n }, (_, i) => route(`models:/m/${i + 1}`));
    expect(parseDeploymentSpec({ routes: routes(DEPLOYMENT_LIMITS.maxRoutes) }).routes).toHaveLength(
      DEPLOYMENT_LIMITS.maxRoutes,
    );
    expect(errorOf(() => parseDeploymentSpec({ routes: routes(DEPLOYMENT_LIMITS.maxRoutes + 1) })).code).toBe(
      'INVALID_PARAMETER_VALUE',
    );
  });

  it('names a different root field when asked', () => {
    expect(errorOf(() => parseDeploymentSpec({}, 'body.spec')).message).toBe(
      'body.spec.routes must be a non-empty list of routes',
    );
  });
});

describe('validateDeploymentName', () => {
  it.each(['fraud', 'Fraud-v2.1_a', '0', 'a'.repeat(128)])('accepts %s', (name) => {
    expect(() => validateDeploymentName(name)).not.toThrow();
  });

  it.each(['', '-a', '.a', 'a/b', 'a b', 'a'.repeat(129), 'é'])('refuses %j', (name) => {
    expect(errorOf(() => validateDeploymentName(name)).code).toBe('INVALID_PARAMETER_VALUE');
  });
});
