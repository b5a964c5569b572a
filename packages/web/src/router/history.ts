/**
 * The browser location as a React-readable store. The URL is the UI's state of record: the path picks
 * the page, the query holds the page's view state (filters, ordering, columns), so any view can be
 * shared, bookmarked and reloaded. Pages change it only through {@link navigate} (or `<Link>`).
 */
import { useSyncExternalStore } from 'react';

type Listener = () => void;

const listeners = new Set<Listener>();

function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

function snapshot(): string {
  return window.location.pathname + window.location.search;
}

/** Options of {@link navigate}. */
export interface NavigateOptions {
  /** Replace the current history entry instead of adding one (for typing, not for page changes). @default false */
  replace?: boolean;
}

/**
 * Goes to `to` (a path with an optional query, e.g. `/experiments/1?filter=…`) without reloading.
 *
 * @example
 * navigate(`/compare?runs=${ids.join(',')}`);
 */
export function navigate(to: string, options: NavigateOptions = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const listener of listeners) listener();
}

/** The current path and query; re-renders the caller when either changes. */
export interface CurrentLocation {
  /** e.g. `/experiments/1` */
  pathname: string;
  /** Parsed query; treat as read-only (use {@link navigate} to change it). */
  query: URLSearchParams;
}

/** Reads the location, re-rendering on `navigate`, back and forward. */
export function useLocation(): CurrentLocation {
  const current = useSyncExternalStore(subscribe, snapshot);
  const index = current.indexOf('?');
  return {
    pathname: index === -1 ? current : current.slice(0, index),
    query: new URLSearchParams(index === -1 ? '' : current.slice(index)),
  };
}

/**
 * Builds `pathname?query` from `query` (dropping empty values), for links and {@link navigate}.
 *
 * @example
 * hrefWithQuery('/experiments/1', { filter: 'metrics.acc > 0.5', col: ['params.lr'] });
 * // '/experiments/1?filter=metrics.acc+%3E+0.5&col=params.lr'
 */
export function hrefWithQuery(
  pathname: string,
  query: Record<string, string | readonly string[] | undefined>,
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === '') continue;
    if (typeof value === 'string') params.append(key, value);
    else for (const item of value) params.append(key, item);
  }
  const search = params.toString();
  return search === '' ? pathname : `${pathname}?${search}`;
}
