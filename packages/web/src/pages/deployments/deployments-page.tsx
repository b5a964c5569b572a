import type { Deployment } from '@keel/core';
import { useQueries, useQuery } from '@tanstack/react-query';
import { getDeploymentReadiness, listDeployments } from '../../api/deployments';
import { CodeSnippet } from '../../components/code-snippet';
import { ColumnHeadings } from '../../components/column-headings';
import { EmptyState } from '../../components/empty-state';
import { ErrorNotice } from '../../components/error-notice';
import { PageHeader } from '../../components/page-header';
import { formatTimestamp } from '../../lib/format';
import { Link } from '../../router/link';
import {
  deploymentHref,
  formatShare,
  ModelUriLink,
  routeShares,
  StateBadge,
  WeightBar,
} from './deployment-bits';

/** How often the states are checked again. */
const STATE_POLL_MS = 5000;

/**
 * `/deployments` — every deployment with its revision, its routes and their weights (a bar and the
 * list), its shadow and its state from `/deployments/{name}/ready`.
 */
export function DeploymentsPage() {
  const deployments = useQuery({
    queryKey: ['deployments'],
    queryFn: ({ signal }) => listDeployments(signal),
  });
  const list = deployments.data ?? [];
  const states = useQueries({
    queries: list.map((deployment) => ({
      queryKey: ['deployment', deployment.name, 'ready'],
      queryFn: ({ signal }: { signal: AbortSignal }) => getDeploymentReadiness(deployment.name, signal),
      refetchInterval: STATE_POLL_MS,
    })),
  });

  return (
    <div className="page">
      <PageHeader
        title="Deployments"
        subtitle="Named serving configurations: weighted routes to registered model versions, served at /deployments/{name}/invocations."
      />
      {deployments.error && <ErrorNotice error={deployments.error} title="Could not load the deployments" />}
      {deployments.isPending ? (
        <p className="muted loading-line">Loading deployments…</p>
      ) : list.length === 0 ? (
        <FirstDeploymentHint />
      ) : (
        <div className="table-card">
          <table className="data-table deployments-table">
            <caption className="visually-hidden">Deployments</caption>
            <ColumnHeadings
              headings={['Name', 'Revision', 'Routes and weights', 'Shadow', 'State', 'Updated']}
            />
            <tbody>
              {list.map((deployment, i) => (
                <DeploymentRow key={deployment.name} deployment={deployment} readiness={states[i]?.data} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function DeploymentRow({
  deployment,
  readiness,
}: {
  deployment: Deployment;
  readiness: Parameters<typeof StateBadge>[0]['readiness'];
}) {
  const routes = deployment.spec.routes;
  const shares = routeShares(routes);
  return (
    <tr data-deployment={deployment.name}>
      <td>
        <Link href={deploymentHref(deployment.name)}>{deployment.name}</Link>
        {deployment.description && <p className="muted small one-line">{deployment.description}</p>}
      </td>
      <td className="numeric">{deployment.revision}</td>
      <td className="routes-cell">
        <WeightBar routes={routes} compact />
        <ul className="route-lines">
          {routes.map((route, i) => (
            <li key={route.name} data-route={route.name}>
              <span className={`route-swatch series-${(i % 6) + 1}`} aria-hidden="true" />
              <span className="route-name">{route.name}</span>
              <span className="route-share">{formatShare(shares[i] ?? 0)}</span>
              <ModelUriLink uri={route.model} />
            </li>
          ))}
        </ul>
      </td>
      <td>
        {deployment.spec.shadow ? (
          <ModelUriLink uri={deployment.spec.shadow.model} />
        ) : (
          <span className="empty-cell">—</span>
        )}
      </td>
      <td>
        <StateBadge readiness={readiness} />
      </td>
      <td className="no-wrap">
        {formatTimestamp(deployment.last_updated_timestamp)}
        {deployment.last_updated_by && <p className="muted small">by {deployment.last_updated_by}</p>}
      </td>
    </tr>
  );
}

function FirstDeploymentHint() {
  const origin = window.location.origin;
  const shell = [
    `export KEEL_TRACKING_URI=${origin}`,
    'keel deployments create my-model --route models:/my-model@champion',
    `curl -s -X POST ${origin}/deployments/my-model/invocations \\`,
    `  -H 'Content-Type: application/json' -d '{"inputs": [[1, 2, 3, 4]]}'`,
  ].join('\n');
  return (
    <EmptyState title="No deployments yet">
      <p>
        A deployment serves registered model versions over HTTP, splits traffic between them and records every
        call. Create one from a registered model:
      </p>
      <CodeSnippet label="Shell" code={shell} />
    </EmptyState>
  );
}
