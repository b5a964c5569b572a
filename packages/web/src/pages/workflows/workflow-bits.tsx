/** Pieces the workflow pages share: state badges, short versions, links to executions. */
import { buildPath } from '../../router/match-route';

/** `/executions/:id` */
export function executionHref(executionId: string): string {
  return buildPath('/executions/:id', { id: executionId });
}

/** `/workflows?workflow=<name>` */
export function workflowHref(name: string): string {
  return `/workflows?workflow=${encodeURIComponent(name)}`;
}

/** A version for display: content-hash versions (64 hex) cut to 12 characters, named ones as they are. */
export function shortVersion(version: string): string {
  return /^[0-9a-f]{64}$/.test(version) ? version.slice(0, 12) : version;
}

/**
 * A short execution id: the first 8 and last 4 characters. Ids are time-ordered UUIDv7s, so
 * executions started close together share their first characters; the end tells them apart.
 *
 * @example
 * shortId('01a205df-1da2-770a-a018-c287af3cb491'); // '01a205df…b491'
 */
export function shortId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

/** The state of an execution or a node as a coloured dot and its name. */
export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`wf-state wf-${state}`} data-state={state}>
      <span className="status-dot" aria-hidden="true" />
      {state}
    </span>
  );
}
