import { useQuery } from '@tanstack/react-query';
import { getRegisteredModel, listModelVersions } from '../../api/registry';
import { ColumnHeadings } from '../../components/column-headings';
import { EmptyState } from '../../components/empty-state';
import { ErrorNotice } from '../../components/error-notice';
import { PageHeader } from '../../components/page-header';
import { formatTimestamp } from '../../lib/format';
import { Link } from '../../router/link';
import type { PageProps } from '../../routes';
import { AliasManager } from './alias-manager';
import { AliasChips, RunLink, StageBadge, TagTable, versionHref } from './model-bits';

/**
 * `/models/:name` — one registered model: description, tags, every version (stage, aliases, when,
 * source run, status) and the alias form that sets, moves and deletes aliases.
 */
export function ModelPage({ params }: PageProps) {
  const name = params.name ?? '';
  const model = useQuery({
    queryKey: ['registry', name, 'model'],
    queryFn: ({ signal }) => getRegisteredModel(name, signal),
  });
  const versions = useQuery({
    queryKey: ['registry', name, 'versions'],
    queryFn: ({ signal }) => listModelVersions(name, {}, signal),
  });
  const list = versions.data ?? [];

  return (
    <div className="page">
      <PageHeader
        title={name}
        breadcrumbs={[{ label: 'Models', href: '/models' }]}
        subtitle={
          model.data &&
          `${list.length} version${list.length === 1 ? '' : 's'} · created ${formatTimestamp(model.data.creation_timestamp)} · updated ${formatTimestamp(model.data.last_updated_timestamp)}`
        }
      />
      {model.error && <ErrorNotice error={model.error} title={`Could not load model ${name}`} />}
      {versions.error && <ErrorNotice error={versions.error} title="Could not load the versions" />}
      {model.data && (
        <div className="split">
          <div className="split-main">
            {model.data.description && (
              <section className="pane">
                <h2>Description</h2>
                <p className="text-block">{model.data.description}</p>
              </section>
            )}
            <section className="pane flush" aria-label="Versions">
              <h2>Versions</h2>
              {versions.isPending ? (
                <p className="muted loading-line">Loading versions…</p>
              ) : list.length === 0 ? (
                <EmptyState title="No versions yet">
                  <p>
                    Register a run's model as a version:{' '}
                    <code>mlflow.register_model("runs:/&lt;run&gt;/model", "{name}")</code> or{' '}
                    <code>run.registerModel('model', '{name}')</code> with the Keel SDK.
                  </p>
                </EmptyState>
              ) : (
                <table className="data-table versions-table">
                  <caption className="visually-hidden">Versions of {name}</caption>
                  <ColumnHeadings
                    headings={['Version', 'Stage', 'Aliases', 'Created', 'Source run', 'Status']}
                  />
                  <tbody>
                    {list.map((version) => (
                      <tr key={version.version} data-version={version.version}>
                        <td>
                          <Link href={versionHref(name, version.version)}>Version {version.version}</Link>
                        </td>
                        <td>
                          <StageBadge stage={version.current_stage} />
                        </td>
                        <td className="aliases-cell">
                          <AliasChips aliases={version.aliases} />
                        </td>
                        <td>{formatTimestamp(version.creation_timestamp)}</td>
                        <td>
                          <RunLink runId={version.run_id} />
                        </td>
                        <td>
                          <span className={`status-badge version-status-${version.status.toLowerCase()}`}>
                            <span className="status-dot" aria-hidden="true" />
                            {statusLabel(version.status)}
                          </span>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </div>
          <aside className="split-side">
            <AliasManager model={name} aliases={model.data.aliases ?? []} versions={list} />
            <section className="pane">
              <h2>Tags</h2>
              <TagTable tags={model.data.tags} caption={`Tags of ${name}`} />
            </section>
          </aside>
        </div>
      )}
    </div>
  );
}

function statusLabel(status: string): string {
  if (status === 'READY') return 'Ready';
  if (status === 'PENDING_REGISTRATION') return 'Pending';
  if (status === 'FAILED_REGISTRATION') return 'Failed';
  return status;
}
