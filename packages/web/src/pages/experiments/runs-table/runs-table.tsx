/**
 * The virtualized runs table. Only the rows in view (plus a few above and below) are in the DOM,
 * whatever the number of loaded runs; scrolling near the end asks for the next page. `runColumns`
 * holds the column model (ids, sizes, cells), TanStack Virtual the row window, and the server does
 * the sorting: a header click calls `onSort`, which changes the URL and so the `runs/search` query.
 * Per scroll frame only the rows entering the window render: rows are memoised on stable props.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { type CSSProperties, memo, useEffect, useMemo, useRef } from 'react';
import type { RunRow } from './nest-runs';
import { type RunColumn, type RunsTableState, RunsTableStateContext, runColumns } from './run-columns';
import { columnId, type KeyColumn, type SortColumn } from './runs-view-state';

/** Height of one row in pixels (CSS `.runs-row` uses the same). */
export const ROW_HEIGHT = 36;
/** Ask for the next page when this many rows or fewer are left below the window. */
const LOAD_AHEAD_ROWS = 40;

/** Rows rendered beyond each edge of the window: enough that a fast scroll does not show blanks. */
const OVERSCAN_ROWS = 8;

/** Props of {@link RunsTable}. */
export interface RunsTableProps extends RunsTableState {
  rows: readonly RunRow[];
  /** Extra param / metric / tag columns. */
  columns: readonly KeyColumn[];
  sort: SortColumn;
  descending: boolean;
  /** Sort by `column` (the page flips the direction when it is already the sorted one). */
  onSort: (column: SortColumn) => void;
  /** More pages on the server. */
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
}

/** The runs of an experiment as a virtualized, server-sorted table with nesting and selection. */
export function RunsTable(props: RunsTableProps) {
  const { rows, hasMore, loadingMore, onLoadMore, selected, toggleSelected, collapsed, toggleCollapsed } =
    props;
  const specs = useMemo(() => runColumns(props.columns), [props.columns]);
  const gridStyle = useMemo(() => gridStyleOf(specs), [specs]);
  const state = useMemo<RunsTableState>(
    () => ({ selected, toggleSelected, collapsed, toggleCollapsed }),
    [selected, toggleSelected, collapsed, toggleCollapsed],
  );

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length + (hasMore ? 1 : 0),
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: OVERSCAN_ROWS,
    getItemKey: (index) => rows[index]?.run.info.run_id ?? 'loading',
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? -1;

  useEffect(() => {
    if (hasMore && !loadingMore && lastIndex >= rows.length - LOAD_AHEAD_ROWS) onLoadMore();
  }, [hasMore, loadingMore, lastIndex, rows.length, onLoadMore]);

  return (
    <RunsTableStateContext.Provider value={state}>
      <div
        ref={scrollRef}
        className="runs-scroll"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the scroll area must be reachable to scroll it by keyboard.
        tabIndex={0}
      >
        <table className="runs-table" aria-label="Runs" aria-rowcount={hasMore ? -1 : rows.length + 1}>
          <thead className="runs-head">
            <tr aria-rowindex={1} className="runs-row runs-header-row" style={gridStyle}>
              {specs.map((spec) => (
                <HeaderCell key={spec.id} spec={spec} {...props} />
              ))}
            </tr>
          </thead>
          <tbody className="runs-body" style={{ height: virtualizer.getTotalSize(), width: gridStyle.width }}>
            {items.map((item) => {
              const original = rows[item.index];
              if (original === undefined) {
                return (
                  <tr
                    key={item.key}
                    className="runs-row runs-loading-row"
                    style={{ ...gridStyle, transform: `translateY(${item.start}px)` }}
                  >
                    <td className="runs-cell loading-cell">
                      {loadingMore ? 'Loading more runs…' : 'Scroll to load more runs'}
                    </td>
                  </tr>
                );
              }
              return (
                <RunRowView
                  key={item.key}
                  row={original}
                  index={item.index}
                  start={item.start}
                  specs={specs}
                  gridStyle={gridStyle}
                  selected={selected.has(original.run.info.run_id)}
                />
              );
            })}
          </tbody>
        </table>
      </div>
    </RunsTableStateContext.Provider>
  );
}

