import { parseFilter, type SearchSchema } from '@keel/core';
import { useEffect, useState } from 'react';
import { hrefWithQuery, navigate } from '../router/history';
import { EmptyState } from './empty-state';

/** Typing pause before a list's search runs (and the URL changes). */
const SEARCH_DELAY_MS = 250;

/** What {@link useUrlSearch} returns. */
export interface UrlSearch {
  /** The search in effect: the URL's `?q=`. */
  search: string;
  /** What the search field holds; it becomes `search` after a typing pause. */
  draft: string;
  setDraft(text: string): void;
}

/**
 * The search of a list page held in the URL's `?q=`: the field's draft follows the URL, and a typing
 * pause of {@link SEARCH_DELAY_MS} replaces the URL (`path?q=draft`) with the trimmed draft.
 */
export function useUrlSearch(path: string, query: URLSearchParams): UrlSearch {
  const search = query.get('q') ?? '';
  const [draft, setDraft] = useState(search);
  useEffect(() => setDraft(search), [search]);
  useEffect(() => {
    if (draft.trim() === search) return;
    const timer = window.setTimeout(
      () => navigate(hrefWithQuery(path, { q: draft.trim() }), { replace: true }),
      SEARCH_DELAY_MS,
    );
    return () => window.clearTimeout(timer);
  }, [path, draft, search]);
  return { search, draft, setDraft };
}

/**
 * What a list page's search box sends as `filter`: the text itself when it is a filter in the list's
 * grammar (`tags.team = 'growth'`, `name LIKE 'churn%' AND tags.stage != 'old'`), else the models or
 * experiments whose name contains it ({@link nameContainsFilter}); none for ''.
 *
 * @example
 * searchBoxFilter('churn', REGISTERED_MODEL_SEARCH_SCHEMA); // "name ILIKE '%churn%'"
 * searchBoxFilter("tags.team = 'growth'", REGISTERED_MODEL_SEARCH_SCHEMA); // "tags.team = 'growth'"
 */
export function searchBoxFilter(text: string, schema: SearchSchema): string | undefined {
  try {
    if (parseFilter(text, schema) !== undefined) return text;
  } catch {
    // Not a filter: a fragment of a name.
  }
  return nameContainsFilter(text);
}

/** `name ILIKE '%text%'`, with the text's quotes doubled as the filter grammar wants; none for ''. */
export function nameContainsFilter(text: string): string | undefined {
  if (text === '') return undefined;
  return `name ILIKE '%${text.replaceAll("'", "''")}%'`;
}

/** Props of {@link SearchField}. */
export interface SearchFieldProps {
  id: string;
  /** The field's (visually hidden) label and its placeholder. */
  label: string;
  value: string;
  onChange(text: string): void;
}

/** A list page's search-by-name field, in its toolbar. */
export function SearchField({ id, label, value, onChange }: SearchFieldProps) {
  return (
    <div className="toolbar">
      <div className="search-field">
        <label htmlFor={id} className="visually-hidden">
          {label}
        </label>
        <input
          id={id}
          className="input"
          type="search"
          placeholder={label}
          value={value}
          onChange={(event) => onChange(event.target.value)}
          autoComplete="off"
        />
      </div>
    </div>
  );
}

/** Props of {@link NoSearchMatch}. */
export interface NoSearchMatchProps {
  /** What the list holds, singular and plural: `experiment`, `experiments`. */
  noun: string;
  plural: string;
  search: string;
  /** Clears the search. */
  onClear(): void;
}

/** What a list page shows when nothing's name contains the search. */
export function NoSearchMatch({ noun, plural, search, onClear }: NoSearchMatchProps) {
  return (
    <EmptyState title={`No ${noun} matches your search`}>
      <p>
        No {noun} name contains “{search}”.{' '}
        <button type="button" className="button ghost inline" onClick={onClear}>
          Show all {plural}
        </button>
      </p>
    </EmptyState>
  );
}

/** The part of an infinite query (TanStack Query) that {@link LoadMoreButton} reads. */
export interface NextPages {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage(): Promise<unknown>;
}

/** Props of {@link LoadMoreButton}. */
export interface LoadMoreButtonProps {
  pages: NextPages;
  /** The button's text, e.g. `Load more models`; `Loading…` while a page is on its way. */
  label: string;
  /** Of the button's wrapper. */
  className?: string;
}

/** The button under a paged list that fetches its next page; nothing once there is none. */
export function LoadMoreButton({ pages, label, className }: LoadMoreButtonProps) {
  if (!pages.hasNextPage) return null;
  return (
    <div className={className}>
      <button
        type="button"
        className="button"
        disabled={pages.isFetchingNextPage}
        onClick={() => void pages.fetchNextPage()}
      >
        {pages.isFetchingNextPage ? 'Loading…' : label}
      </button>
    </div>
  );
}
