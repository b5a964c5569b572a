import { quoteNonFiniteTokens } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';

describe('MLflow wire conventions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('serves every RPC under /api/2.0/mlflow, /ajax-api/2.0/mlflow and /api/2.0/preview/mlflow', async () => {
    for (const prefix of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow', '/api/2.0/preview/mlflow']) {
      const res = await t.app.inject({ method: 'GET', url: `${prefix}/experiments/get?experiment_id=0` });
      expect(res.statusCode, prefix).toBe(200);
      expect(res.json().experiment.name).toBe('Default');
    }
  });

  it('answers /health and /version', async () => {
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.payload).toBe('OK');
    const version = await t.app.inject({ method: 'GET', url: '/version' });
    expect(version.payload).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('rejects a non-JSON content type with 400 INVALID_PARAMETER_VALUE', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/experiments/create',
      headers: { 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('accepts charset parameters, double-encoded JSON and GET with a JSON body', async () => {
    const charset = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/experiments/create',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      payload: JSON.stringify({ name: 'charset' }),
    });
    expect(charset.statusCode).toBe(200);
    const doubled = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/experiments/create',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(JSON.stringify({ name: 'doubled' })),
    });
    expect(doubled.statusCode).toBe(200);
    const getWithBody = await t.app.inject({
      method: 'GET',
      url: '/api/2.0/mlflow/experiments/get-by-name',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ experiment_name: 'doubled' }),
    });
    expect(getWithBody.statusCode).toBe(200);
    expect(getWithBody.json().experiment.name).toBe('doubled');
  });

  it('reads repeated query keys as lists and int64 strings as numbers', async () => {
    const a = (await t.post('experiments/create', { name: 'q-a' })).body.experiment_id;
    const b = (await t.post('experiments/create', { name: 'q-b' })).body.experiment_id;
    await t.post('runs/create', { experiment_id: a, start_time: '1700000000000' });
    await t.post('runs/create', { experiment_id: b });
    const both = await t.get('runs/search', { experiment_ids: [a, b] });
    expect(both.body.runs).toHaveLength(2);
    const one = await t.get('runs/search', { experiment_ids: a });
    expect(one.body.runs).toHaveLength(1);
    expect(one.body.runs[0].info.start_time).toBe(1_700_000_000_000);
    const badBool = await t.get('experiments/search', { max_results: 'lots' });
    expect(badBool.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(badBool.body.message).toContain("'max_results'");
  });

  it('rejects malformed JSON with 400, never 500', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/experiments/create',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error_code).toBe('INVALID_PARAMETER_VALUE');
    const array = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/experiments/create',
      headers: { 'content-type': 'application/json' },
      payload: '[1,2]',
    });
    expect(array.statusCode).toBe(400);
  });

  it('quotes bare NaN/Infinity tokens but not the same words inside strings', () => {
    expect(quoteNonFiniteTokens('{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN Infinity"}')).toBe(
      '{"a": "NaN", "b": ["Infinity", "-Infinity"], "c": "NaN Infinity"}',
    );
    expect(quoteNonFiniteTokens('{"NaNa": "x\\"NaN"}')).toBe('{"NaNa": "x\\"NaN"}');
  });

  it('answers unknown endpoints with 404', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/2.0/mlflow/nothing/here' });
    expect(res.statusCode).toBe(404);
  });
});
