import type { Deployment, DeploymentRevision } from '@keel/core';
import { useQuery } from '@tanstack/react-query';
import { getDeployment, getDeploymentReadiness, listDeploymentRevisions } from '../../api/deployments';
import { ColumnHeadings } from '../../components/column-headings';
import { ErrorNotice } from '../../components/error-notice';
import { PageHeader } from '../../components/page-header';
import { formatTimestamp } from '../../lib/format';
import type { PageProps } from '../../routes';
import {
  deploymentHref,
  formatShare,
  ModelUriLink,
  routeShares,
  StateBadge,
  WeightBar,
} from './deployment-bits';
import { formatLatency, formatRate } from './live-traffic';
import { PredictionRecords } from './prediction-records';
import { Sparkline } from './sparkline';
import { type LiveTraffic, useLiveTraffic } from './use-live-traffic';

/** How often readiness is checked again. */
const READY_POLL_MS = 3000;
/** Points on a sparkline (two minutes at one per 2 s). */
const SPARK_POINTS = 60;

/**
 * `/deployments/:name` — one deployment: its routes and weights, shadow and readiness; live request
 * rate and latency from `/metrics`; its prediction records (filterable, expandable, exportable); its
 * revision history.
 */
export function DeploymentPage({ params, query }: PageProps) {
  const name = params.name ?? '';
  const deployment = useQuery({
    queryKey: ['deployment', name],
    queryFn: ({ signal }) => getDeployment(name, signal),
  });
  const readiness = useQuery({
    queryKey: ['deployment', name, 'ready'],
    queryFn: ({ signal }) => getDeploymentReadiness(name, signal),
    refetchInterval: READY_POLL_MS,
  });
  const revisions = useQuery({
    queryKey: ['deployment', name, 'revisions'],
    queryFn: ({ signal }) => listDeploymentRevisions(name, signal),
  });
  const traffic = useLiveTraffic(name);
  const data = deployment.data;

  return (
    <div className="page">
      <PageHeader
        title={name}
        breadcrumbs={[{ label: 'Deployments', href: '/deployments' }]}
        subtitle={
          data &&
          `Revision ${data.revision} · updated ${formatTimestamp(data.last_updated_timestamp)}${data.last_updated_by ? ` by ${data.last_updated_by}` : ''}${data.description ? ` · ${data.description}` : ''}`
        }
        actions={<StateBadge readiness={readiness.data} />}
      />
      {deployment.error && (
        <ErrorNotice error={deployment.error} title={`Could not load deployment ${name}`} />
      )}
      {data && (
        <>
          <div className="split">
            <div className="split-main">
              <TrafficSplit deployment={data} traffic={traffic} />
              <LiveTrafficPane traffic={traffic} />
            </div>
            <aside className="split-side">
              <ReadinessPane readiness={readiness.data} />
              <ConfigPane deployment={data} />
            </aside>
          </div>
          <PredictionRecords
            deployment={name}
            path={deploymentHref(name)}
            query={query}
            knownVersions={(traffic.scrape?.versions ?? []).map((v) => `${v.model}/${v.version}`)}
          />
          <RevisionHistory revisions={revisions.data} error={revisions.error} current={data.revision} />
        </>
      )}
    </div>
  );
}

