import type { PredictionRecord } from '@keel/core';
import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { Fragment, useEffect, useMemo, useState } from 'react';
import { predictionsExportHref, searchPredictions } from '../../api/predictions';
import { ErrorNotice } from '../../components/error-notice';
import { LoadMoreButton } from '../../components/paged-search';
import { formatTimestamp } from '../../lib/format';
import { hrefWithQuery, navigate } from '../../router/history';
import {
  parseRecordFilters,
  predictionFiltersOf,
  type RecordFilterView,
  recordFilterQuery,
  TIME_RANGES,
} from './record-filters';

/** Records per page. */
const PAGE_SIZE = 50;
/** The first page is refreshed this often, so new calls show up. */
const REFRESH_MS = 5000;
/** Statuses offered in the filter (any other can be typed into the URL). */
const STATUSES = ['200', '400', '404', '413', '415', '429', '500', '503'];

/** Props of {@link PredictionRecords}. */
export interface PredictionRecordsProps {
  deployment: string;
  /** The page's path, to write the filters into its query string. */
  path: string;
  query: URLSearchParams;
  /** `model/version` pairs the deployment is known to serve (from its metrics), for the version filter. */
  knownVersions: readonly string[];
}

/**
 * The deployment's prediction records, newest first, filtered by model version, caller, status and
 * time range (kept in the URL), a page at a time; a row expands to its input and output JSON. Export
 * links download every matching record as JSON lines or CSV.
 */
