import type { Run } from '@keel/core';
import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useCallback, useDeferredValue, useMemo, useState } from 'react';
import { ApiError } from '../../api/client';
import { getExperiment, searchRuns } from '../../api/tracking';
import { EmptyState } from '../../components/empty-state';
import { ErrorNotice } from '../../components/error-notice';
import { FirstRunSnippet } from '../../components/first-run-snippet';
import { PageHeader } from '../../components/page-header';
import { hrefWithQuery, navigate } from '../../router/history';
import { Link } from '../../router/link';
import type { PageProps } from '../../routes';
import { type AvailableKeys, ColumnPicker } from './runs-table/column-picker';
import { FilterBox } from './runs-table/filter-box';
import { nestRuns } from './runs-table/nest-runs';
import { RunsTable } from './runs-table/runs-table';
import {
  columnId,
  type KeyColumn,
  orderByClauses,
  parseRunsView,
  type RunsViewState,
  runsViewQuery,
  type SortColumn,
} from './runs-table/runs-view-state';

/** Runs per `runs/search` page: enough to fill a screen many times over, small enough to arrive fast. */
const PAGE_SIZE = 500;

/**
 * `/experiments/:id` — the runs of one experiment: filter (MLflow grammar, applied by the server),
 * server-side sorting, columns picked from params / metrics / tags, nested runs under their parents,
 * selection for comparison. The view state lives in the URL (see `runs-view-state.ts`).
 */
