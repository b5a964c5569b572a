import { createHash, randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventQuery } from '@keel/core';
import { canonicalJson, invalidParameter } from '@keel/core';
import type SqliteDatabase from 'better-sqlite3';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Actor, ActorChange, Change, ChangeSink } from '../changes/change.js';
import type { Clock } from '../services/clock.js';
import type { DialectName } from '../store/dialect.js';
import type { AuditEventRow, Database } from '../store/schema.js';
import { executeSql, insertRows, SqlParams } from '../store/sql-text.js';

// Re-exported: it moved to core (workflow registrations hash it too); server users import it from here.
export { canonicalJson };

/** `prev_hash` of the first event: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Key of the PostgreSQL transaction-level advisory lock that serialises appends ("keel" in
 * ASCII, then 1 for "audit"), so two transactions never both read the same last hash and fork
 * the chain. SQLite needs none: its write transactions (`BEGIN IMMEDIATE`) are exclusive.
 */
export const AUDIT_LOCK_KEY = 1_801_807_212_001;

/**
 * Events per multi-row insert of {@link AuditLog.recordMany}: 12 columns each stays far below
 * both dialects' bound-parameter limits.
 */
const APPEND_CHUNK = 500;

/** Largest page of {@link AuditLog.search}. */
export const MAX_AUDIT_PAGE = 1000;
/** @default page size of {@link AuditLog.search} */
export const DEFAULT_AUDIT_PAGE = 100;

/** Filters of {@link AuditLog.search}; all optional, combined with AND (`maxResults` 1 to {@link MAX_AUDIT_PAGE}). */
export type AuditSearchQuery = AuditEventQuery;

/** Outcome of {@link AuditLog.verify}: the whole chain checks out, or where it first breaks. */
export type AuditVerifyResult =
  | { ok: true; events: number; head?: { seq: number; hash: string } }
  | { ok: false; firstBrokenSeq: number; eventId: string; reason: string; events: number };

/** Collaborators of {@link AuditLog}. */
export interface AuditLogOptions {
  /** The store that `verify` and `search` read. */
  db: Kysely<Database>;
  dialect: DialectName;
  /** Source of event times. @default Date.now */
  clock?: Clock;
  /** Rows read per query while verifying. @default 1000 */
  verifyPageSize?: number;
}

/**
 * The append-only, tamper-evident audit log: every change recorded through a `ChangeRecorder`
 * becomes one event whose `hash` is sha256 over the previous event's hash and the event's
 * canonical JSON (layout in docs/audit.md), so altering, removing or reordering a stored event
 * breaks the chain that {@link verify} recomputes.
 *
 * Append in the caller's transaction, as its last statements: on PostgreSQL the append lock is
 * held until commit, and a transaction that took it and then waited on a row lock could deadlock
 * with one holding that row and waiting for the append lock.
 *
 * @example
 * const audit = new AuditLog({ db: store.db, dialect: store.dialect });
 * await store.db.transaction().execute(async (trx) => {
 *   await trx.updateTable('experiments').set({ name }).where('experiment_id', '=', id).execute();
 *   await audit.record(trx, actor, { action: 'experiment.renamed', entity: 'experiment', entityId: String(id), before, after });
 * });
 * const result = await audit.verify(); // { ok: true, events: 1, head: … }
 */
export class AuditLog implements ChangeSink {
  readonly #options: Required<Omit<AuditLogOptions, 'clock'>> & { clock: Clock };
  readonly #sqliteStatements = new WeakMap<SqliteDatabase.Database, SqliteStatements>();

