import { Kind, type TObject, type TSchema } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactRpcs } from '../routes/artifacts.js';
import { experimentRpcs } from '../routes/experiments.js';
import { lineageRpcs } from '../routes/lineage.js';
import { metricRpcs } from '../routes/metrics.js';
import { registryRpcs } from '../routes/registry.js';
import { runRpcs } from '../routes/runs.js';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';
import type { AnyRpc } from './rpc.js';

const dialects = await testDialects();

/** Hostile values tried in every field of every RPC. */
const HOSTILE: unknown[] = [
  null,
  true,
  -1,
  1e308,
  2 ** 60,
  'NaN',
  '',
  ' ',
  'x'.repeat(70_000),
  '../../etc/passwd',
  "'; drop table runs; --",
  'nul\u0000byte',
  '\ud83d\ude80 🚀',
  [],
  ['a', 1, null],
  {},
  { key: 1 },
  [{ key: 'k', value: 1, timestamp: 'x' }],
];

function fieldsOf(schema: TObject): [string, TSchema][] {
  return Object.entries(schema.properties);
}

/** A plausible value for a field, so that one hostile field is tried while the others are valid. */
function plausible(schema: TSchema, runId: string): unknown {
  switch (schema[Kind]) {
    case 'String':
      return runId;
    case 'Integer':
    case 'Number':
      return 1;
    case 'Boolean':
      return true;
    case 'Array':
      return [plausible(schema.items as TSchema, runId)];
    case 'Object':
      return Object.fromEntries(fieldsOf(schema as TObject).map(([k, s]) => [k, plausible(s, runId)]));
    case 'Union':
      return (schema.anyOf as TSchema[])[0]?.const;
    default:
      return 'x';
  }
}

describe.each(dialects)('no request produces a 500 (%s)', (dialect) => {
  let t: TestApp;
  let rpcs: AnyRpc[];
  let runId: string;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    runId = (await t.post('runs/create', {})).body.run.info.run_id;
    // Only paths and schemas are needed here; the services behind them are the app's own.
    const unused = undefined as never;
    rpcs = [
      ...experimentRpcs(unused),
      ...runRpcs(unused),
      ...metricRpcs(unused),
      ...artifactRpcs(unused),
      ...registryRpcs(unused),
      ...lineageRpcs(unused),
    ];
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('answers hostile values in every field of every RPC with a 4xx in MLflow shape (or 200)', async () => {
    let requests = 0;
    for (const definition of rpcs) {
      const base = plausible(definition.request, runId) as Record<string, unknown>;
      const bodies: unknown[] = [{}, 'not an object', [1, 2], base];
      for (const [field] of fieldsOf(definition.request)) {
        for (const value of HOSTILE) bodies.push({ ...base, [field]: value });
      }
      for (const method of definition.methods) {
        for (const body of bodies) {
          const res =
            method === 'GET'
              ? await t.app.inject({
                  method,
                  url: `${definition.prefixes?.[0] ?? '/api/2.0/mlflow'}${definition.path}`,
                  query: Object.fromEntries(
                    Object.entries((body ?? {}) as Record<string, unknown>).map(([k, v]) => [
                      k,
                      typeof v === 'string' ? v : (JSON.stringify(v) ?? ''),
                    ]),
                  ),
                })
              : await t.app.inject({
                  method,
                  url: `${definition.prefixes?.[0] ?? '/api/2.0/mlflow'}${definition.path}`,
                  payload: JSON.stringify(body),
                  headers: { 'content-type': 'application/json' },
                });
          requests++;
          const context = `${method} ${definition.path} ${JSON.stringify(body).slice(0, 200)} → ${res.statusCode} ${res.payload.slice(0, 300)}`;
          // The local artifact store answers multipart uploads 501 NOT_IMPLEMENTED on purpose.
          const deliberate = res.statusCode === 501 && res.json().error_code === 'NOT_IMPLEMENTED';
          if (!deliberate) expect(res.statusCode, context).toBeLessThan(500);
          if (res.statusCode >= 400) {
            const error = res.json() as { error_code?: string; message?: string };
            expect(typeof error.error_code, context).toBe('string');
            expect(error.error_code, context).toMatch(/^[A-Z_]+$/);
            expect(error.message, context).toBeTruthy();
          }
        }
      }
    }
    expect(requests).toBeGreaterThan(1000);
  }, 300_000);
});
