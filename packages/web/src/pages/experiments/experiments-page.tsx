import { EXPERIMENT_SEARCH_SCHEMA } from '@keel/core';
import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { searchExperiments } from '../../api/tracking';
import { ColumnHeadings } from '../../components/column-headings';
import { EmptyState } from '../../components/empty-state';
import { ErrorNotice } from '../../components/error-notice';
import { FirstRunSnippet } from '../../components/first-run-snippet';
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

/** Experiments per `experiments/search` page. */
const PAGE_SIZE = 100;

/**
 * `/experiments` (and `/`) — the experiments, most recently updated first, searchable by name or
 * by a filter (`?q=` in the URL: `tags.team = 'growth'` is sent as it is, anything else as
 * `name ILIKE '%q%'`), a page at a time.
 */
export function ExperimentsPage({ query }: PageProps) {
  const { search, draft, setDraft } = useUrlSearch('/experiments', query);

  const experiments = useInfiniteQuery({
    queryKey: ['experiments', search],
    queryFn: ({ pageParam, signal }) =>
      searchExperiments(
        {
          filter: searchBoxFilter(search, EXPERIMENT_SEARCH_SCHEMA),
          orderBy: ['last_update_time DESC', 'experiment_id ASC'],
          maxResults: PAGE_SIZE,
          ...(pageParam === undefined ? {} : { pageToken: pageParam }),
        },
        signal,
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextPageToken,
    placeholderData: keepPreviousData,
  });
  const list = useMemo(
    () => experiments.data?.pages.flatMap((page) => page.experiments) ?? [],
    [experiments.data],
  );
  const onlyDefault = search === '' && list.length <= 1 && !experiments.hasNextPage;

  return (
    <div className="page">
      <PageHeader title="Experiments" subtitle="Each experiment groups the runs of one piece of work." />
      <SearchField
        id="experiment-search"
        label="Search experiments by name or filter"
        value={draft}
        onChange={setDraft}
      />
      {experiments.error && <ErrorNotice error={experiments.error} title="Could not load the experiments" />}
      {experiments.isPending ? (
        <p className="muted loading-line">Loading experiments…</p>
      ) : list.length === 0 && search !== '' ? (
        <NoSearchMatch noun="experiment" plural="experiments" search={search} onClear={() => setDraft('')} />
      ) : (
        <>
          {onlyDefault && (
            <EmptyState title="Log your first run">
              <p>
                Point any MLflow client or Keel's SDK at this server; the experiment and its runs show up
                here.
              </p>
              <FirstRunSnippet />
            </EmptyState>
          )}
          {list.length > 0 && (
            <div className="table-card">
              <table className="data-table">
                <caption className="visually-hidden">Experiments</caption>
                <ColumnHeadings headings={['Name', 'ID', 'Created', 'Last updated']} />
                <tbody>
                  {list.map((experiment) => (
                    <tr key={experiment.experiment_id}>
                      <td>
                        <Link href={`/experiments/${encodeURIComponent(experiment.experiment_id)}`}>
                          {experiment.name}
                        </Link>
                      </td>
                      <td className="mono muted">{experiment.experiment_id}</td>
                      <td>{formatTimestamp(experiment.creation_time)}</td>
                      <td>{formatTimestamp(experiment.last_update_time)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <LoadMoreButton pages={experiments} label="Load more experiments" />
        </>
      )}
    </div>
  );
}
