/**
 * One audit event as `GET /api/2.0/keel/audit/events` returns it (see docs/audit.md).
 * `before`/`after` are absent for creations and deletions respectively.
 */
export interface AuditEvent {
  /** Position in the chain, from 1, without gaps. */
  seq: number;
  event_id: string;
  /** Epoch milliseconds. */
  time: number;
  actor: string;
  request_id: string;
  /** `<entity>.<verb>`, e.g. `experiment.renamed`, `run_tag.set`. */
  action: string;
  entity: string;
  entity_id: string;
  before?: unknown;
  after?: unknown;
  prev_hash: string;
  hash: string;
}

/**
 * Filters of a search of the audit log (`GET /api/2.0/keel/audit/events`), all optional and
 * combined with AND; the SDK's and the web UI's queries both take this shape.
 */
export interface AuditEventQuery {
  entity?: string;
  entityId?: string;
  actor?: string;
  action?: string;
  /** Earliest event time, epoch ms, inclusive. */
  from?: number;
  /** Latest event time, epoch ms, inclusive. */
  to?: number;
  /** Page size, 1 to 1000. @default 100 */
  maxResults?: number;
  pageToken?: string;
}