export function PredictionRecords({ deployment, path, query, knownVersions }: PredictionRecordsProps) {
  const view = parseRecordFilters(query);
  const viewKey = JSON.stringify(view);
  const setView = (change: Partial<RecordFilterView>) =>
    navigate(hrefWithQuery(path, { ...otherParams(query), ...recordFilterQuery({ ...view, ...change }) }), {
      replace: true,
    });
  const [caller, setCaller] = useState(view.caller);
  useEffect(() => setCaller(view.caller), [view.caller]);

  const records = useInfiniteQuery({
    queryKey: ['predictions', deployment, viewKey],
    queryFn: ({ pageParam, signal }) =>
      searchPredictions(
        predictionFiltersOf(view, deployment, Date.now()),
        { maxResults: PAGE_SIZE, ...(pageParam === undefined ? {} : { pageToken: pageParam }) },
        signal,
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextPageToken,
    placeholderData: keepPreviousData,
    refetchInterval: (q) => ((q.state.data?.pages.length ?? 0) <= 1 ? REFRESH_MS : false),
  });
  const list = useMemo(() => records.data?.pages.flatMap((page) => page.predictions) ?? [], [records.data]);
  const versionOptions = useMemo(() => {
    const seen = new Set(knownVersions);
    for (const record of list) seen.add(`${record.model_name}/${record.model_version}`);
    if (view.version !== '') seen.add(view.version);
    return [...seen].sort();
  }, [knownVersions, list, view.version]);
  const filters = predictionFiltersOf(view, deployment, Date.now());
  const filtered = view.version !== '' || view.caller !== '' || view.status !== '' || view.range !== '';

  return (
    <section className="pane flush" aria-labelledby="records-title">
      <div className="pane-heading">
        <h2 id="records-title">Prediction records</h2>
        <span className="export-links">
          Export{' '}
          <a href={predictionsExportHref(filters, 'jsonl')} download>
            JSONL
          </a>{' '}
          ·{' '}
          <a href={predictionsExportHref(filters, 'csv')} download>
            CSV
          </a>
        </span>
      </div>
      <form
        className="record-filters"
        aria-label="Filter prediction records"
        onSubmit={(event) => {
          event.preventDefault();
          setView({ caller });
        }}
      >
        <FilterSelect
          label="Model version"
          value={view.version}
          anyLabel="Any version"
          options={versionOptions.map((version) => ({ value: version, label: version }))}
          onChange={(version) => setView({ version })}
        />
        <label className="form-field">
          <span>Caller</span>
          <input
            className="input"
            value={caller}
            placeholder="Any caller"
            onChange={(event) => setCaller(event.target.value)}
            onBlur={() => caller !== view.caller && setView({ caller })}
          />
        </label>
        <FilterSelect
          label="Status"
          value={view.status}
          anyLabel="Any status"
          options={[...new Set([...STATUSES, ...(view.status ? [view.status] : [])])].map((status) => ({
            value: status,
            label: status,
          }))}
          onChange={(status) => setView({ status })}
        />
        <FilterSelect
          label="Time"
          value={view.range}
          anyLabel="All time"
          options={TIME_RANGES.map((range) => ({ value: range.key, label: range.label }))}
          onChange={(range) => setView({ range })}
        />
        {filtered && (
          <button
            type="button"
            className="button ghost small"
            onClick={() => setView({ version: '', caller: '', status: '', range: '' })}
          >
            Clear filters
          </button>
        )}
      </form>
      {records.error && <ErrorNotice error={records.error} title="Could not load the prediction records" />}
      {records.isPending ? (
        <p className="muted loading-line">Loading records…</p>
      ) : list.length === 0 ? (
        <p className="muted small records-empty">
          {filtered
            ? 'No record matches these filters.'
            : `No calls recorded yet. Send one: curl -X POST ${window.location.origin}/deployments/${deployment}/invocations -H 'Content-Type: application/json' -d '{"inputs": …}'`}
        </p>
      ) : (
        <RecordsTable records={list} />
      )}
      <LoadMoreButton pages={records} label="Load more records" className="records-more" />
    </section>
  );
}

/** The page's query without the record filters (other view state on the page stays as it is). */
/** Props of {@link FilterSelect}. */
interface FilterSelectProps {
  label: string;
  /** The picked option's value; `''` for none. */
  value: string;
  /** The text of the no-filter option (value `''`). */
  anyLabel: string;
  options: readonly { value: string; label: string }[];
  onChange(value: string): void;
}

/** One labelled drop-down of the records' filter bar, led by a no-filter option. */
function FilterSelect({ label, value, anyLabel, options, onChange }: FilterSelectProps) {
  return (
    <label className="form-field">
      <span>{label}</span>
      <select className="input" value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">{anyLabel}</option>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </label>
  );
}

function otherParams(query: URLSearchParams): Record<string, string> {
  const rest: Record<string, string> = {};
  for (const [key, value] of query)
    if (!['version', 'caller', 'status', 'range'].includes(key)) rest[key] = value;
  return rest;
}

function RecordsTable({ records }: { records: readonly PredictionRecord[] }) {
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  return (
    <table className="data-table records-table">
      <caption className="visually-hidden">Prediction records, newest first</caption>
      <thead>
        <tr>
          <th scope="col">
            <span className="visually-hidden">Details</span>
          </th>
          <th scope="col">Time</th>
          <th scope="col">Request ID</th>
          <th scope="col">Model version</th>
          <th scope="col">Arm</th>
          <th scope="col">Caller</th>
          <th scope="col">Status</th>
          <th scope="col" className="numeric">
            Latency
          </th>
        </tr>
      </thead>
      <tbody>
        {records.map((record) => {
          const expanded = open.has(record.record_id);
          return (
            <Fragment key={record.record_id}>
              <tr data-record-id={record.record_id} data-request-id={record.request_id}>
                <td className="toggle-cell">
                  <button
                    type="button"
                    className="tree-toggle"
                    aria-expanded={expanded}
                    aria-label={`${expanded ? 'Hide' : 'Show'} input and output of ${record.request_id}`}
                    onClick={() => toggle(record.record_id)}
                  >
                    <svg width="10" height="10" viewBox="0 0 10 10" aria-hidden="true">
                      <path d="M3 1.5 7 5 3 8.5" fill="none" stroke="currentColor" strokeWidth="1.6" />
                    </svg>
                  </button>
                </td>
                <td className="no-wrap">{formatTimestamp(record.received_at)}</td>
                <td className="mono small one-line request-id" title={record.request_id}>
                  {record.request_id}
                </td>
                <td className="mono small">
                  {record.model_name}/{record.model_version}
                </td>
                <td>{record.arm}</td>
                <td>{record.caller}</td>
                <td>
                  <span className={`http-status ${record.status >= 400 ? 'error' : 'ok'}`}>
                    {record.status}
                  </span>
                </td>
                <td className="numeric mono small">{record.latency_ms.toFixed(2)} ms</td>
              </tr>
              {expanded && (
                <tr className="record-detail">
                  <td />
                  <td colSpan={7}>
                    <RecordDetail record={record} />
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </table>
  );
}

function RecordDetail({ record }: { record: PredictionRecord }) {
  return (
    <div className="record-detail-body">
      {record.error_code && (
        <p className="danger-text">
          <span className="mono">{record.error_code}</span> {record.error_message}
        </p>
      )}
      <div className="payloads">
        <Payload title="Input" value={record.input} hash={record.input_hash} kept={record.recorded} />
        <Payload title="Output" value={record.output} hash={record.output_hash} kept={record.recorded} />
      </div>
      <p className="muted small">
        Revision {record.deployment_revision} · {record.protocol} · recorded: {record.recorded}
        {record.label !== undefined && (
          <>
            {' '}
            · label {JSON.stringify(record.label)} by {record.label_actor}
          </>
        )}
      </p>
    </div>
  );
}

function Payload({
  title,
  value,
  hash,
  kept,
}: {
  title: string;
  value: unknown;
  hash: string | undefined;
  kept: string;
}) {
  return (
    <figure className="payload">
      <figcaption>
        {title}
        {hash && (
          <span className="mono muted small" title={`sha256 ${hash}`}>
            sha256 {hash.slice(0, 12)}…
          </span>
        )}
      </figcaption>
      {value === undefined ? (
        <p className="muted small">{kept === 'hash' ? 'Not kept (only its hash is recorded).' : 'None.'}</p>
      ) : (
        <pre>{JSON.stringify(value, null, 2)}</pre>
      )}
    </figure>
  );
}
