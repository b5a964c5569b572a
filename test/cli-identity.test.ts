// End-to-end: the built `keel` CLI names its caller from the same environment variables as the
// SDK (and MLflow's clients), and a real `keel server` records that name in the audit log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type KeelServer,
  killAll,
  runKeel,
  sqliteServerArgs,
  startKeelServer,
} from './helpers/keel-process.js';

const dir = mkdtempSync(join(tmpdir(), 'keel-cli-identity-'));
let server: KeelServer;

beforeAll(async () => {
  server = await startKeelServer(sqliteServerArgs(dir));
});

afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Every credential variable unset (empty), so the test's own environment cannot leak in. */
const NO_CREDENTIALS = Object.fromEntries(
  ['USERNAME', 'PASSWORD', 'TOKEN'].flatMap((name) => [
    [`KEEL_TRACKING_${name}`, ''],
    [`MLFLOW_TRACKING_${name}`, ''],
  ]),
);

/** The actors of an experiment's audit events, read through `GET /api/2.0/keel/audit/events`. */
async function actorsOf(experimentId: string): Promise<string[]> {
  const query = new URLSearchParams({ entity: 'experiment', entity_id: experimentId });
  const response = await fetch(`${server.url}/api/2.0/keel/audit/events?${query}`);
  expect(response.status).toBe(200);
  const { events } = (await response.json()) as { events: { action: string; actor: string }[] };
  expect(events.map((e) => e.action)).toEqual(['experiment.created']);
  return events.map((e) => e.actor);
}

/** The environment of each `keel` invocation and the actor the server must record. */
const CASES: { name: string; env: Record<string, string>; actor: string }[] = [
  { name: 'mlflow-user', env: { MLFLOW_TRACKING_USERNAME: 'alice' }, actor: 'alice' },
  {
    name: 'keel-user-first',
    env: {
      KEEL_TRACKING_USERNAME: 'bob',
      KEEL_TRACKING_PASSWORD: 'pw-bob',
      MLFLOW_TRACKING_USERNAME: 'alice',
    },
    actor: 'bob',
  },
  { name: 'token-only', env: { MLFLOW_TRACKING_TOKEN: 'tok-secret' }, actor: 'anonymous' },
];

describe('keel CLI identity', () => {
  it.each(CASES)('audits `keel experiments create` as $actor ($name)', async ({ name, env, actor }) => {
    const result = await runKeel(
      ['experiments', 'create', `identity-${name}`, '--tracking-uri', server.url],
      {
        env: { ...NO_CREDENTIALS, ...env },
      },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await actorsOf(result.stdout.trim())).toEqual([actor]);
  });
});
