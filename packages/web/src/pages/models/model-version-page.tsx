import type { ModelVersion } from '@keel/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { listAllAuditEvents } from '../../api/audit';
import { getModelVersion, updateModelVersionDescription } from '../../api/registry';
import { ColumnHeadings } from '../../components/column-headings';
import { ErrorNotice } from '../../components/error-notice';
import { PageHeader } from '../../components/page-header';
import { formatTimestamp } from '../../lib/format';
import type { PageProps } from '../../routes';
import { LineagePanel } from './lineage-panel';
import { AliasChips, modelHref, RunLink, StageBadge, TagTable } from './model-bits';
import { describeVersionEvent, versionHistory } from './version-history';

/**
 * `/models/:name/versions/:version` — one model version: stage, aliases, tags, its editable
 * description, source run, its lineage graph and its audit history.
 */
export function ModelVersionPage({ params }: PageProps) {
  const name = params.name ?? '';
  const version = params.version ?? '';
  const modelVersion = useQuery({
    queryKey: ['registry', name, 'version', version],
    queryFn: ({ signal }) => getModelVersion(name, version, signal),
  });
  const data = modelVersion.data;

  return (
    <div className="page">
      <PageHeader
        title={
          <>
            {name} <span className="title-version">version {version}</span>
          </>
        }
        breadcrumbs={[
          { label: 'Models', href: '/models' },
          { label: name, href: modelHref(name) },
        ]}
        subtitle={
          data &&
          `Registered ${formatTimestamp(data.creation_timestamp)}${data.user_id ? ` by ${data.user_id}` : ''}`
        }
      />
      {modelVersion.error && (
        <ErrorNotice error={modelVersion.error} title={`Could not load ${name} version ${version}`} />
      )}
      {data && (
        <>
          <div className="split">
            <div className="split-main">
              <VersionSummary version={data} />
              <DescriptionEditor version={data} />
            </div>
            <aside className="split-side">
              <section className="pane">
                <h2>Tags</h2>
                <TagTable tags={data.tags} caption={`Tags of ${name} version ${version}`} />
              </section>
            </aside>
          </div>
          <LineagePanel model={name} version={version} />
          <AuditHistory model={name} version={version} />
        </>
      )}
    </div>
  );
}

function VersionSummary({ version }: { version: ModelVersion }) {
  return (
    <section className="pane" aria-label="Summary">
      <dl className="fact-list">
        <div>
          <dt>Stage</dt>
          <dd>
            <StageBadge stage={version.current_stage} />
          </dd>
        </div>
        <div>
          <dt>Aliases</dt>
          <dd className="aliases-cell">
            <AliasChips aliases={version.aliases} />
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>{version.status === 'READY' ? 'Ready' : version.status}</dd>
        </div>
        <div>
          <dt>Source run</dt>
          <dd>
            <RunLink runId={version.run_id} />
          </dd>
        </div>
        <div>
          <dt>Last updated</dt>
          <dd>{formatTimestamp(version.last_updated_timestamp)}</dd>
        </div>
        <div className="wide">
          <dt>Source</dt>
          <dd className="mono break-all">{version.source}</dd>
        </div>
      </dl>
    </section>
  );
}

/** The description, shown as text; Edit turns it into a text area saved with `model-versions/update`. */
function DescriptionEditor({ version }: { version: ModelVersion }) {
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<string>();
  const save = useMutation({
    mutationFn: (text: string) => updateModelVersionDescription(version.name, version.version, text),
    onSuccess: async (updated) => {
      queryClient.setQueryData(['registry', version.name, 'version', version.version], updated);
      setDraft(undefined);
      await queryClient.invalidateQueries({ queryKey: ['registry', version.name] });
    },
  });
  return (
    <section className="pane" aria-labelledby="description-title">
      <div className="pane-heading">
        <h2 id="description-title">Description</h2>
        {draft === undefined && (
          <button
            type="button"
            className="button small"
            onClick={() => setDraft(version.description ?? '')}
            aria-label="Edit description"
          >
            Edit
          </button>
        )}
      </div>
      {draft === undefined ? (
        version.description ? (
          <p className="text-block">{version.description}</p>
        ) : (
          <p className="muted small">No description. Say what this version is and how it was made.</p>
        )
      ) : (
        <form
          className="description-form"
          onSubmit={(event) => {
            event.preventDefault();
            save.mutate(draft);
          }}
        >
          <label htmlFor="version-description" className="visually-hidden">
            Description
          </label>
          <textarea
            id="version-description"
            className="input textarea"
            value={draft}
            rows={4}
            onChange={(event) => setDraft(event.target.value)}
          />
          <div className="form-actions">
            <button type="submit" className="button primary small" disabled={save.isPending}>
              {save.isPending ? 'Saving…' : 'Save'}
            </button>
            <button type="button" className="button small" onClick={() => setDraft(undefined)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {save.error && <ErrorNotice error={save.error} title="Could not save the description" />}
    </section>
  );
}

/** Who did what to this version, when: its audit events and the alias changes concerning it. */
function AuditHistory({ model, version }: { model: string; version: string }) {
  const history = useQuery({
    queryKey: ['registry', model, 'audit', version],
    queryFn: async ({ signal }) => {
      const [own, ofModel] = await Promise.all([
        listAllAuditEvents({ entity: 'model_version', entityId: `${model}/${version}` }, 5000, signal),
        listAllAuditEvents({ entity: 'registered_model', entityId: model }, 5000, signal),
      ]);
      return versionHistory(own, ofModel, version).reverse();
    },
  });
  const events = history.data ?? [];
  return (
    <section className="pane flush" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {history.error && <ErrorNotice error={history.error} title="Could not load the audit history" />}
      {history.isPending ? (
        <p className="muted loading-line">Loading the history…</p>
      ) : events.length === 0 ? (
        <p className="muted small">No recorded changes.</p>
      ) : (
        <table className="data-table audit-table">
          <caption className="visually-hidden">
            Audit history of {model} version {version}, newest first
          </caption>
          <ColumnHeadings headings={['Time', 'Who', 'Action', 'Change']} />
          <tbody>
            {events.map((event) => (
              <tr key={event.seq} data-action={event.action}>
                <td className="no-wrap">{formatTimestamp(event.time)}</td>
                <td>{event.actor}</td>
                <td className="mono small">{event.action}</td>
                <td>{describeVersionEvent(event, version)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
