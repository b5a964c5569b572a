import { request as httpRequest } from 'node:http';
import { type DeploymentResources, KeelError, notFound } from '@keel/core';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandler } from '../../http/error-handler.js';
import { acceptTextBodies } from '../../serving/served-model.js';
import { Gate } from '../../testing/serving-fixtures.js';
import { type AdmissionLeases, DeploymentAdmission, InFlightCounts } from './admission.js';
import type { DeploymentMetricLabels, RejectionReason } from './deployment-metrics.js';

describe('InFlightCounts', () => {
  it('counts calls per deployment up to a limit and forgets a deployment with none in flight', () => {
    const counts = new InFlightCounts();
    expect(counts.tryAdd('a', 2)).toBe(true);
    expect(counts.tryAdd('a', 2)).toBe(true);
    expect(counts.tryAdd('a', 2)).toBe(false);
    expect(counts.tryAdd('b', 1)).toBe(true);
    expect(counts.of('a')).toBe(2);
    expect(counts.of('b')).toBe(1);
    expect(counts.remove('a')).toBe(1);
    expect(counts.tryAdd('a', 2)).toBe(true);
    expect(counts.remove('a')).toBe(1);
    expect(counts.remove('a')).toBe(0);
    expect(counts.of('a')).toBe(0);
    expect(counts.tryAdd('c', Number.POSITIVE_INFINITY)).toBe(true);
  });

  it('refuses every call while more than a lowered limit are in flight', () => {
    const counts = new InFlightCounts();
    for (let i = 0; i < 3; i++) expect(counts.tryAdd('a', 3)).toBe(true);
    expect(counts.tryAdd('a', 1)).toBe(false);
    counts.remove('a');
    counts.remove('a');
    expect(counts.tryAdd('a', 1)).toBe(false);
    counts.remove('a');
    expect(counts.tryAdd('a', 1)).toBe(true);
  });
});

/** Deployments whose resources the test sets; `warming` cannot be leased yet. Counts leases out. */
class FakeLeases implements AdmissionLeases {
  readonly resources = new Map<string, DeploymentResources | undefined>();
  outstanding = 0;

  lease(name: string) {
    if (name === 'warming') throw new KeelError('TEMPORARILY_UNAVAILABLE', 'not ready');
    if (!this.resources.has(name)) throw notFound(`Deployment '${name}' not found`);
    const resources = this.resources.get(name);
    this.outstanding++;
    return {
      spec: resources === undefined ? {} : { resources },
      release: () => {
        this.outstanding--;
      },
    };
  }
}

/** Keeps what admission reports. */
class FakeMetrics {
  readonly rejections: [string, RejectionReason][] = [];
  readonly inFlight = new Map<string, number>();

  observeRejection(deployment: string, reason: RejectionReason): void {
    this.rejections.push([deployment, reason]);
  }

  setInFlight(deployment: string, calls: number): void {
    this.inFlight.set(deployment, calls);
  }
}

