import { type ModelVersion, REGISTERED_MODEL_SEARCH_SCHEMA, type RegisteredModel } from '@keel/core';
import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { searchRegisteredModels } from '../../api/registry';
import { CodeSnippet } from '../../components/code-snippet';
import { ColumnHeadings } from '../../components/column-headings';
import { EmptyState } from '../../components/empty-state';
import { ErrorNotice } from '../../components/error-notice';
import { PageHeader } from '../../components/page-header';
import {
  LoadMoreButton,
  NoSearchMatch,
  SearchField,
  searchBoxFilter,
  useUrlSearch,
} from '../../components/paged-search';
import { formatTimestamp } from '../../lib/format';
import { Link } from '../../router/link';
import type { PageProps } from '../../routes';
import { modelHref, StageBadge, versionHref } from './model-bits';

/** Models per `registered-models/search` page. */
const PAGE_SIZE = 50;

/**
 * `/models` — registered models, most recently updated first, searchable by name or by a filter
 * (`?q=`: `tags.team = 'fraud'` is sent as it is, anything else as `name ILIKE '%q%'`), a page at a
 * time; each with its newest version, the newest version per stage and its aliases.
 */
export function ModelsPage({ query }: PageProps) {
  const { search, draft, setDraft } = useUrlSearch('/models', query);

  const models = useInfiniteQuery({
    queryKey: ['registered-models', search],
    queryFn: ({ pageParam, signal }) =>
      searchRegisteredModels(
        {
          filter: searchBoxFilter(search, REGISTERED_MODEL_SEARCH_SCHEMA),
          orderBy: ['last_updated_timestamp DESC'],
          maxResults: PAGE_SIZE,
          ...(pageParam === undefined ? {} : { pageToken: pageParam }),
        },
        signal,
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextPageToken,
    placeholderData: keepPreviousData,
  });
  const list = useMemo(() => models.data?.pages.flatMap((page) => page.models) ?? [], [models.data]);

  return (
    <div className="page">
      <PageHeader
        title="Models"
        subtitle="Registered models, their versions and the aliases that point at them."
      />
      <SearchField
        id="model-search"
        label="Search models by name or filter"
        value={draft}
        onChange={setDraft}
      />
      {models.error && <ErrorNotice error={models.error} title="Could not load the models" />}
      {models.isPending ? (
        <p className="muted loading-line">Loading models…</p>
      ) : list.length === 0 && search !== '' ? (
        <NoSearchMatch noun="model" plural="models" search={search} onClear={() => setDraft('')} />
      ) : list.length === 0 ? (
        <FirstModelHint />
      ) : (
        <>
          <div className="table-card">
            <table className="data-table models-table">
              <caption className="visually-hidden">Registered models</caption>
              <ColumnHeadings headings={['Name', 'Latest version', 'By stage', 'Aliases', 'Last updated']} />
              <tbody>
                {list.map((model) => (
                  <ModelRow key={model.name} model={model} />
                ))}
              </tbody>
            </table>
          </div>
          <LoadMoreButton pages={models} label="Load more models" />
        </>
      )}
    </div>
  );
}

function ModelRow({ model }: { model: RegisteredModel }) {
  const latest = newestVersion(model.latest_versions ?? []);
  const staged = (model.latest_versions ?? [])
    .filter((version) => version.current_stage !== 'None')
    .sort((a, b) => Number(b.version) - Number(a.version));
  return (
    <tr data-model={model.name}>
      <td>
        <Link href={modelHref(model.name)}>{model.name}</Link>
        {model.description && <p className="muted small one-line">{model.description}</p>}
      </td>
      <td>
        {latest ? (
          <Link href={versionHref(model.name, latest.version)} className="version-link">
            Version {latest.version}
          </Link>
        ) : (
          <span className="empty-cell">—</span>
        )}
      </td>
      <td>
        {staged.length === 0 ? (
          <span className="empty-cell">—</span>
        ) : (
          <span className="chip-row">
            {staged.map((version) => (
              <Link
                key={version.version}
                href={versionHref(model.name, version.version)}
                className="stage-link"
              >
                <StageBadge stage={version.current_stage} /> v{version.version}
              </Link>
            ))}
          </span>
        )}
      </td>
      <td>
        {(model.aliases ?? []).length === 0 ? (
          <span className="empty-cell">—</span>
        ) : (
          <span className="chip-row">
            {(model.aliases ?? []).map((alias) => (
              <Link
                key={alias.alias}
                href={versionHref(model.name, alias.version)}
                className="model-alias"
                data-alias={alias.alias}
              >
                @{alias.alias} → v{alias.version}
              </Link>
            ))}
          </span>
        )}
      </td>
      <td>{formatTimestamp(model.last_updated_timestamp)}</td>
    </tr>
  );
}

function newestVersion(versions: readonly ModelVersion[]): ModelVersion | undefined {
  let newest: ModelVersion | undefined;
  for (const version of versions) {
    if (newest === undefined || Number(version.version) > Number(newest.version)) newest = version;
  }
  return newest;
}

/** The empty registry: how to register a first model. */
function FirstModelHint() {
  const origin = window.location.origin;
  const python = [
    `export MLFLOW_TRACKING_URI=${origin}`,
    'python - <<EOF',
    'import mlflow',
    'with mlflow.start_run() as run:',
    '    mlflow.sklearn.log_model(model, "model")',
    'mlflow.register_model(f"runs:/{run.info.run_id}/model", "my-model")',
    'EOF',
  ].join('\n');
  const typescript = [
    "import { KeelClient } from '@keel/sdk';",
    '',
    `const keel = new KeelClient({ trackingUri: '${origin}' });`,
    "const run = await keel.startRun({ experiment: 'my-experiment' });",
    "await run.logArtifacts('out/model', 'model');",
    "await run.registerModel('model', 'my-model');",
    'await run.end();',
  ].join('\n');
  return (
    <EmptyState title="Register your first model">
      <p>
        A registered model collects the versions of one model you train. Register a run's logged model from
        Python or TypeScript; it appears here with its versions.
      </p>
      <div className="snippets">
        <CodeSnippet label="Python (MLflow client)" code={python} />
        <CodeSnippet label="TypeScript (Keel SDK)" code={typescript} />
      </div>
    </EmptyState>
  );
}