export function ExperimentRunsPage({ params, query }: PageProps) {
  const experimentId = params.id ?? '';
  const view = parseRunsView(query);
  const orderBy = orderByClauses(view.sort, view.descending);

  const experiment = useQuery({
    queryKey: ['experiment', experimentId],
    queryFn: ({ signal }) => getExperiment(experimentId, signal),
  });
  const runs = useInfiniteQuery({
    queryKey: ['runs', experimentId, view.filter, orderBy],
    queryFn: ({ pageParam, signal }) =>
      searchRuns(
        {
          experimentIds: [experimentId],
          filter: view.filter,
          orderBy,
          maxResults: PAGE_SIZE,
          ...(pageParam === undefined ? {} : { pageToken: pageParam }),
        },
        signal,
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextPageToken,
    placeholderData: keepPreviousData,
    // Pages only ever get appended: comparing every loaded run with its copy in the new data
    // (React Query's structural sharing) would cost a long task per page while scrolling.
    structuralSharing: false,
  });

  const loaded = useMemo(() => runs.data?.pages.flatMap((page) => page.runs) ?? [], [runs.data]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  // A page arriving while the table scrolls: the scroll frames keep rendering the rows they have,
  // and the new rows (nesting, then the rows in view) render in the background, in slices React
  // can interrupt for the next frame.
  const deferredLoaded = useDeferredValue(loaded);
  const rows = useMemo(() => nestRuns(deferredLoaded, collapsed), [deferredLoaded, collapsed]);
  const toggleSelected = useCallback((id: string) => setSelected((set) => toggled(set, id)), []);
  const toggleCollapsed = useCallback((id: string) => setCollapsed((set) => toggled(set, id)), []);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = runs;
  const loadMore = useCallback(() => {
    void fetchNextPage();
  }, [fetchNextPage]);

  const setView = (next: RunsViewState) =>
    navigate(hrefWithQuery(`/experiments/${encodeURIComponent(experimentId)}`, runsViewQuery(next)));
  // A click on the sorted column flips its direction; on another column it sorts ascending.
  const sortBy = (column: SortColumn) =>
    setView({
      ...view,
      sort: column,
      descending: columnId(column) === columnId(view.sort) ? !view.descending : false,
    });

  const filterError =
    runs.error instanceof ApiError && runs.error.code === 'INVALID_PARAMETER_VALUE'
      ? runs.error.message
      : undefined;
  const name = experiment.data?.name ?? `Experiment ${experimentId}`;

  if (experiment.error) {
    return (
      <div className="page">
        <PageHeader
          title={`Experiment ${experimentId}`}
          breadcrumbs={[{ label: 'Experiments', href: '/experiments' }]}
        />
        <ErrorNotice error={experiment.error} title="Could not load this experiment" />
      </div>
    );
  }

  return (
    <div className="page fill">
      <PageHeader
        title={name}
        breadcrumbs={[{ label: 'Experiments', href: '/experiments' }]}
        subtitle={
          <>
            Experiment ID <span className="mono">{experimentId}</span>
            {experiment.data?.artifact_location && (
              <>
                {' · '}Artifacts <span className="mono">{experiment.data.artifact_location}</span>
              </>
            )}
          </>
        }
      />
      <div className="toolbar">
        <FilterBox
          value={view.filter}
          error={filterError}
          availableKeys={() => collectKeys(loaded)}
          onApply={(filter) => setView({ ...view, filter })}
        />
        <div className="toolbar-actions">
          <ColumnPicker
            selected={view.columns}
            availableKeys={() => collectKeys(loaded)}
            onChange={(columns: KeyColumn[]) => setView({ ...view, columns })}
          />
          <CompareButton selected={selected} />
        </div>
      </div>
      {filterError === undefined && loaded.length > 0 && (
        <RunsStatus
          loaded={loaded.length}
          selected={selected.size}
          hasMore={hasNextPage}
          fetching={runs.isFetching}
          onClearSelection={() => setSelected(new Set())}
        />
      )}
      {runs.error && filterError === undefined && (
        <ErrorNotice error={runs.error} title="Could not load the runs" />
      )}
      {runs.isPending ? (
        <p className="muted loading-line">Loading runs…</p>
      ) : filterError !== undefined ? null : loaded.length === 0 && !runs.isError ? (
        view.filter === '' ? (
          <EmptyState title="No runs in this experiment yet">
            <p>Log a run from your training code and it appears here. For example:</p>
            <FirstRunSnippet experimentName={experiment.data?.name ?? 'my-first-experiment'} />
          </EmptyState>
        ) : (
          <EmptyState title="No run matches this filter">
            <p>
              Nothing matches <code>{view.filter}</code>.{' '}
              <button
                type="button"
                className="button ghost inline"
                onClick={() => setView({ ...view, filter: '' })}
              >
                Clear the filter
              </button>
            </p>
          </EmptyState>
        )
      ) : (
        <RunsTable
          rows={rows}
          columns={view.columns}
          sort={view.sort}
          descending={view.descending}
          onSort={sortBy}
          selected={selected}
          toggleSelected={toggleSelected}
          collapsed={collapsed}
          toggleCollapsed={toggleCollapsed}
          hasMore={hasNextPage}
          // Until the rows of the last page have rendered, the table must not ask for another.
          loadingMore={isFetchingNextPage || deferredLoaded !== loaded}
          onLoadMore={loadMore}
        />
      )}
    </div>
  );
}

function CompareButton({ selected }: { selected: ReadonlySet<string> }) {
  if (selected.size < 2) {
    return (
      <button
        type="button"
        className="button primary"
        disabled
        title="Select two or more runs to compare them"
      >
        Compare
      </button>
    );
  }
  return (
    <Link
      className="button primary"
      href={`/compare?runs=${[...selected].map(encodeURIComponent).join(',')}`}
    >
      Compare {selected.size} runs
    </Link>
  );
}

function RunsStatus(props: {
  loaded: number;
  selected: number;
  hasMore: boolean;
  fetching: boolean;
  onClearSelection: () => void;
}) {
  return (
    <div className="runs-status" aria-live="polite">
      <span>
        {props.loaded.toLocaleString()} run{props.loaded === 1 ? '' : 's'}
        {props.hasMore ? ' loaded · scroll for more' : ''}
      </span>
      {props.fetching && <span className="muted">Updating…</span>}
      {props.selected > 0 && (
        <span>
          {props.selected} selected{' '}
          <button type="button" className="button ghost inline" onClick={props.onClearSelection}>
            Clear selection
          </button>
        </span>
      )}
    </div>
  );
}

function toggled(set: ReadonlySet<string>, id: string): ReadonlySet<string> {
  const next = new Set(set);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** Every param, metric and tag key of the loaded runs. */
function collectKeys(runs: readonly Run[]): AvailableKeys {
  const params = new Set<string>();
  const metrics = new Set<string>();
  const tags = new Set<string>();
  for (const run of runs) {
    for (const param of run.data.params ?? []) params.add(param.key);
    for (const metric of run.data.metrics ?? []) metrics.add(metric.key);
    for (const tag of run.data.tags ?? []) tags.add(tag.key);
  }
  return { params: [...params], metrics: [...metrics], tags: [...tags] };
}