describe('DeploymentAdmission', () => {
  const leases = new FakeLeases();
  const metrics = new FakeMetrics();
  const labels = new WeakMap<FastifyRequest, DeploymentMetricLabels>();
  const noteLabels = (request: FastifyRequest, noted: DeploymentMetricLabels) => labels.set(request, noted);
  const admission = new DeploymentAdmission({ runtime: leases, metrics, noteLabels });
  /** Calls wait for it; replaced by tests that hold calls. */
  let gate = new Gate();
  gate.open();
  let started = 0;
  let app: FastifyInstance;

  function call(name: string, payload = '{}') {
    return app.inject({
      method: 'POST',
      url: `/calls/${name}`,
      payload,
      headers: { 'content-type': 'text/plain' },
    });
  }

  async function until(predicate: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('condition not reached in 5 s');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  beforeAll(async () => {
    leases.resources.set('limited', { maxConcurrentRequests: 2 });
    leases.resources.set('free', undefined);
    app = Fastify();
    installErrorHandler(app);
    app.register((scope, _options, done) => {
      acceptTextBodies(scope, 64);
      admission.install(scope);
      scope.post<{ Params: { name: string } }>('/calls/:name', async (request) => {
        started++;
        await gate.opened;
        if (request.body === 'fail') throw new KeelError('INVALID_PARAMETER_VALUE', 'bad input');
        return { name: request.params.name };
      });
      scope.get<{ Params: { name: string } }>('/calls/:name', async () => ({ ok: true }));
      done();
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    gate.open();
    await app?.close();
  });

  it('refuses the call past the limit with 429, Retry-After and RESOURCE_EXHAUSTED, then admits again', async () => {
    gate = new Gate();
    const first = [call('limited'), call('limited')];
    await until(() => admission.inFlight('limited') === 2);
    expect(metrics.inFlight.get('limited')).toBe(2);

    const refused = await call('limited');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toEqual({
      error_code: 'RESOURCE_EXHAUSTED',
      message:
        "Deployment 'limited' has 2 requests in flight (its limit, resources.maxConcurrentRequests); retry later",
    });
    expect(metrics.rejections).toEqual([['limited', 'concurrency']]);
    // Other deployments and other requests are not held back.
    expect((await app.inject({ method: 'GET', url: '/calls/limited' })).statusCode).toBe(200);
    const free = Array.from({ length: 5 }, () => call('free'));
    await until(() => admission.inFlight('free') === 5);

    gate.open();
    for (const res of await Promise.all([...first, ...free])) expect(res.statusCode).toBe(200);
    expect(admission.inFlight('limited')).toBe(0);
    expect(admission.inFlight('free')).toBe(0);
    expect(metrics.inFlight.get('limited')).toBe(0);
    expect(leases.outstanding).toBe(0);
    const again = await Promise.all([call('limited'), call('limited')]);
    expect(again.map((res) => res.statusCode)).toEqual([200, 200]);
  });

  it('lets calls to deployments it cannot lease through, uncounted, for the route to answer', async () => {
    const res = await call('warming');
    expect(res.statusCode).toBe(200);
    expect((await call('nope')).statusCode).toBe(200);
    expect(metrics.inFlight.has('warming')).toBe(false);
    expect(metrics.inFlight.has('nope')).toBe(false);
  });

  it('reads the limit of every call from the current spec', async () => {
    leases.resources.set('changing', { maxConcurrentRequests: 1 });
    gate = new Gate();
    const held = call('changing');
    await until(() => admission.inFlight('changing') === 1);
    const refused = await call('changing');
    expect(refused.statusCode).toBe(429);
    expect(refused.json().message).toBe(
      "Deployment 'changing' has 1 request in flight (its limit, resources.maxConcurrentRequests); retry later",
    );
    leases.resources.set('changing', { maxConcurrentRequests: 2 });
    const second = call('changing');
    await until(() => admission.inFlight('changing') === 2);
    gate.open();
    expect((await held).statusCode).toBe(200);
    expect((await second).statusCode).toBe(200);
  });

  it('notes a refused call with its deployment for the request metrics', async () => {
    leases.resources.set('one', { maxConcurrentRequests: 1 });
    gate = new Gate();
    let refusedLabels: DeploymentMetricLabels | undefined;
    const probe = Fastify();
    installErrorHandler(probe);
    probe.register((scope, _options, done) => {
      new DeploymentAdmission({ runtime: leases, metrics, noteLabels }).install(scope);
      scope.addHook('onResponse', (request, _reply, next) => {
        if (request.headers['x-probe'] === 'refused') refusedLabels = labels.get(request);
        next();
      });
      scope.post('/calls/:name', async () => {
        await gate.opened;
        return {};
      });
      done();
    });
    const held = probe.inject({ method: 'POST', url: '/calls/one' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = await probe.inject({
      method: 'POST',
      url: '/calls/one',
      headers: { 'x-probe': 'refused' },
    });
    expect(refused.statusCode).toBe(429);
    expect(refusedLabels).toEqual({ deployment: 'one' });
    gate.open();
    expect((await held).statusCode).toBe(200);
    await probe.close();
  });

  it('releases a call answered with an error, and one whose body is refused (413)', async () => {
    const failed = await call('limited', 'fail');
    expect(failed.statusCode).toBe(400);
    const tooLarge = await call('limited', 'x'.repeat(1000));
    expect(tooLarge.statusCode).toBe(413);
    expect(admission.inFlight('limited')).toBe(0);
  });

  it('keeps the slot of a call whose client disconnected until the call is answered, then releases it once', async () => {
    gate = new Gate();
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const before = started;
    const client = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/calls/limited',
      headers: { 'content-type': 'text/plain' },
    });
    client.on('error', () => undefined);
    client.end('{}');
    await until(() => started === before + 1);
    client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The handler still works on the call: it keeps its slot.
    expect(admission.inFlight('limited')).toBe(1);

    gate.open();
    await until(() => admission.inFlight('limited') === 0);
    // Released exactly once: two calls are admitted again, and a third is not.
    gate = new Gate();
    const two = [call('limited'), call('limited')];
    await until(() => admission.inFlight('limited') === 2);
    expect((await call('limited')).statusCode).toBe(429);
    gate.open();
    expect((await Promise.all(two)).map((res) => res.statusCode)).toEqual([200, 200]);
    expect(admission.inFlight('limited')).toBe(0);
  });
});