  constructor(options: AuditLogOptions) {
    this.#options = Object.freeze({
      verifyPageSize: 1000,
      clock: Date.now,
      ...options,
    });
  }

  /** Appends one event inside `trx` (which must be a write transaction). */
  async record(trx: Transaction<Database>, actor: Actor, change: Change): Promise<void> {
    await this.recordMany(trx, [{ actor, change }]);
  }

  /**
   * Appends several events inside `trx`, in order, each chained to the one before: the same
   * events as one {@link record} call each, with one read of the chain head and multi-row
   * inserts.
   */
  async recordMany(trx: Transaction<Database>, changes: readonly ActorChange[]): Promise<void> {
    if (changes.length === 0) return;
    let last = await this.#head(trx);
    const rows = changes.map(({ actor, change }) => {
      const row = this.#seal(last, actor, change);
      last = { seq: row.seq, hash: row.hash };
      return row;
    });
    // SQL text rather than the query builder: every tracked change appends here (see sql-text.ts).
    for (let i = 0; i < rows.length; i += APPEND_CHUNK) {
      await insertRows(trx, this.#options.dialect, 'audit_events', rows.slice(i, i + APPEND_CHUNK));
    }
  }

  /** The last event, read under the append lock (see {@link AUDIT_LOCK_KEY}). */
  async #head(trx: Transaction<Database>): Promise<{ seq: number; hash: string } | undefined> {
    if (this.#options.dialect === 'postgres') {
      // Released at commit or rollback; the read below then sees the previous holder's event
      // (READ COMMITTED takes a new snapshot per statement).
      await sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`.execute(trx);
    }
    const { rows } = await executeSql<{ seq: number; hash: string }>(
      trx,
      'select "seq", "hash" from "audit_events" order by "seq" desc limit 1',
      new SqlParams(this.#options.dialect),
    );
    return rows[0];
  }

  /**
   * {@link record} for SQLite's raw better-sqlite3 handle, for the synchronous log-batch hot
   * path: call it inside a transaction already open on that handle (`.immediate()`), which
   * makes the read-then-append exclusive.
   */
  recordSync(sqlite: SqliteDatabase.Database, actor: Actor, change: Change): void {
    let statements = this.#sqliteStatements.get(sqlite);
    if (!statements) {
      statements = {
        last: sqlite.prepare('select seq, hash from audit_events order by seq desc limit 1'),
        insert: sqlite.prepare(
          `insert into audit_events (seq, event_id, time, actor, request_id, action, entity, entity_id, before_json, after_json, prev_hash, hash)
           values (@seq, @event_id, @time, @actor, @request_id, @action, @entity, @entity_id, @before_json, @after_json, @prev_hash, @hash)`,
        ),
      };
      this.#sqliteStatements.set(sqlite, statements);
    }
    const last = statements.last.get() as { seq: number; hash: string } | undefined;
    statements.insert.run(this.#seal(last, actor, change));
  }

  /**
   * Recomputes the chain in seq order, a page at a time, and reports the first event that does
   * not fit: a seq gap (an event removed), a `prev_hash` that is not the previous event's hash
   * (removed or reordered), or a hash that does not match the stored fields (a field or the
   * hash itself edited). Removing events from the end leaves a valid shorter chain: compare
   * `head` with a copy kept elsewhere to detect that.
   */
  async verify(): Promise<AuditVerifyResult> {
    let previous: { seq: number; hash: string } | undefined;
    let events = 0;
    for (;;) {
      const rows = await this.#options.db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>', previous?.seq ?? Number.MIN_SAFE_INTEGER)
        .orderBy('seq')
        .limit(this.#options.verifyPageSize)
        .execute();
      for (const raw of rows) {
        const row = normalizeRow(raw);
        const broken = (reason: string): AuditVerifyResult => ({
          ok: false,
          firstBrokenSeq: row.seq,
          eventId: row.event_id,
          reason,
          events,
        });
        const expectedSeq = (previous?.seq ?? 0) + 1;
        if (row.seq !== expectedSeq) {
          if (row.seq < expectedSeq)
            return broken(`seq ${row.seq} is out of order (expected ${expectedSeq})`);
          const missing =
            row.seq === expectedSeq + 1
              ? `event ${expectedSeq} is`
              : `events ${expectedSeq}–${row.seq - 1} are`;
          return broken(`${missing} missing (seq gap)`);
        }
        const expectedPrev = previous?.hash ?? GENESIS_HASH;
        if (row.prev_hash !== expectedPrev) {
          return broken(
            previous
              ? `prev_hash does not match the hash of event ${previous.seq} (removed or reordered events)`
              : 'prev_hash of the first event is not the genesis hash',
          );
        }
        let computed: string;
        try {
          computed = eventHash(row.prev_hash, hashedFields(row));
        } catch (error) {
          return broken(`stored before/after is not valid JSON (${(error as Error).message})`);
        }
        if (computed !== row.hash) {
          return broken('hash does not match the stored fields (the event or its hash was altered)');
        }
        previous = { seq: row.seq, hash: row.hash };
        events += 1;
      }
      if (rows.length < this.#options.verifyPageSize) break;
    }
    return previous ? { ok: true, events, head: previous } : { ok: true, events };
  }

  /**
   * Events matching every given filter, oldest first (seq order), one page at a time.
   *
   * @example
   * const { events, nextPageToken } = await audit.search({ entity: 'run', entityId: runId, maxResults: 50 });
   */
  async search(query: AuditSearchQuery): Promise<{ events: AuditEvent[]; nextPageToken?: string }> {
    const maxResults = query.maxResults ?? DEFAULT_AUDIT_PAGE;
    if (!Number.isSafeInteger(maxResults) || maxResults < 1 || maxResults > MAX_AUDIT_PAGE) {
      throw invalidParameter(
        `Invalid value ${maxResults} for parameter 'max_results': it must be between 1 and ${MAX_AUDIT_PAGE}`,
      );
    }
    const after = decodeAuditPageToken(query.pageToken);
    let select = this.#options.db.selectFrom('audit_events').selectAll().where('seq', '>', after);
    if (query.entity !== undefined) select = select.where('entity', '=', query.entity);
    if (query.entityId !== undefined) select = select.where('entity_id', '=', query.entityId);
    if (query.actor !== undefined) select = select.where('actor', '=', query.actor);
    if (query.action !== undefined) select = select.where('action', '=', query.action);
    if (query.from !== undefined) select = select.where('time', '>=', query.from);
    if (query.to !== undefined) select = select.where('time', '<=', query.to);
    const rows = (
      await select
        .orderBy('seq')
        .limit(maxResults + 1)
        .execute()
    ).map(normalizeRow);
    const page = rows.slice(0, maxResults);
    const last = page[page.length - 1];
    return {
      events: page.map(toAuditEvent),
      ...(rows.length > maxResults && last ? { nextPageToken: encodeAuditPageToken(last.seq) } : {}),
    };
  }

  #seal(last: { seq: number; hash: string } | undefined, actor: Actor, input: Change): AuditEventRow {
    const change = { ...input, before: wireValue(input.before), after: wireValue(input.after) };
    const fields: HashedFields = {
      seq: last === undefined ? 1 : Number(last.seq) + 1,
      event_id: randomUUID(),
      time: this.#options.clock(),
      actor: actor.user,
      request_id: actor.requestId,
      action: change.action,
      entity: change.entity,
      entity_id: change.entityId,
      before: change.before === undefined ? null : change.before,
      after: change.after === undefined ? null : change.after,
    };
    const prevHash = last?.hash ?? GENESIS_HASH;
    const beforeJson = change.before === undefined ? null : canonicalJson(change.before);
    const afterJson = change.after === undefined ? null : canonicalJson(change.after);
    return {
      seq: fields.seq,
      event_id: fields.event_id,
      time: fields.time,
      actor: fields.actor,
      request_id: fields.request_id,
      action: fields.action,
      entity: fields.entity,
      entity_id: fields.entity_id,
      before_json: beforeJson,
      after_json: afterJson,
      prev_hash: prevHash,
      hash: sealHash(prevHash, fields, beforeJson, afterJson),
    };
  }
}

interface SqliteStatements {
  last: SqliteDatabase.Statement;
  insert: SqliteDatabase.Statement;
}

/** The fields an event's hash covers; `before`/`after` are JSON values, `null` when absent. */
export interface HashedFields {
  seq: number;
  event_id: string;
  time: number;
  actor: string;
  request_id: string;
  action: string;
  entity: string;
  entity_id: string;
  before: unknown;
  after: unknown;
}

/**
 * An event's hash: lowercase hex sha256 of the UTF-8 bytes of `prevHash` (64 hex characters)
 * immediately followed by the canonical JSON of the hashed fields. See docs/audit.md.
 *
 * @example
 * eventHash(GENESIS_HASH, { seq: 1, event_id: 'e', time: 0, actor: 'a', request_id: 'r', action: 'experiment.created', entity: 'experiment', entity_id: '1', before: null, after: { name: 'x' } });
 */
export function eventHash(prevHash: string, fields: HashedFields): string {
  return sha256Hex(prevHash + canonicalJson(fields));
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * {@link eventHash} of a new event whose `before` and `after` are already serialised (canonical
 * JSON, null when absent), so that appending serialises them once: `canonicalJson(fields)` is
 * spelled out, keys in sorted order.
 */
function sealHash(
  prevHash: string,
  fields: HashedFields,
  beforeJson: string | null,
  afterJson: string | null,
): string {
  const { action, actor, entity, entity_id, event_id, request_id, seq, time } = fields;
  const scalars = [action, actor, entity, entity_id, event_id, request_id, seq, time];
  // canonicalJson drops undefined members; not worth spelling out for callers that break the types.
  if (scalars.some((value) => value === undefined)) return eventHash(prevHash, fields);
  const text = JSON.stringify;
  const json =
    `{"action":${text(action)},"actor":${text(actor)},"after":${afterJson ?? 'null'},` +
    `"before":${beforeJson ?? 'null'},"entity":${text(entity)},"entity_id":${text(entity_id)},` +
    `"event_id":${text(event_id)},"request_id":${text(request_id)},"seq":${text(seq)},` +
    `"time":${text(time)}}`;
  return sha256Hex(prevHash + json);
}

/**
 * A value as Keel's wire format writes it (protobuf JSON, see `compact` in http/rpc.ts): `null`
 * and `undefined` members and empty lists dropped, recursively. Events are stored in this form so
 * the API returns exactly the values that were hashed.
 */
function wireValue(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.map((item) => wireValue(item) ?? null);
  if (typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const wire = wireValue(field);
    if (wire === undefined || (Array.isArray(wire) && wire.length === 0)) continue;
    out[key] = wire;
  }
  return out;
}

function hashedFields(row: AuditEventRow): HashedFields {
  return {
    seq: row.seq,
    event_id: row.event_id,
    time: row.time,
    actor: row.actor,
    request_id: row.request_id,
    action: row.action,
    entity: row.entity,
    entity_id: row.entity_id,
    before: row.before_json === null ? null : JSON.parse(row.before_json),
    after: row.after_json === null ? null : JSON.parse(row.after_json),
  };
}

// PostgreSQL BIGINTs arrive as numbers (see postgres-dialect.ts), but be explicit for safety.
function normalizeRow(row: AuditEventRow): AuditEventRow {
  return { ...row, seq: Number(row.seq), time: Number(row.time) };
}

function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    seq: row.seq,
    event_id: row.event_id,
    time: row.time,
    actor: row.actor,
    request_id: row.request_id,
    action: row.action,
    entity: row.entity,
    entity_id: row.entity_id,
    ...(row.before_json === null ? {} : { before: JSON.parse(row.before_json) as unknown }),
    ...(row.after_json === null ? {} : { after: JSON.parse(row.after_json) as unknown }),
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/** Keyset tokens: base64url of `{"s": last seq}`, so pages stay stable while events are appended. */
function encodeAuditPageToken(seq: number): string {
  return Buffer.from(JSON.stringify({ s: seq })).toString('base64url');
}

function decodeAuditPageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { s?: unknown };
    if (typeof parsed.s === 'number' && Number.isSafeInteger(parsed.s) && parsed.s >= 0) return parsed.s;
  } catch {
    // fall through to the error below
  }
  throw invalidParameter(`Invalid page_token '${token.slice(0, 100)}'`);
}
