/** Pieces the deployment pages share: model URI links, state badges, the traffic-split bar. */
import { type DeploymentRoute, parseModelUri } from '@keel/core';
import type { DeploymentReadiness } from '../../api/deployments';
import { Link } from '../../router/link';
import { buildPath } from '../../router/match-route';

/** `/deployments/:name` */
export function deploymentHref(name: string): string {
  return buildPath('/deployments/:name', { name });
}

/** The registry page a `models:/` URI names: the version's page, else the model's (none for a logged model). */
export function modelUriHref(uri: string): string | undefined {
  try {
    const parsed = parseModelUri(uri);
    if (parsed.kind === 'run') return buildPath('/runs/:id', { id: parsed.runId });
    // The UI has no logged-model page yet.
    if (parsed.kind === 'logged') return undefined;
    if (parsed.kind === 'version') {
      return buildPath('/models/:name/versions/:version', {
        name: parsed.name,
        version: String(parsed.version),
      });
    }
    return buildPath('/models/:name', { name: parsed.name });
  } catch {
    return undefined;
  }
}

/** A model URI in monospace, linked to its registry page when it parses. */
export function ModelUriLink({ uri }: { uri: string }) {
  const href = modelUriHref(uri);
  return href ? (
    <Link href={href} className="mono">
      {uri}
    </Link>
  ) : (
    <span className="mono">{uri}</span>
  );
}

/** A deployment's state from its readiness answer: a coloured dot and a word. */
export function StateBadge({ readiness }: { readiness: DeploymentReadiness | undefined }) {
  const state = readiness?.state ?? (readiness ? (readiness.ready ? 'serving' : 'not ready') : 'checking');
  const tone =
    state === 'serving'
      ? 'good'
      : state === 'degraded' || state === 'loading'
        ? 'warn'
        : readiness
          ? 'bad'
          : 'idle';
  return (
    <span className={`state-badge state-${tone}`} data-state={state} title={readiness?.error?.message}>
      <span className="status-dot" aria-hidden="true" />
      {state}
    </span>
  );
}

/** Each route's share of the traffic, in percent (weights are relative). */
export function routeShares(routes: readonly DeploymentRoute[]): number[] {
  const total = routes.reduce((sum, route) => sum + Math.max(route.weight, 0), 0);
  return routes.map((route) => (total > 0 ? (Math.max(route.weight, 0) / total) * 100 : 0));
}

/** A share as text: `90%`, `33.3%`, `0%`. */
export function formatShare(share: number): string {
  return `${Number.isInteger(share) ? share : share.toFixed(1)}%`;
}

/** The traffic split as one horizontal bar, a segment per route with a weight. */
export function WeightBar({
  routes,
  compact = false,
}: {
  routes: readonly DeploymentRoute[];
  compact?: boolean;
}) {
  const shares = routeShares(routes);
  return (
    <div
      className={`weight-bar${compact ? ' compact' : ''}`}
      role="img"
      aria-label={`Traffic split: ${routes.map((route, i) => `${route.name} ${formatShare(shares[i] ?? 0)}`).join(', ')}`}
    >
      {routes.map((route, i) =>
        (shares[i] ?? 0) > 0 ? (
          <span
            key={route.name}
            className={`weight-segment series-${(i % 6) + 1}`}
            style={{ flexGrow: shares[i] }}
            data-route={route.name}
            title={`${route.name}: ${formatShare(shares[i] ?? 0)}`}
          >
            {!compact && (shares[i] ?? 0) >= 12 ? `${route.name} ${formatShare(shares[i] ?? 0)}` : ''}
          </span>
        ) : null,
      )}
    </div>
  );
}
