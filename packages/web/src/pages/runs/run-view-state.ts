/**
 * The run page's view state in the URL: `?tab=artifacts&path=model/MLmodel`,
 * `?tab=params&q=lr`, `?tab=metrics&metric=loss`. Pure, so links and reloads agree.
 */

/** The run page's tabs, in display order. */
export const RUN_TABS = ['overview', 'params', 'metrics', 'tags', 'artifacts'] as const;
export type RunTab = (typeof RUN_TABS)[number];

/** What the run page's URL query holds. */
export interface RunViewState {
  /** @default 'overview' */
  tab: RunTab;
  /** Artifacts tab: the selected file or folder (run-relative); `''` for none. */
  path: string;
  /** Params tab: the search text. */
  q: string;
  /** Metrics tab: the metric whose chart to show first; `''` for none. */
  metric: string;
}

/** Reads the view state from the URL query; unknown tabs fall back to the overview. */
export function parseRunView(query: URLSearchParams): RunViewState {
  const tab = query.get('tab') ?? '';
  return {
    tab: (RUN_TABS as readonly string[]).includes(tab) ? (tab as RunTab) : 'overview',
    path: trimSlashes(query.get('path') ?? ''),
    q: query.get('q') ?? '',
    metric: query.get('metric') ?? '',
  };
}

/**
 * The query for a view state, for `hrefWithQuery`: only what the tab uses, and nothing for the
 * defaults, so `/runs/<id>` is the overview.
 *
 * @example
 * runViewQuery({ tab: 'artifacts', path: 'model/MLmodel', q: '', metric: '' });
 * // { tab: 'artifacts', path: 'model/MLmodel' }
 */
export function runViewQuery(view: Partial<RunViewState>): Record<string, string> {
  const tab = view.tab ?? 'overview';
  const query: Record<string, string> = {};
  if (tab !== 'overview') query.tab = tab;
  if (tab === 'artifacts' && view.path) query.path = view.path;
  if (tab === 'params' && view.q) query.q = view.q;
  if (tab === 'metrics' && view.metric) query.metric = view.metric;
  return query;
}

/**
 * The folders above `path`, outermost first: the tree nodes to open so `path` is in view.
 *
 * @example
 * ancestorFolders('a/b/c.txt'); // ['a', 'a/b']
 */
export function ancestorFolders(path: string): string[] {
  const parts = trimSlashes(path).split('/');
  const folders: string[] = [];
  for (let i = 1; i < parts.length; i++) folders.push(parts.slice(0, i).join('/'));
  return folders;
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}
