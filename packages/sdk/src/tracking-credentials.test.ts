import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { credentialHeaders, KeelClient, KeelRestClient, resolveCredentials } from './index.js';
import { startTestServer, type TestServer } from './testing/test-server.js';

const CREDENTIAL_VARS = ['USERNAME', 'PASSWORD', 'TOKEN'].flatMap((name) => [
  `KEEL_TRACKING_${name}`,
  `MLFLOW_TRACKING_${name}`,
]);

const basic = (pair: string) => `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;

/** The error `fn` throws (fails the test when it does not). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  return expect.unreachable('expected a throw');
}

describe('resolveCredentials', () => {
  it('takes the explicit values, then KEEL_TRACKING_*, then MLFLOW_TRACKING_*', () => {
    const env = {
      KEEL_TRACKING_USERNAME: 'keel-user',
      KEEL_TRACKING_PASSWORD: 'keel-pw',
      MLFLOW_TRACKING_USERNAME: 'mlflow-user',
      MLFLOW_TRACKING_PASSWORD: 'mlflow-pw',
      MLFLOW_TRACKING_TOKEN: 'mlflow-token',
    };
    expect(resolveCredentials({ username: 'alice' }, env)).toEqual({ username: 'alice' });
    expect(resolveCredentials({}, env)).toEqual({ username: 'keel-user', password: 'keel-pw' });
    expect(
      resolveCredentials({}, { ...env, KEEL_TRACKING_USERNAME: '', KEEL_TRACKING_PASSWORD: '' }),
    ).toEqual({
      username: 'mlflow-user',
      password: 'mlflow-pw',
      token: 'mlflow-token',
    });
    expect(resolveCredentials({}, {})).toEqual({});
  });

  it('never mixes sources, and skips a source that names neither a user nor a token', () => {
    expect(
      resolveCredentials({ token: 't' }, { MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p' }),
    ).toEqual({ token: 't' });
    expect(
      resolveCredentials({}, { KEEL_TRACKING_PASSWORD: 'orphan', MLFLOW_TRACKING_USERNAME: 'bob' }),
    ).toEqual({
      username: 'bob',
    });
  });
});

describe('credentialHeaders', () => {
  it('sends user and password as Basic, UTF-8 encoded', () => {
    expect(credentialHeaders({ username: 'alice', password: 's3cr3t' })).toEqual({
      authorization: 'Basic YWxpY2U6czNjcjN0',
    });
    expect(credentialHeaders({ username: 'zoë', password: 'pässwörd' })).toEqual({
      authorization: basic('zoë:pässwörd'),
    });
  });

  it('sends a user without a password as Basic `user:`', () => {
    expect(credentialHeaders({ username: 'alice' })).toEqual({ authorization: basic('alice:') });
  });

  it('sends a token as Bearer; a user and password pair wins over it, as in MLflow’s client', () => {
    expect(credentialHeaders({ token: 'tok-1' })).toEqual({ authorization: 'Bearer tok-1' });
    expect(credentialHeaders({ username: 'alice', password: 'pw', token: 'tok-1' })).toEqual({
      authorization: basic('alice:pw'),
    });
  });

  it('names the user of a token in x-keel-user', () => {
    expect(credentialHeaders({ username: 'alice', token: 'tok-1' })).toEqual({
      authorization: 'Bearer tok-1',
      'x-keel-user': 'alice',
    });
  });

  it('sends nothing without a user or a token', () => {
    expect(credentialHeaders({})).toEqual({});
    expect(credentialHeaders({ password: 'orphan', username: '', token: '' })).toEqual({});
  });

  it('refuses credentials that cannot be sent, naming the field but never the secret', () => {
    const badToken = thrown(() => credentialHeaders({ token: 'tok secret\n' }));
    expect(badToken).toBeInstanceOf(TypeError);
    expect(badToken.message).toMatch(/^Invalid token/);
    expect(badToken.message).not.toContain('secret');
    expect(thrown(() => credentialHeaders({ username: 'a:b', password: 'pw' })).message).toMatch(
      /^Invalid username/,
    );
    expect(thrown(() => credentialHeaders({ username: 'a\nb' })).message).toMatch(/^Invalid username/);
    expect(thrown(() => credentialHeaders({ username: '李', token: 't' })).message).toMatch(
      /^Invalid username/,
    );
    // In Basic the name is base64-encoded, so any Unicode is fine.
    expect(credentialHeaders({ username: '李' })).toEqual({ authorization: basic('李:') });
  });
});

describe('clients against a real Keel server', () => {
  let server: TestServer;
  let dir: string;
  /** `authorization` and `x-keel-user` of every request, with its path. */
  const seen: { path: string; authorization?: string | undefined; user?: string | undefined }[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    server.app.server.on('request', (request: IncomingMessage) => {
      seen.push({
        path: (request.url ?? '').split('?')[0] ?? '',
        authorization: request.headers.authorization,
        user: request.headers['x-keel-user'] as string | undefined,
      });
    });
    dir = mkdtempSync(join(tmpdir(), 'keel-sdk-credentials-'));
    writeFileSync(join(dir, 'report.txt'), 'hello');
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    seen.length = 0;
    for (const name of CREDENTIAL_VARS) vi.stubEnv(name, '');
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('sends MLFLOW_TRACKING_USERNAME/PASSWORD on every request, artifact transfers included, and is audited by that user', async () => {
    vi.stubEnv('MLFLOW_TRACKING_USERNAME', 'alice');
    vi.stubEnv('MLFLOW_TRACKING_PASSWORD', 'pw-alice');
    const keel = new KeelClient({ trackingUri: server.uri, retries: 0 });
    const experimentId = await keel.createExperiment('credentials-env');
    const run = await keel.createRun({ experimentId });
    await keel.uploadArtifact(run.info.run_id, join(dir, 'report.txt'), 'docs');
    await keel.downloadArtifacts(run.info.run_id, 'docs', join(dir, 'out'));
    await keel.deployments.list();
    await keel.predictions.search();
    const { events } = await keel.listAuditEvents({ entity: 'experiment', entityId: experimentId });

    expect(events.map((e) => [e.action, e.actor])).toEqual([['experiment.created', 'alice']]);
    const paths = seen.map((s) => s.path);
    for (const part of [
      '/mlflow-artifacts/artifacts/',
      '/keel/deployments',
      '/keel/predictions',
      '/keel/audit',
    ]) {
      expect(paths.some((p) => p.includes(part))).toBe(true);
    }
    expect(seen.every((s) => s.authorization === basic('alice:pw-alice'))).toBe(true);
  });

  it('lets KEEL_TRACKING_* win over MLFLOW_TRACKING_*, and the explicit options over both', async () => {
    vi.stubEnv('MLFLOW_TRACKING_USERNAME', 'mlflow-user');
    vi.stubEnv('KEEL_TRACKING_USERNAME', 'keel-user');
    await new KeelRestClient({ trackingUri: server.uri }).get('experiments/search');
    await new KeelRestClient({ trackingUri: server.uri, username: 'carol', password: 'pw' }).get(
      'experiments/search',
    );
    expect(seen.map((s) => s.authorization)).toEqual([basic('keel-user:'), basic('carol:pw')]);
  });

  it('sends a token as Bearer, audited by x-keel-user when a user name is given, else as anonymous', async () => {
    vi.stubEnv('MLFLOW_TRACKING_TOKEN', 'tok-123');
    const anonymous = new KeelClient({ trackingUri: server.uri, retries: 0 });
    const named = new KeelClient({ trackingUri: server.uri, retries: 0, username: 'dave', token: 'tok-456' });
    const first = await anonymous.createExperiment('credentials-token');
    const second = await named.createExperiment('credentials-token-named');

    expect(seen.map((s) => [s.authorization, s.user])).toEqual([
      ['Bearer tok-123', undefined],
      ['Bearer tok-456', 'dave'],
    ]);
    const actors = async (entityId: string) =>
      (await anonymous.listAuditEvents({ entity: 'experiment', entityId })).events.map((e) => e.actor);
    expect(await actors(first)).toEqual(['anonymous']);
    expect(await actors(second)).toEqual(['dave']);
  });

  it('lets an explicit authorization header (any case) win over the credentials', async () => {
    vi.stubEnv('KEEL_TRACKING_USERNAME', 'alice');
    vi.stubEnv('KEEL_TRACKING_TOKEN', 'tok-789');
    const explicit = basic('erin:pw');
    const keel = new KeelClient({
      trackingUri: server.uri,
      retries: 0,
      headers: { Authorization: explicit },
    });
    const id = await keel.createExperiment('credentials-explicit');

    expect(seen.map((s) => [s.authorization, s.user])).toEqual([[explicit, 'alice']]);
    const { events } = await keel.listAuditEvents({ entity: 'experiment', entityId: id });
    expect(events.map((e) => e.actor)).toEqual(['erin']);
  });

  it('keeps the password and the token out of the printed client and its options', () => {
    const keel = new KeelClient({ trackingUri: server.uri, username: 'alice', password: 'pw-hidden' });
    const bearer = new KeelRestClient({ trackingUri: server.uri, token: 'tok-hidden' });
    const printed = [
      inspect(keel, { depth: 10 }),
      inspect(bearer, { depth: 10 }),
      JSON.stringify(keel.rest.options),
    ];
    for (const text of printed) {
      expect(text).not.toContain('pw-hidden');
      expect(text).not.toContain('tok-hidden');
      expect(text).not.toContain(Buffer.from('alice:pw-hidden').toString('base64'));
    }
  });
});
