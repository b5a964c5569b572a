import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazyChildLoggerFactory } from './lazy-child-logger.js';

/** A Fastify app whose log lines (parsed) land in `lines`, and a count of child loggers made. */
function app(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).trim().split('\n')) lines.push(JSON.parse(line));
      done();
    },
  });
  const fastify = Fastify({ logger: { level, stream } });
  let children = 0;
  const child = fastify.log.child.bind(fastify.log);
  fastify.log.child = ((...args: Parameters<typeof child>) => {
    children++;
    return child(...args);
  }) as typeof fastify.log.child;
  fastify.setChildLoggerFactory(lazyChildLoggerFactory);
  fastify.get('/quiet', async (request) => {
    request.log.debug('not at this level');
    return { ok: true };
  });
  fastify.get('/loud', async (request) => {
    request.log.warn({ detail: 1 }, 'something to see');
    return { ok: true };
  });
  return { fastify, lines, children: () => children };
}

describe('lazyChildLoggerFactory', () => {
  it('makes no child logger for a request that logs nothing at an enabled level', async () => {
    const { fastify, lines, children } = app('warn');
    for (let i = 0; i < 5; i++) expect((await fastify.inject('/quiet')).statusCode).toBe(200);
    expect(children()).toBe(0);
    expect(lines).toEqual([]);
    await fastify.close();
  });

  it("writes a request's lines through a child bound to its request id", async () => {
    const { fastify, lines, children } = app('warn');
    const res = await fastify.inject({ url: '/loud' });
    expect(res.statusCode).toBe(200);
    expect(children()).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, msg: 'something to see', detail: 1, reqId: 'req-1' });
    await fastify.close();
  });

  it("keeps Fastify's request logging at info, and answers isLevelEnabled like the parent", async () => {
    const { fastify, lines } = app('info');
    fastify.get('/level', async (request) => ({
      info: (request.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled('info'),
      debug: (request.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled('debug'),
      level: request.log.level,
    }));
    expect((await fastify.inject('/level')).json()).toEqual({ info: true, debug: false, level: 'info' });
    expect(lines.map((line) => line.msg)).toEqual(['incoming request', 'request completed']);
    expect(new Set(lines.map((line) => line.reqId))).toEqual(new Set(['req-1']));
    await fastify.close();
  });
});
