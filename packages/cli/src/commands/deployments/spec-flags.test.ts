import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeploymentSpecInput } from '@keel/core';
import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '../../cli-error.js';
import { parseRoute, specFromFlags } from './spec-flags.js';

const dir = mkdtempSync(join(tmpdir(), 'keel-spec-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseRoute', () => {
  it.each([
    ['stable=models:/fraud@champion:90', { name: 'stable', model: 'models:/fraud@champion', weight: 90 }],
    ['models:/fraud/7', { model: 'models:/fraud/7' }],
    ['models:/fraud/7:2.5', { model: 'models:/fraud/7', weight: 2.5 }],
    ['c.1=models:/fraud/Production', { name: 'c.1', model: 'models:/fraud/Production' }],
    ['models://host:8080/fraud/1:5', { model: 'models://host:8080/fraud/1', weight: 5 }],
  ])('parses %s', (text, expected) => {
    expect(parseRoute(text)).toEqual(expected);
  });

  it.each(['runs:/abc/model', 'a=s3://bucket/m:1', '', 'stable='])('refuses %j', (text) => {
    expect(() => parseRoute(text)).toThrowError(CliError);
  });
});

describe('specFromFlags', () => {
  const base: DeploymentSpecInput = {
    routes: [{ name: 'a', model: 'models:/m/1', weight: 1 }],
    shadow: { model: 'models:/m/9' },
    batching: { maxBatchSize: 8, maxDelayMs: 1 },
    resources: { workers: 2 },
    recording: { mode: 'sample', sampleRate: 0.5 },
  };

  it('keeps the base where no flag is given, and never mutates it', () => {
    const before = structuredClone(base);
    expect(specFromFlags({ batchMaxDelayMs: 3 }, base)).toEqual({
      ...base,
      batching: { maxBatchSize: 8, maxDelayMs: 3 },
    });
    expect(base).toEqual(before);
  });

  it('replaces routes, removes the shadow, merges resources, switches recording', () => {
    expect(
      specFromFlags(
        { route: ['x=models:/m/2:3', 'models:/m/3'], shadow: false, maxQueueRows: 10, record: 'hash' },
        base,
      ),
    ).toEqual({
      routes: [{ name: 'x', model: 'models:/m/2', weight: 3 }, { model: 'models:/m/3' }],
      batching: base.batching,
      resources: { workers: 2, maxQueueRows: 10 },
      recording: { mode: 'hash' },
    });
  });

  it('makes --sample-rate imply sample mode', () => {
    expect(specFromFlags({ route: ['models:/m/1'], sampleRate: 0.1 }).recording).toEqual({
      mode: 'sample',
      sampleRate: 0.1,
    });
  });

  it('starts from --spec-file instead of the base; a deployment file gives its spec', () => {
    const file = join(dir, 'deployment.json');
    writeFileSync(
      file,
      JSON.stringify({ name: 'd', revision: 3, spec: { routes: [{ model: 'models:/f/1' }] } }),
    );
    expect(specFromFlags({ specFile: file, shadow: 'models:/f/2' }, base)).toEqual({
      routes: [{ model: 'models:/f/1' }],
      shadow: 'models:/f/2',
    });
  });

  it('refuses a spec without routes and an unreadable file', () => {
    expect(() => specFromFlags({ workers: 1 })).toThrowError(/give --route/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    expect(() => specFromFlags({ specFile: bad })).toThrowError(/Cannot read --spec-file/);
  });
});