/** The grid tracks and width every row shares (one object per column set, so rows can memoise). */
function gridStyleOf(specs: readonly RunColumn[]): CSSProperties {
  const totalWidth = specs.reduce((sum, spec) => sum + spec.size, 0);
  return {
    gridTemplateColumns: specs.map((spec) => gridTrack(spec)).join(' '),
    width: `max(100%, ${totalWidth}px)`,
  };
}

interface RunRowViewProps {
  row: RunRow;
  index: number;
  /** Offset from the top of the body, in pixels. */
  start: number;
  specs: readonly RunColumn[];
  gridStyle: CSSProperties;
  /** Passed so that a (de)selection re-renders just this row. */
  selected: boolean;
}

/**
 * One run's row. Memoised: while scrolling, the rows already in the window keep their props (same
 * run, offset and columns), so React renders only the rows coming into view.
 */
const RunRowView = memo(function RunRowView({
  row,
  index,
  start,
  specs,
  gridStyle,
  selected,
}: RunRowViewProps) {
  const style = useMemo<CSSProperties>(
    () => ({ ...gridStyle, transform: `translateY(${start}px)` }),
    [gridStyle, start],
  );
  return (
    <tr
      aria-rowindex={index + 2}
      className="runs-row"
      data-run-id={row.run.info.run_id}
      data-depth={row.depth}
      data-selected={selected}
      style={style}
    >
      {specs.map((spec) => (
        <td key={spec.id} className={`runs-cell${spec.numeric ? ' numeric' : ''}`} data-column={spec.id}>
          {spec.render(row)}
        </td>
      ))}
    </tr>
  );
});

/** Fixed width for every column but the run name, which takes the spare width. */
function gridTrack(spec: RunColumn): string {
  return spec.id === 'attributes.run_name' ? `minmax(${spec.size}px, 1fr)` : `${spec.size}px`;
}

function HeaderCell({ spec, sort, descending, onSort }: { spec: RunColumn } & RunsTableProps) {
  if (spec.id === 'select') {
    return (
      <th scope="col" className="runs-cell header-cell" data-column={spec.id}>
        <span className="visually-hidden">{spec.header}</span>
      </th>
    );
  }
  const sortable = spec.sort;
  const active = sortable !== undefined && columnId(sortable) === columnId(sort);
  const label = (
    <>
      {spec.kindLabel !== undefined && <span className="kind-label">{spec.kindLabel}</span>}
      <span className="header-text">{spec.header}</span>
    </>
  );
  return (
    <th
      scope="col"
      className={`runs-cell header-cell${spec.numeric ? ' numeric' : ''}`}
      aria-sort={active ? (descending ? 'descending' : 'ascending') : undefined}
      data-column={spec.id}
      title={spec.kindLabel ? `${spec.kindLabel} ${spec.header}` : spec.header}
    >
      {sortable === undefined ? (
        label
      ) : (
        <button type="button" className="sort-button" onClick={() => onSort(sortable)}>
          {label}
          <SortIcon active={active} descending={descending} />
        </button>
      )}
    </th>
  );
}

function SortIcon({ active, descending }: { active: boolean; descending: boolean }) {
  return (
    <svg
      className={`sort-icon${active ? ' active' : ''}`}
      width="10"
      height="12"
      viewBox="0 0 10 12"
      aria-hidden="true"
    >
      <path d="M5 1 8.5 5h-7z" opacity={active && descending ? 0.25 : 1} fill="currentColor" />
      <path d="M5 11 1.5 7h7z" opacity={active && !descending ? 0.25 : 1} fill="currentColor" />
    </svg>
  );
}
