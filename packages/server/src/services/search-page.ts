import {
  type FilterExpr,
  invalidParameter,
  type OrderByClause,
  parseFilter,
  parseOrderBy,
  type SearchSchema,
} from '@keel/core';
import { decodePageToken, pageOf } from './page-token.js';

/** What every search endpoint takes from the wire. */
export interface SearchPageInput {
  filter?: string;
  orderBy?: readonly string[];
  maxResults?: number;
  pageToken?: string;
}

/** The parsed query a store search receives: `limit` is one more than the page, to see whether another follows. */
export interface SearchPageQuery {
  filter?: FilterExpr;
  orderBy: OrderByClause[];
  offset: number;
  limit: number;
}

/**
 * One page of a search: checks `max_results` against MLflow's bounds, parses the filter and
 * order_by with the search's grammar, decodes the page token, asks the store for one row more than
 * the page, and mints the next token when that row exists.
 *
 * @example
 * const page = await searchPage(input, { schema: REGISTERED_MODEL_SEARCH_SCHEMA, defaultMax: 100, max: 1000 },
 *   (query) => store.searchModels(query));
 */
export async function searchPage<T>(
  input: SearchPageInput,
  options: { schema: SearchSchema; defaultMax: number; max: number },
  fetch: (query: SearchPageQuery) => Promise<T[]>,
): Promise<{ items: T[]; nextPageToken?: string }> {
  const maxResults = input.maxResults ?? options.defaultMax;
  if (maxResults < 1 || maxResults > options.max) {
    throw invalidParameter(
      `Invalid value ${maxResults} for parameter 'max_results' supplied: it must be between 1 and ${options.max}`,
    );
  }
  const filter = parseFilter(input.filter, options.schema);
  const orderBy = parseOrderBy(input.orderBy, options.schema);
  const offset = decodePageToken(input.pageToken);
  const rows = await fetch({ orderBy, offset, limit: maxResults + 1, ...(filter ? { filter } : {}) });
  return pageOf(rows, offset, maxResults);
}
