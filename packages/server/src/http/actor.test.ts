import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { actorOf } from './actor.js';

const basic = (value: string) => `Basic ${Buffer.from(value, 'utf8').toString('base64')}`;

function contextOf(headers: Record<string, string>) {
  return { requestId: 'req-1', request: { headers } as unknown as FastifyRequest };
}

function userOf(headers: Record<string, string>): string {
  return actorOf(contextOf(headers)).user;
}

describe('actorOf', () => {
  it('takes the user name of a Basic header, never its password', () => {
    expect(actorOf(contextOf({ authorization: basic('alice:pw') }))).toEqual({
      user: 'alice',
      requestId: 'req-1',
    });
    expect(userOf({ authorization: basic('alice:'), 'x-keel-user': 'bob' })).toBe('alice');
  });

  it('falls back to x-keel-user, then anonymous', () => {
    expect(userOf({ 'x-keel-user': ' bob ' })).toBe('bob');
    expect(userOf({})).toBe('anonymous');
  });

  it('never takes a Bearer token or a Basic value without a colon as the user', () => {
    expect(userOf({ authorization: 'Bearer tok-secret' })).toBe('anonymous');
    expect(userOf({ authorization: 'Bearer tok-secret', 'x-keel-user': 'carol' })).toBe('carol');
    // RFC 7617 requires `user:password`; a bare value may be an API key sent the wrong way.
    expect(userOf({ authorization: basic('sk-live-secret') })).toBe('anonymous');
    expect(userOf({ authorization: basic('sk-live-secret'), 'x-keel-user': 'dave' })).toBe('dave');
  });
});
