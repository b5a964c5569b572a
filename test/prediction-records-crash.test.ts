// End-to-end: a `keel server` hosting a deployment is killed with SIGKILL in the middle of a burst of
// calls. After a restart on the same store and spill folder, every call that got an answer before the
// kill has its prediction record stored — including those still in the recorder's memory at the kill.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KeelClient } from '../packages/sdk/src/index.js';
import {
  checkPostgres,
  createTestStore,
  type TestStore,
} from '../packages/server/src/testing/test-stores.js';
import { killAll, startKeelServer, waitFor } from './helpers/keel-process.js';
import { FEATURES, writeOnnxModelDir } from './helpers/onnx-model-dir.js';

const postgresReachable = await checkPostgres();
const LOOPS = 16;
/** Answered calls to wait for before the kill: well into the burst. */
const KILL_AFTER_ANSWERS = 1500;

const root = mkdtempSync(join(tmpdir(), 'keel-records-crash-'));
afterEach(killAll);
afterAll(() => rmSync(root, { recursive: true, force: true }));

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && !postgresReachable)(
    `prediction records across a SIGKILL on ${dialect}`,
    () => {
      let store: TestStore | undefined;
      afterAll(async () => {
        await killAll();
        await store?.dispose();
      });

      it('stores a record for every call answered before the kill', async () => {
        store = await createTestStore(dialect);
        const dir = join(root, dialect);
        const spillDir = join(dir, 'spill');
        const cacheDir = join(dir, 'model-cache');
        const args = [
          ...['--backend-store-uri', store.uri, '--artifacts-destination', join(dir, 'artifacts')],
          ...['--model-cache-dir', cacheDir],
        ];
        const env = { KEEL_PREDICTION_SPILL_DIR: spillDir };
        const server = await startKeelServer(args, { env });

        const sdk = new KeelClient({ trackingUri: server.url, retries: 0 });
        const run = await sdk.startRun({ experiment: 'crash' });
        await run.logArtifacts(await writeOnnxModelDir(join(dir, 'mlp')), 'model');
        await run.registerModel('model', 'crashy');
        await run.end();
        await sdk.deployments.create('crashy', { routes: [{ name: 'main', model: 'models:/crashy/1' }] });
        await waitFor(
          async () => (await fetch(`${server.url}/deployments/crashy/ready`)).status === 200,
          20_000,
          'the deployment to be ready',
        );
        // The version was copied into the folder `--model-cache-dir` names.
        expect(readdirSync(join(cacheDir, 'crashy'))).toContainEqual(
          expect.stringMatching(/^1-[0-9a-f]{64}$/),
        );

        const sent = new Set<string>();
        const answered: string[] = [];
        const refused: string[] = [];
        let killed = false;
        const loop = async (loop: number): Promise<void> => {
          for (let n = 0; !killed; n++) {
            const id = `crash-${loop}-${n}`;
            const row = Array.from({ length: FEATURES }, (_, c) => Math.sin(n + c));
            sent.add(id);
            try {
              const response = await fetch(`${server.url}/deployments/crashy/invocations`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'x-request-id': id },
                body: JSON.stringify({ inputs: { input: [row] } }),
              });
              const text = await response.text();
              if (response.status === 200) answered.push(id);
              else refused.push(`${response.status} ${text}`);
            } catch {
              return; // The server is gone.
            }
          }
        };
        const loops = Array.from({ length: LOOPS }, (_, i) => loop(i));
        await waitFor(() => answered.length >= KILL_AFTER_ANSWERS || refused.length > 0, 30_000, 'answers');
        await server.kill('SIGKILL');
        killed = true;
        await Promise.all(loops);
        expect(refused).toEqual([]);
        expect(answered.length).toBeGreaterThanOrEqual(KILL_AFTER_ANSWERS);
        // The killed server journaled its records (what it held in memory is in there).
        expect(readdirSync(spillDir).filter((name) => name.startsWith('journal-'))).toHaveLength(1);

        // The restarted server replays what the killed one left in the spill folder.
        const restarted = await startKeelServer(args, { env });
        await waitFor(
          () => !existsSync(spillDir) || readdirSync(spillDir).every((name) => !name.endsWith('.jsonl')),
          20_000,
          'the spill folder to be replayed',
        );
        const exported = await fetch(`${restarted.url}/api/2.0/keel/predictions/export?deployment=crashy`);
        expect(exported.status).toBe(200);
        const stored = new Set(
          (await exported.text())
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => (JSON.parse(line) as { request_id: string }).request_id),
        );
        const lost = answered.filter((id) => !stored.has(id));
        expect({ lost: lost.length, of: answered.length }).toEqual({ lost: 0, of: answered.length });
        // Nothing invented: extra records can only be calls in flight at the kill (answered, unread).
        expect([...stored].filter((id) => !sent.has(id))).toEqual([]);
        expect(stored.size - answered.length).toBeLessThanOrEqual(LOOPS);
      });
    },
  );
}