function TrafficSplit({ deployment, traffic }: { deployment: Deployment; traffic: LiveTraffic }) {
  const routes = deployment.spec.routes;
  const shares = routeShares(routes);
  const shadow = deployment.spec.shadow;
  return (
    <section className="pane" aria-labelledby="routes-title">
      <h2 id="routes-title">Routes</h2>
      <WeightBar routes={routes} />
      <table className="data-table dense routes-table">
        <caption className="visually-hidden">Routes and weights</caption>
        <thead>
          <tr>
            <th scope="col">Route</th>
            <th scope="col">Model</th>
            <th scope="col" className="numeric">
              Weight
            </th>
            <th scope="col" className="numeric">
              Share
            </th>
            <th scope="col" className="numeric">
              Requests/s
            </th>
          </tr>
        </thead>
        <tbody>
          {routes.map((route, i) => (
            <tr key={route.name} data-route={route.name}>
              <td>
                <span className={`route-swatch series-${(i % 6) + 1}`} aria-hidden="true" /> {route.name}
              </td>
              <td>
                <ModelUriLink uri={route.model} />
              </td>
              <td className="numeric">{route.weight}</td>
              <td className="numeric route-share">{formatShare(shares[i] ?? 0)}</td>
              <td className="numeric">
                {formatRate(traffic.latest?.perArmRate[route.name] ?? (traffic.latest ? 0 : undefined))}
              </td>
            </tr>
          ))}
          {shadow && (
            <tr data-route="shadow">
              <td>
                <span className="route-swatch shadow" aria-hidden="true" /> shadow
              </td>
              <td>
                <ModelUriLink uri={shadow.model} />
              </td>
              <td className="numeric muted">copy</td>
              <td className="numeric muted">every call</td>
              <td className="numeric">
                {formatRate(traffic.latest?.perArmRate.shadow ?? (traffic.latest ? 0 : undefined))}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

function LiveTrafficPane({ traffic }: { traffic: LiveTraffic }) {
  const latest = traffic.latest;
  return (
    <section className="pane" aria-labelledby="live-title">
      <div className="pane-heading">
        <h2 id="live-title">Live traffic</h2>
        <span className="muted small">from /metrics every 2 s · last 2 minutes</span>
      </div>
      {traffic.error !== null && traffic.error !== undefined && (
        <ErrorNotice error={traffic.error} title="Could not read /metrics" />
      )}
      <div className="stat-tiles">
        <Stat label="Requests/s" value={formatRate(latest?.rate)} name="rate" />
        <Stat label="Errors/s" value={formatRate(latest?.errorRate)} name="errors" />
        <Stat label="p50 latency" value={formatLatency(latest?.p50)} name="p50" />
        <Stat label="p99 latency" value={formatLatency(latest?.p99)} name="p99" />
        <Stat
          label="Total requests"
          value={(traffic.scrape?.requests ?? 0).toLocaleString('en-US')}
          name="total"
        />
      </div>
      <div className="sparklines">
        <figure>
          <figcaption className="muted small">Requests/s</figcaption>
          <Sparkline
            values={traffic.points.map((p) => p.rate)}
            capacity={SPARK_POINTS}
            label="Requests per second over the last 2 minutes"
          />
        </figure>
        <figure>
          <figcaption className="muted small">p99 latency</figcaption>
          <Sparkline
            values={traffic.points.map((p) => p.p99)}
            capacity={SPARK_POINTS}
            label="p99 latency over the last 2 minutes"
          />
        </figure>
      </div>
    </section>
  );
}

function Stat({ label, value, name }: { label: string; value: string; name: string }) {
  return (
    <div className="stat-tile" data-stat={name}>
      <span className="stat-label">{label}</span>
      <span className="stat-value">{value}</span>
    </div>
  );
}

function ReadinessPane({ readiness }: { readiness: Parameters<typeof StateBadge>[0]['readiness'] }) {
  return (
    <section className="pane" aria-labelledby="state-title">
      <h2 id="state-title">State</h2>
      <dl className="fact-list">
        <div>
          <dt>State</dt>
          <dd>
            <StateBadge readiness={readiness} />
          </dd>
        </div>
        <div>
          <dt>Ready</dt>
          <dd>{readiness ? (readiness.ready ? 'yes' : 'no') : '—'}</dd>
        </div>
        <div>
          <dt>Serving revision</dt>
          <dd>{readiness?.serving_revision ?? '—'}</dd>
        </div>
        <div>
          <dt>Latest revision</dt>
          <dd>{readiness?.desired_revision ?? '—'}</dd>
        </div>
      </dl>
      {readiness?.error && (
        <p className="danger-text small" role="status">
          {readiness.error.revision !== undefined ? `Revision ${readiness.error.revision}: ` : ''}
          {readiness.error.message}
        </p>
      )}
    </section>
  );
}

function ConfigPane({ deployment }: { deployment: Deployment }) {
  const { batching, resources, recording } = deployment.spec;
  return (
    <section className="pane" aria-labelledby="config-title">
      <h2 id="config-title">Configuration</h2>
      <dl className="fact-list">
        <div>
          <dt>Recording</dt>
          <dd>
            {recording?.mode ?? 'full'}
            {recording?.sampleRate !== undefined ? ` (${Math.round(recording.sampleRate * 100)}%)` : ''}
          </dd>
        </div>
        <div>
          <dt>Batching</dt>
          <dd>{batching ? `${batching.maxBatchSize} rows, ${batching.maxDelayMs} ms` : 'default'}</dd>
        </div>
        <div>
          <dt>Workers</dt>
          <dd>{resources?.workers ?? 'default'}</dd>
        </div>
        <div>
          <dt>Queue</dt>
          <dd>{resources?.maxQueueRows ?? 4096} rows</dd>
        </div>
        {resources?.maxConcurrentRequests !== undefined && (
          <div>
            <dt>Concurrency</dt>
            <dd>{resources.maxConcurrentRequests}</dd>
          </div>
        )}
        <div>
          <dt>Created</dt>
          <dd>
            {formatTimestamp(deployment.creation_timestamp)}
            {deployment.created_by ? ` by ${deployment.created_by}` : ''}
          </dd>
        </div>
      </dl>
    </section>
  );
}

function RevisionHistory({
  revisions,
  error,
  current,
}: {
  revisions: readonly DeploymentRevision[] | undefined;
  error: unknown;
  current: number;
}) {
  return (
    <section className="pane flush" aria-labelledby="revisions-title">
      <h2 id="revisions-title">Revisions</h2>
      {error !== null && error !== undefined && (
        <ErrorNotice error={error} title="Could not load the revisions" />
      )}
      {revisions === undefined ? (
        !error && <p className="muted loading-line">Loading revisions…</p>
      ) : (
        <table className="data-table revisions-table">
          <caption className="visually-hidden">Revisions, newest first</caption>
          <ColumnHeadings headings={['Revision', 'Change', 'When', 'By', 'Routes']} />
          <tbody>
            {revisions.map((revision) => {
              const shares = routeShares(revision.spec.routes);
              return (
                <tr key={revision.revision} data-revision={revision.revision}>
                  <td>
                    {revision.revision}
                    {revision.revision === current && (
                      <span className="count-pill current-pill">current</span>
                    )}
                  </td>
                  <td>
                    {revision.action.replace('_', ' ')}
                    {revision.source_revision !== undefined && ` to revision ${revision.source_revision}`}
                  </td>
                  <td className="no-wrap">{formatTimestamp(revision.last_updated_timestamp)}</td>
                  <td>{revision.last_updated_by ?? '—'}</td>
                  <td className="mono small">
                    {revision.spec.routes
                      .map((route, i) => `${route.name} ${formatShare(shares[i] ?? 0)} ${route.model}`)
                      .join(', ')}
                    {revision.spec.shadow ? `; shadow ${revision.spec.shadow.model}` : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
