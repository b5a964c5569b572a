/**
 * Keel's audit log API (`GET /api/2.0/keel/audit/events`, docs/audit.md): who changed what, when,
 * with the values before and after.
 */
import type { AuditEvent, AuditEventQuery } from '@keel/core';
import { keelGet } from './client';

/** Filters of {@link listAuditEvents}; all optional. */
export type AuditEventsQuery = AuditEventQuery;

/** One page of audit events, oldest first. */
export interface AuditEventPage {
  events: AuditEvent[];
  /** Absent on the last page. */
  nextPageToken: string | undefined;
}

/** `GET audit/events`: one page of events matching `query`, oldest first. */
export async function listAuditEvents(
  query: AuditEventsQuery,
  signal?: AbortSignal,
): Promise<AuditEventPage> {
  const answer = await keelGet<{ events?: AuditEvent[]; next_page_token?: string }>(
    'audit/events',
    {
      entity: query.entity,
      entity_id: query.entityId,
      actor: query.actor,
      action: query.action,
      from: query.from,
      to: query.to,
      max_results: query.maxResults,
      page_token: query.pageToken,
    },
    signal,
  );
  return { events: answer.events ?? [], nextPageToken: answer.next_page_token || undefined };
}

/** Every event matching `query` (page after page, up to `limit` events), oldest first. */
export async function listAllAuditEvents(
  query: Omit<AuditEventsQuery, 'pageToken'>,
  limit = 5000,
  signal?: AbortSignal,
): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let pageToken: string | undefined;
  do {
    const page = await listAuditEvents(
      { maxResults: 1000, ...query, ...(pageToken ? { pageToken } : {}) },
      signal,
    );
    events.push(...page.events);
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined && events.length < limit);
  return events;
}
