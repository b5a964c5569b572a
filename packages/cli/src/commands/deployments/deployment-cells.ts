import type { Deployment, DeploymentRevision, DeploymentSpec } from '@keel/core';
import { formatTime } from '../../format.js';
import { formatFields, formatTable } from '../../table.js';

/**
 * A route's share of the traffic as a percentage: `90%`, `33.3%`.
 * @example shareOf(1, 3) // '33.3%'
 */
export function shareOf(weight: number, total: number): string {
  const percent = total > 0 ? (weight / total) * 100 : 0;
  return `${Number(percent.toFixed(1))}%`;
}

/** The routes in one table cell: `stable 90% models:/fraud@champion, canary 10% models:/fraud/8`. */
export function routesCell(spec: DeploymentSpec): string {
  const total = spec.routes.reduce((sum, r) => sum + r.weight, 0);
  return spec.routes.map((r) => `${r.name} ${shareOf(r.weight, total)} ${r.model}`).join(', ');
}

/** The revision's action, with the restored revision for a rollback: `rolled_back from 2`. */
export function actionCell(revision: DeploymentRevision): string {
  return revision.source_revision === undefined
    ? revision.action
    : `${revision.action} from ${revision.source_revision}`;
}

/**
 * A deployment (or one revision of it) as text: its fields, then its routes as a table.
 *
 * @example
 * // Deployment   fraud
 * // Revision     3
 * // …
 * // Routes
 * // NAME    MODEL                   WEIGHT  SHARE
 * // stable  models:/fraud@champion  90      90%
 */
export function formatDeployment(deployment: Deployment | DeploymentRevision): string {
  const { spec } = deployment;
  const revision = 'action' in deployment ? deployment : undefined;
  const fields: [string, string][] = [
    ['Deployment', deployment.name],
    ['Revision', String(deployment.revision)],
    ...(revision ? [['Action', actionCell(revision)] as [string, string]] : []),
    ['Description', deployment.description || '-'],
  ];
  if (revision) {
    fields.push(['Made', `${formatTime(revision.creation_timestamp)} by ${revision.created_by ?? '-'}`]);
  } else {
    fields.push(
      ['Created', `${formatTime(deployment.creation_timestamp)} by ${deployment.created_by ?? '-'}`],
      ['Updated', `${formatTime(deployment.last_updated_timestamp)} by ${deployment.last_updated_by ?? '-'}`],
    );
  }
  fields.push(
    ['Shadow', spec.shadow?.model ?? '-'],
    [
      'Batching',
      spec.batching
        ? `up to ${spec.batching.maxBatchSize} rows, wait up to ${spec.batching.maxDelayMs} ms`
        : 'server default',
    ],
    ['Resources', resourcesCell(spec)],
    ['Recording', recordingCell(spec)],
  );
  const total = spec.routes.reduce((sum, r) => sum + r.weight, 0);
  const routes = formatTable(
    ['NAME', 'MODEL', 'WEIGHT', 'SHARE'],
    spec.routes.map((r) => [r.name, r.model, String(r.weight), shareOf(r.weight, total)]),
  );
  return `${formatFields(fields)}\nRoutes\n${routes}`;
}

function resourcesCell(spec: DeploymentSpec): string {
  const parts = [
    ...(spec.resources?.workers === undefined ? [] : [`${spec.resources.workers} workers`]),
    ...(spec.resources?.maxQueueRows === undefined
      ? []
      : [`queue up to ${spec.resources.maxQueueRows} rows`]),
  ];
  return parts.length === 0 ? 'server defaults' : parts.join(', ');
}

function recordingCell(spec: DeploymentSpec): string {
  const recording = spec.recording ?? { mode: 'full' };
  if (recording.mode === 'sample')
    return `sample (payloads of ${shareOf(recording.sampleRate ?? 0, 1)} of calls)`;
  if (recording.mode === 'hash') return 'hash (payload hashes only)';
  return 'full (every payload)';
}
