import type { OrderByClause } from './ast.js';
import { readIdentifier, resolveIdentifier } from './identifier.js';
import { InvalidSearchError, type SearchText } from './invalid-search-error.js';
import { isKeyword, TokenCursor } from './lexer.js';
import { MAX_FILTER_LENGTH } from './parse-filter.js';
import type { SearchSchema } from './search-schema.js';

/**
 * Parses `order_by` entries of the form `<identifier> [ASC|DESC]` (case-insensitive, ASC by default),
 * with the same identifier spellings as filters. Only fields the schema marks orderable are accepted.
 *
 * @returns one clause per entry, in order; `[]` for `undefined` or an empty list.
 * @throws InvalidSearchError (code INVALID_PARAMETER_VALUE) naming the clause and the position in it.
 *
 * @example
 * parseOrderBy(['metrics.rmse DESC', 'created'], RUN_SEARCH_SCHEMA);
 * // [{ entity: 'metric', key: 'rmse', ascending: false }, { entity: 'attribute', key: 'start_time', ascending: true }]
 */
export function parseOrderBy(clauses: readonly string[] | undefined, schema: SearchSchema): OrderByClause[] {
  return (clauses ?? []).map((clause) => parseClause(clause, schema));
}

function parseClause(text: string, schema: SearchSchema): OrderByClause {
  const source: SearchText = { text, label: 'order_by clause' };
  if (text.length > MAX_FILTER_LENGTH) {
    throw new InvalidSearchError(
      source,
      `clause is ${text.length} characters long, more than the maximum of ${MAX_FILTER_LENGTH}`,
      MAX_FILTER_LENGTH,
    );
  }
  const cursor = new TokenCursor(source);
  if (cursor.peek().kind === 'eof') {
    throw new InvalidSearchError(
      source,
      'empty clause',
      0,
      'expected an identifier and optionally ASC or DESC',
    );
  }
  const identifier = resolveIdentifier(schema, readIdentifier(cursor), cursor);
  if (!identifier.field.orderable) {
    throw new InvalidSearchError(source, `${identifier.subject} cannot be ordered by`, identifier.start);
  }

  let ascending = true;
  const direction = cursor.next();
  if (isKeyword(direction, 'DESC')) ascending = false;
  else if (!isKeyword(direction, 'ASC') && direction.kind !== 'eof')
    throw cursor.unexpected(direction, 'ASC or DESC');

  const rest = cursor.next();
  if (rest.kind !== 'eof') throw cursor.unexpected(rest, 'the end of the clause');
  return { entity: identifier.entity, key: identifier.key, ascending };
}
