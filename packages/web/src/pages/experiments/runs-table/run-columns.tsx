/**
 * The runs table's columns: selection, run name (with the nesting toggle), status, start time,
 * duration, user, then the extra param / metric / tag columns the user picked. Each column says
 * how to render a cell and which server-side sort it maps to.
 */
import type { Run } from '@keel/core';
import { createContext, type ReactNode, useContext } from 'react';
import { formatMetric, formatTimestamp } from '../../../lib/format';
import { Link } from '../../../router/link';
import { RunDuration } from '../../runs/run-duration';
import type { RunRow } from './nest-runs';
import { columnId, type KeyColumn, type SortColumn } from './runs-view-state';

/** One column of the runs table. */
export interface RunColumn {
  /** Stable id: `select`, `attributes.run_name`, `params.lr`, … */
  id: string;
  /** Header text (also the accessible name of the header). */
  header: string;
  /** Width in pixels (the run name column grows to fill spare width). */
  size: number;
  /** The server-side sort a click on the header applies; absent for unsortable columns. */
  sort?: SortColumn;
  /** Right-align (numbers). */
  numeric?: boolean;
  /** Puts a key column's kind before its name in the header (`param`, `metric`, `tag`). */
  kindLabel?: string;
  render: (row: RunRow) => ReactNode;
}

/** Row state the cells read: selection and collapsed parents. */
export interface RunsTableState {
  selected: ReadonlySet<string>;
  toggleSelected: (runId: string) => void;
  collapsed: ReadonlySet<string>;
  toggleCollapsed: (runId: string) => void;
}

/** Provides {@link RunsTableState} to the cells without rebuilding the column definitions. */
export const RunsTableStateContext = createContext<RunsTableState>({
  selected: new Set(),
  toggleSelected: () => {},
  collapsed: new Set(),
  toggleCollapsed: () => {},
});

/** The fixed columns, then one per picked key. */
export function runColumns(extra: readonly KeyColumn[]): RunColumn[] {
  return [
    { id: 'select', header: 'Select', size: 44, render: (row) => <SelectCell row={row} /> },
    {
      id: 'attributes.run_name',
      header: 'Run name',
      size: 240,
      sort: { kind: 'attributes', key: 'run_name' },
      render: (row) => <NameCell row={row} />,
    },
    {
      id: 'attributes.status',
      header: 'Status',
      size: 110,
      sort: { kind: 'attributes', key: 'status' },
      render: (row) => <StatusBadge status={row.run.info.status} />,
    },
    {
      id: 'attributes.start_time',
      header: 'Started',
      size: 165,
      sort: { kind: 'attributes', key: 'start_time' },
      render: (row) => formatTimestamp(row.run.info.start_time),
    },
    {
      id: 'duration',
      header: 'Duration',
      size: 100,
      numeric: true,
      render: (row) => <RunDuration run={row.run} />,
    },
    {
      id: 'attributes.user_id',
      header: 'User',
      size: 120,
      sort: { kind: 'attributes', key: 'user_id' },
      render: (row) => row.run.info.user_id || '—',
    },
    ...extra.map(keyColumn),
  ];
}

const KIND_LABEL = { params: 'param', metrics: 'metric', tags: 'tag' } as const;

function keyColumn(column: KeyColumn): RunColumn {
  return {
    id: columnId(column),
    header: column.key,
    kindLabel: KIND_LABEL[column.kind],
    // Room for the kind label, the key and the sort icon, within reason.
    size: Math.min(260, Math.max(130, 100 + Math.ceil(column.key.length * 7.5))),
    sort: column,
    numeric: column.kind === 'metrics',
    render: (row) => {
      const value = keyValue(row.run, column);
      return value === undefined ? <span className="empty-cell">—</span> : value;
    },
  };
}

/** A param's value, a metric's latest value (formatted) or a tag's value; `undefined` when unset. */
export function keyValue(run: Run, column: KeyColumn): string | undefined {
  switch (column.kind) {
    case 'params':
      return run.data.params?.find((p) => p.key === column.key)?.value;
    case 'tags':
      return run.data.tags?.find((t) => t.key === column.key)?.value;
    case 'metrics': {
      const metric = run.data.metrics?.find((m) => m.key === column.key);
      return metric === undefined ? undefined : formatMetric(metric.value);
    }
    default:
      return column.kind satisfies never;
  }
}

function SelectCell({ row }: { row: RunRow }) {
  const { selected, toggleSelected } = useContext(RunsTableStateContext);
  const id = row.run.info.run_id;
  return (
    <input
      type="checkbox"
      checked={selected.has(id)}
      onChange={() => toggleSelected(id)}
      aria-label={`Select run ${row.run.info.run_name || id}`}
    />
  );
}

function NameCell({ row }: { row: RunRow }) {
  const { collapsed, toggleCollapsed } = useContext(RunsTableStateContext);
  const { run_id: id, run_name: name } = row.run.info;
  const isCollapsed = collapsed.has(id);
  return (
    <span className="name-cell" style={{ paddingLeft: `${row.depth * 20}px` }}>
      {row.childCount > 0 ? (
        <button
          type="button"
          className="tree-toggle"
          aria-expanded={!isCollapsed}
          aria-label={`${isCollapsed ? 'Show' : 'Hide'} ${row.childCount} child run${row.childCount === 1 ? '' : 's'} of ${name || id}`}
          onClick={() => toggleCollapsed(id)}
        >
          <svg width="10" height="10" viewBox="0 0 10 10" aria-hidden="true">
            <path d="M3 1.5 7 5 3 8.5" fill="none" stroke="currentColor" strokeWidth="1.6" />
          </svg>
        </button>
      ) : (
        <span className="tree-spacer" />
      )}
      <Link href={`/runs/${encodeURIComponent(id)}`} className="run-link" title={name || id}>
        {name || id}
      </Link>
      {row.childCount > 0 && <span className="child-count">{row.childCount}</span>}
      {row.depth === 0 && row.parentRunId !== undefined && (
        <span className="parent-hint" title={`Child of run ${row.parentRunId}, not in the loaded rows`}>
          child
        </span>
      )}
    </span>
  );
}

/** A run status as a coloured dot and its name. */
export function StatusBadge({ status }: { status: Run['info']['status'] }) {
  return (
    <span className={`status-badge status-${status.toLowerCase()}`}>
      <span className="status-dot" aria-hidden="true" />
      {status.charAt(0) + status.slice(1).toLowerCase()}
    </span>
  );
}
