/**
 * The runs table's view state, kept in the URL query so a view can be shared and survives a reload:
 *
 * | query | meaning | example |
 * |---|---|---|
 * | `filter` | MLflow filter, sent to `runs/search` as is | `metrics.acc > 0.5` |
 * | `sort`, `dir` | sorted column and direction (`asc`/`desc`); default `attributes.start_time`, `desc` | `sort=metrics.acc&dir=desc` |
 * | `col` (repeated) | extra columns: `params.<key>`, `metrics.<key>`, `tags.<key>` | `col=params.lr&col=metrics.acc` |
 */

/** Where an extra column's value comes from. */
export type KeyKind = 'params' | 'metrics' | 'tags';

/** An extra column: a param, a latest metric value or a tag, by key. */
export interface KeyColumn {
  kind: KeyKind;
  key: string;
}

/** Run attributes the table can sort on (server-side `order_by`). */
export const SORTABLE_ATTRIBUTES = ['run_name', 'status', 'start_time', 'user_id'] as const;
export type SortableAttribute = (typeof SORTABLE_ATTRIBUTES)[number];

/** The sorted column: a run attribute or an extra column. */
export type SortColumn = { kind: 'attributes'; key: SortableAttribute } | KeyColumn;

/** The whole view state of the runs table. */
export interface RunsViewState {
  /** MLflow filter text; `''` for none. */
  filter: string;
  sort: SortColumn;
  descending: boolean;
  /** Extra columns, in the order the user added them. */
  columns: readonly KeyColumn[];
}

/** Newest runs first, as MLflow's UI and `runs/search` default. */
export const DEFAULT_SORT: SortColumn = { kind: 'attributes', key: 'start_time' };

const KEY_KINDS: readonly KeyKind[] = ['params', 'metrics', 'tags'];

/**
 * Reads the view state from a URL query; unknown or malformed values fall back to the defaults.
 *
 * @example
 * parseRunsView(new URLSearchParams('filter=metrics.acc>0.5&col=params.lr&sort=metrics.acc&dir=asc'));
 * // { filter: 'metrics.acc>0.5', sort: { kind: 'metrics', key: 'acc' }, descending: false,
 * //   columns: [{ kind: 'params', key: 'lr' }] }
 */
export function parseRunsView(query: URLSearchParams): RunsViewState {
  const sort = parseSortColumn(query.get('sort') ?? '') ?? DEFAULT_SORT;
  const dir = query.get('dir');
  const columns: KeyColumn[] = [];
  const seen = new Set<string>();
  for (const value of query.getAll('col')) {
    const column = parseKeyColumn(value);
    if (column === undefined || seen.has(columnId(column))) continue;
    seen.add(columnId(column));
    columns.push(column);
  }
  return {
    filter: query.get('filter') ?? '',
    sort,
    descending: dir === null ? isDefaultSort(sort) : dir !== 'asc',
    columns,
  };
}

/**
 * The query values of a view state, defaults left out (for `hrefWithQuery`).
 *
 * @example
 * runsViewQuery({ filter: '', sort: DEFAULT_SORT, descending: true, columns: [{ kind: 'params', key: 'lr' }] });
 * // { filter: undefined, sort: undefined, dir: undefined, col: ['params.lr'] }
 */
export function runsViewQuery(view: RunsViewState): Record<string, string | string[] | undefined> {
  const defaultSort = isDefaultSort(view.sort);
  return {
    filter: view.filter === '' ? undefined : view.filter,
    sort: defaultSort ? undefined : columnId(view.sort),
    dir: defaultSort && view.descending ? undefined : view.descending ? 'desc' : 'asc',
    col: view.columns.map(columnId),
  };
}

/** `params.lr`, `attributes.start_time`: the column's id in the URL and in the table. */
export function columnId(column: SortColumn): string {
  return `${column.kind}.${column.key}`;
}

/** Reads `params.<key>`, `metrics.<key>` or `tags.<key>` (the key may itself contain dots). */
export function parseKeyColumn(id: string): KeyColumn | undefined {
  const dot = id.indexOf('.');
  if (dot <= 0 || dot === id.length - 1) return undefined;
  const kind = id.slice(0, dot);
  if (!(KEY_KINDS as readonly string[]).includes(kind)) return undefined;
  return { kind: kind as KeyKind, key: id.slice(dot + 1) };
}

function parseSortColumn(id: string): SortColumn | undefined {
  if (id.startsWith('attributes.')) {
    const key = id.slice('attributes.'.length);
    return (SORTABLE_ATTRIBUTES as readonly string[]).includes(key)
      ? { kind: 'attributes', key: key as SortableAttribute }
      : undefined;
  }
  return parseKeyColumn(id);
}

function isDefaultSort(sort: SortColumn): boolean {
  return sort.kind === DEFAULT_SORT.kind && sort.key === DEFAULT_SORT.key;
}

/** Keys the filter grammar reads without quoting (the same rule as `formatFilter` in @keel/core). */
const BARE_KEY = /^[\p{L}\p{N}_]+(?:\.[\p{L}\p{N}_]+)*$/u;

/**
 * The `order_by` clauses for `runs/search`: the sorted column, then the run id so that pages of
 * equal values have a stable order.
 *
 * @example
 * orderByClauses({ kind: 'metrics', key: 'val loss' }, false); // ['metrics.`val loss` ASC', 'attributes.run_id ASC']
 */
export function orderByClauses(sort: SortColumn, descending: boolean): string[] {
  const key = BARE_KEY.test(sort.key)
    ? sort.key
    : `\`${sort.key.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
  return [`${sort.kind}.${key} ${descending ? 'DESC' : 'ASC'}`, 'attributes.run_id ASC'];
}
