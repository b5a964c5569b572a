import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemActor } from '../changes/change.js';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import { AuditLog, canonicalJson, GENESIS_HASH } from './audit-log.js';

const dialects = await testDialects();

describe('canonicalJson', () => {
  it('sorts keys at every level, drops undefined members and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [{ y: 'é', x: null }, true], c: undefined })).toBe(
      '{"a":[{"x":null,"y":"é"},true],"b":1}',
    );
    expect(canonicalJson('line\n"q"')).toBe('"line\\n\\"q\\""');
  });
});

describe.each(dialects)('AuditLog on %s', (dialect) => {
  let t: TestStore;
  let audit: AuditLog;
  let now = 1_700_000_000_000;
  const actor = { user: 'alice', requestId: 'req-1' };

  beforeAll(async () => {
    t = await createTestStore(dialect);
    // A small page size makes verify cross page boundaries in these short chains.
    audit = new AuditLog({ db: t.store.db, dialect, clock: () => now++, verifyPageSize: 3 });
  });
  afterAll(async () => {
    await t?.dispose();
  });
  beforeEach(async () => {
    await t.store.db.deleteFrom('audit_events').execute();
  });

  const append = (n: number) =>
    (async () => {
      for (let i = 1; i <= n; i++) {
        await t.store.db.transaction().execute((trx) =>
          audit.record(trx, actor, {
            action: 'experiment.renamed',
            entity: 'experiment',
            entityId: String(i),
            before: { name: `old-${i}` },
            after: { name: `new-${i}`, tags: [{ key: 'k', value: 'v' }] },
          }),
        );
      }
    })();

  const rows = () => t.store.db.selectFrom('audit_events').selectAll().orderBy('seq').execute();

  it('links each event to the previous one with the documented byte layout', async () => {
    await append(4);
    const events = await rows();
    expect(events.map((e) => Number(e.seq))).toEqual([1, 2, 3, 4]);
    expect(events[0]?.prev_hash).toBe(GENESIS_HASH);
    for (const [i, e] of events.entries()) {
      if (i > 0) expect(e.prev_hash).toBe(events[i - 1]?.hash);
      // Recomputed here from docs/audit.md, independently of the implementation's helpers.
      const fields = `{"action":${JSON.stringify(e.action)},"actor":"alice","after":${e.after_json},"before":${e.before_json},"entity":"experiment","entity_id":${JSON.stringify(e.entity_id)},"event_id":${JSON.stringify(e.event_id)},"request_id":"req-1","seq":${Number(e.seq)},"time":${Number(e.time)}}`;
      expect(e.hash).toBe(createHash('sha256').update(`${e.prev_hash}${fields}`).digest('hex'));
    }
    expect(events[0]?.after_json).toBe('{"name":"new-1","tags":[{"key":"k","value":"v"}]}');
    expect(await audit.verify()).toEqual({
      ok: true,
      events: 4,
      head: { seq: 4, hash: events[3]?.hash },
    });
  });

  it('verifies an empty log', async () => {
    expect(await audit.verify()).toEqual({ ok: true, events: 0 });
  });

  it('detects an altered field at that event', async () => {
    await append(5);
    await sql`update audit_events set after_json = '{"name":"forged"}' where seq = 4`.execute(t.store.db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 4, events: 3 });
    await t.store.db.deleteFrom('audit_events').execute();
    await append(3);
    await sql`update audit_events set actor = 'mallory' where seq = 2`.execute(t.store.db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 2 });
  });

  it('detects a removed event', async () => {
    await append(5);
    await sql`delete from audit_events where seq = 3`.execute(t.store.db);
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: false, firstBrokenSeq: 4 });
    expect(result.ok === false && result.reason).toContain('event 3 is missing');
  });

  it('detects a removed event even when later seqs are renumbered to close the gap', async () => {
    await append(5);
    await sql`delete from audit_events where seq = 3`.execute(t.store.db);
    for (const seq of [4, 5])
      await sql`update audit_events set seq = ${seq - 1} where seq = ${seq}`.execute(t.store.db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 3 });
  });

  it('detects an edited hash', async () => {
    await append(5);
    await sql`update audit_events set hash = ${'f'.repeat(64)} where seq = 5`.execute(t.store.db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 5 });
  });

  it('detects a reordered chain', async () => {
    await append(4);
    // Swap events 2 and 3 by their seq numbers (through a free value: seq is the primary key).
    await sql`update audit_events set seq = 100 where seq = 2`.execute(t.store.db);
    await sql`update audit_events set seq = 2 where seq = 3`.execute(t.store.db);
    await sql`update audit_events set seq = 3 where seq = 100`.execute(t.store.db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 2 });
  });

  it('keeps one unbroken chain under 50 concurrent appends', async () => {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        t.store.db.transaction().execute(async (trx) => {
          // Some work before the append widens the window in which appends could interleave.
          await trx.selectFrom('experiments').select('experiment_id').execute();
          await audit.record(trx, systemActor(`user-${i}`), {
            action: 'experiment_tag.set',
            entity: 'experiment',
            entityId: '0',
            after: { key: 'i', value: String(i) },
          });
        }),
      ),
    );
    expect(await audit.verify()).toMatchObject({ ok: true, events: 50 });
    expect(new Set((await rows()).map((r) => r.actor)).size).toBe(50);
  });

  it('appends many events in one call with the same chain, concurrently with single appends', async () => {
    await append(1);
    const batch = (i: number) =>
      Array.from({ length: 600 }, (_, j) => ({
        actor: systemActor(`batch-${i}`),
        change: {
          action: 'run.created',
          entity: 'run' as const,
          entityId: `r${i}-${j}`,
          after: { run_name: `n${j}`, tags: [] },
        },
      }));
    await Promise.all([
      t.store.db.transaction().execute((trx) => audit.recordMany(trx, batch(1))),
      append(2),
      t.store.db.transaction().execute((trx) => audit.recordMany(trx, batch(2))),
      t.store.db.transaction().execute((trx) => audit.recordMany(trx, [])),
    ]);
    expect(await audit.verify()).toMatchObject({ ok: true, events: 1203 });
    const events = await rows();
    // Each call's events are consecutive and in the order given.
    for (const i of [1, 2]) {
      const own = events.filter((e) => e.actor === `batch-${i}`);
      expect(own.map((e) => e.entity_id)).toEqual(batch(i).map((c) => c.change.entityId));
      expect(Number(own.at(-1)?.seq) - Number(own[0]?.seq)).toBe(599);
    }
    // Stored in wire form (empty lists dropped), as `record` stores them.
    expect(events.find((e) => e.entity_id === 'r1-0')?.after_json).toBe('{"run_name":"n0"}');
  });

  it('appends on the raw SQLite handle with the same chain', async () => {
    if (dialect !== 'sqlite' || !t.store.sqlite) return;
    await append(2);
    const sqlite = t.store.sqlite;
    await t.store.db.connection().execute(async () => {
      sqlite
        .transaction(() =>
          audit.recordSync(sqlite, actor, {
            action: 'run_tag.set',
            entity: 'run',
            entityId: 'r1',
            after: { key: 'a', value: 'b' },
          }),
        )
        .immediate();
    });
    await append(1);
    expect(await audit.verify()).toMatchObject({ ok: true, events: 4 });
    expect((await rows()).map((r) => r.action)).toEqual([
      'experiment.renamed',
      'experiment.renamed',
      'run_tag.set',
      'experiment.renamed',
    ]);
  });

  it('searches by filter with keyset pages', async () => {
    await append(5);
    const first = await audit.search({ entity: 'experiment', maxResults: 2 });
    expect(first.events.map((e) => e.entity_id)).toEqual(['1', '2']);
    expect(first.events[0]).toMatchObject({ before: { name: 'old-1' }, actor: 'alice', seq: 1 });
    const second = await audit.search({
      entity: 'experiment',
      maxResults: 2,
      pageToken: first.nextPageToken,
    });
    expect(second.events.map((e) => e.entity_id)).toEqual(['3', '4']);
    const third = await audit.search({
      entity: 'experiment',
      maxResults: 2,
      pageToken: second.nextPageToken,
    });
    expect(third.events.map((e) => e.entity_id)).toEqual(['5']);
    expect(third.nextPageToken).toBeUndefined();
    expect((await audit.search({ entityId: '3' })).events).toHaveLength(1);
    expect((await audit.search({ actor: 'bob' })).events).toHaveLength(0);
    const times = (await rows()).map((r) => Number(r.time));
    const window = await audit.search({ from: times[1], to: times[2] });
    expect(window.events.map((e) => e.seq)).toEqual([2, 3]);
    await expect(audit.search({ maxResults: 1001 })).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
    });
    await expect(audit.search({ pageToken: 'nonsense' })).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
    });
  });
});
