/**
 * A model version's audit history for the version page: the events of the version itself (entity
 * `model_version`, id `name/version`) plus the model's alias events that point at, or moved away
 * from, this version; and a one-line description of each change. Pure, unit-tested.
 */
import type { AuditEvent } from '@keel/core';

/** The value `before`/`after` of an event carries, or an empty record. */
function fieldsOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string {
  if (value === undefined || value === null || value === '') return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** True for an alias event of the model that concerns `version` (set to it, or moved or deleted from it). */
export function isAliasEventOf(event: AuditEvent, version: string): boolean {
  if (!event.action.startsWith('registered_model_alias.')) return false;
  return fieldsOf(event.before).version === version || fieldsOf(event.after).version === version;
}

/**
 * The events that make up one version's history, oldest first, without duplicates: `versionEvents`
 * (the version's own) and those of `modelEvents` that are alias changes concerning `version`.
 */
export function versionHistory(
  versionEvents: readonly AuditEvent[],
  modelEvents: readonly AuditEvent[],
  version: string,
): AuditEvent[] {
  const bySeq = new Map<number, AuditEvent>();
  for (const event of versionEvents) bySeq.set(event.seq, event);
  for (const event of modelEvents) if (isAliasEventOf(event, version)) bySeq.set(event.seq, event);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/**
 * What an event changed, in one line, seen from version `version`.
 *
 * @example
 * describeVersionEvent({ action: 'registered_model_alias.set', before: { alias: 'champion', version: '1' },
 *   after: { alias: 'champion', version: '2' }, … }, '2');
 * // "alias 'champion' moved here from version 1"
 */
export function describeVersionEvent(event: AuditEvent, version: string): string {
  const before = fieldsOf(event.before);
  const after = fieldsOf(event.after);
  switch (event.action) {
    case 'model_version.created':
      return `registered from ${text(after.source)}`;
    case 'model_version.deleted':
      return 'version deleted';
    case 'model_version.stage_transitioned':
      return `stage ${text(before.current_stage)} → ${text(after.current_stage)}`;
    case 'model_version.updated':
      return describeUpdate(before, after);
    case 'model_version_tag.set':
      return before.value === undefined
        ? `tag ${text(after.key)} = ${text(after.value)}`
        : `tag ${text(after.key)}: ${text(before.value)} → ${text(after.value)}`;
    case 'model_version_tag.deleted':
      return `tag ${text(before.key)} deleted (was ${text(before.value)})`;
    case 'registered_model_alias.set':
      return describeAliasSet(before, after, version);
    case 'registered_model_alias.deleted':
      return `alias '${text(before.alias)}' deleted`;
    default:
      return describeUpdate(before, after);
  }
}

function describeAliasSet(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  version: string,
): string {
  const alias = `alias '${text(after.alias)}'`;
  if (after.version !== version) return `${alias} moved to version ${text(after.version)}`;
  if (before.version === undefined) return `${alias} set`;
  return `${alias} moved here from version ${text(before.version)}`;
}

/** The fields whose values differ, `field: old → new`, or `updated` when none can be shown. */
function describeUpdate(before: Record<string, unknown>, after: Record<string, unknown>): string {
  const ignored = new Set(['last_updated_timestamp']);
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (key) => !ignored.has(key) && JSON.stringify(before[key]) !== JSON.stringify(after[key]),
  );
  if (keys.length === 0) return 'updated';
  return keys.map((key) => `${key}: ${text(before[key])} → ${text(after[key])}`).join('; ');
}
