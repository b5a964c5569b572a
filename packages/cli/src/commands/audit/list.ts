import type { AuditEvent } from '@keel/sdk';
import { Command } from 'commander';
import { CliError } from '../../cli-error.js';
import { parseDuration } from '../../duration.js';
import { formatTime, writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { positiveInteger } from '../../options.js';
import { formatTable } from '../../table.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/** Flags of `keel audit list`. */
export interface AuditListFlags extends TrackingFlags {
  entity?: string;
  entityId?: string;
  actor?: string;
  action?: string;
  since?: string;
  maxResults?: number;
  json?: boolean;
}

/** Page size asked of the server while iterating. */
const PAGE_SIZE = 1000;

/**
 * `keel audit list`: audit events oldest first, across all pages, filtered by entity, actor,
 * action and age, as a table (seq, time, actor, action, entity, entity id, before → after) or a
 * JSON array with `--json`.
 *
 * @example
 * keel audit list --entity run --entity-id 5f1c… --since 7d
 * keel audit list --actor alice --action experiment.deleted --json
 */
export function auditListCommand(io: CliIo): Command {
  return withTrackingUri(new Command('list'))
    .description('List audit events (oldest first), filtered')
    .option('--entity <entity>', 'experiment, run, registered_model, model_version, webhook, deployment')
    .option('--entity-id <id>', 'the entity id: experiment id, run id, model name, deployment name…')
    .option('--actor <user>', 'only changes made by this user')
    .option('--action <action>', 'e.g. experiment.renamed, run_tag.set')
    .option('--since <when>', 'only events this recent (30d, 12h, 90m, 45s) or after an ISO time')
    .option('--max-results <n>', 'stop after this many events', positiveInteger('--max-results'))
    .option('--json', 'print a JSON array of events')
    .action(async (flags: AuditListFlags) => {
      const from = flags.since === undefined ? undefined : sinceOf(flags.since, Date.now());
      const client = trackingClient(flags);
      const limit = flags.maxResults ?? Number.POSITIVE_INFINITY;
      const events: AuditEvent[] = [];
      const pages = client.iterateAuditEvents({
        maxResults: Math.min(PAGE_SIZE, limit),
        ...(flags.entity === undefined ? {} : { entity: flags.entity }),
        ...(flags.entityId === undefined ? {} : { entityId: flags.entityId }),
        ...(flags.actor === undefined ? {} : { actor: flags.actor }),
        ...(flags.action === undefined ? {} : { action: flags.action }),
        ...(from === undefined ? {} : { from }),
      });
      for await (const event of pages) {
        events.push(event);
        if (events.length >= limit) break;
      }
      if (flags.json) return writeJson(io, events);
      io.stdout.write(
        formatTable(
          ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'ENTITY', 'ENTITY ID', 'CHANGE'],
          events.map((e) => [
            String(e.seq),
            formatTime(e.time),
            e.actor,
            e.action,
            e.entity,
            e.entity_id,
            changeOf(e),
          ]),
        ),
      );
    });
}

/** `--since`: a duration back from `now`, or an ISO 8601 time; epoch milliseconds. */
export function sinceOf(text: string, now: number): number {
  if (/^\s*\d+[smhd]\s*$/.test(text)) return now - parseDuration(text, '--since');
  // Only date-like text: Date.parse accepts odd strings such as '1'.
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new CliError(
      `Invalid --since '${text}': expected a duration (30d, 12h, 90m, 45s) or an ISO time (2025-01-31T12:00:00Z)`,
    );
  }
  return ms;
}

function changeOf(event: AuditEvent): string {
  const json = (value: unknown) => JSON.stringify(value);
  if (event.before === undefined && event.after === undefined) return '';
  if (event.before === undefined) return json(event.after);
  if (event.after === undefined) return `${json(event.before)} → (removed)`;
  return `${json(event.before)} → ${json(event.after)}`;
}
