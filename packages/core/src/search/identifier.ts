/**
 * Reading an identifier from tokens and resolving it against a schema — shared by filters and
 * order_by clauses so both accept exactly the same spellings.
 */
import { type EntityKind, unreachable } from './ast.js';
import { InvalidSearchError } from './invalid-search-error.js';
import type { NamePart, TokenCursor } from './lexer.js';
import { type FieldRule, knownKeys, type SearchSchema } from './search-schema.js';

/** An identifier as written: no entity means a bare attribute. */
export interface Identifier {
  readonly entity: NamePart | undefined;
  readonly key: NamePart;
  readonly start: number;
}

/** An identifier checked against a schema. */
export interface ResolvedIdentifier {
  readonly entity: EntityKind;
  /** Canonical key (aliases resolved). */
  readonly key: string;
  readonly field: FieldRule;
  /** How messages name it, e.g. `metric 'acc'`, `attribute 'run_name'`. */
  readonly subject: string;
  readonly start: number;
}

const SUBJECT: Record<EntityKind, string> = {
  metric: 'metric',
  param: 'param',
  tag: 'tag',
  attribute: 'attribute',
  dataset: 'dataset field',
};

/**
 * Consumes an identifier: `entity.key`, a bare word, a backticked name or a double-quoted name.
 *
 * @throws InvalidSearchError when the next token is not an identifier.
 */
export function readIdentifier(cursor: TokenCursor): Identifier {
  const token = cursor.next();
  switch (token.kind) {
    case 'identifier':
      return { entity: token.entity, key: token.key, start: token.start };
    case 'word':
      return {
        entity: undefined,
        key: { text: token.text, quoted: false, start: token.start },
        start: token.start,
      };
    case 'string':
      if (token.quote === '"') {
        return {
          entity: undefined,
          key: { text: token.value, quoted: true, start: token.start },
          start: token.start,
        };
      }
      break;
    case 'number':
    case 'operator':
    case '(':
    case ')':
    case ',':
    case 'eof':
      break;
    default:
      return unreachable(token);
  }
  throw cursor.unexpected(token, 'an identifier such as metrics.acc, params.`my key` or an attribute name');
}

/**
 * Maps an identifier to its entity, canonical key and rule in `schema`.
 *
 * @throws InvalidSearchError for an unknown entity prefix, an empty key or an unknown fixed key.
 */
export function resolveIdentifier(
  schema: SearchSchema,
  identifier: Identifier,
  cursor: TokenCursor,
): ResolvedIdentifier {
  const { source } = cursor;
  const kind =
    identifier.entity === undefined ? 'attribute' : schema.prefixes.get(identifier.entity.text.toLowerCase());
  if (kind === undefined) {
    const prefixes = [...schema.prefixes.keys()].join(', ');
    throw new InvalidSearchError(
      source,
      `unknown entity '${identifier.entity?.text}'`,
      identifier.start,
      `expected one of: ${prefixes}`,
    );
  }
  const { key } = identifier;
  if (key.text === '') throw new InvalidSearchError(source, 'empty key', key.start);

  const entity = schema.entities.get(kind);
  if (entity?.anyKey !== undefined) {
    return {
      entity: kind,
      key: key.text,
      field: entity.anyKey,
      subject: `${SUBJECT[kind]} '${key.text}'`,
      start: identifier.start,
    };
  }
  const canonical = entity?.aliases.get(key.text) ?? key.text;
  const field = entity?.keys.get(canonical);
  if (entity === undefined || field === undefined) {
    const hint = entity === undefined ? undefined : `expected one of: ${knownKeys(entity).join(', ')}`;
    throw new InvalidSearchError(source, `unknown ${SUBJECT[kind]} '${key.text}'`, key.start, hint);
  }
  return {
    entity: kind,
    key: canonical,
    field,
    subject: `${SUBJECT[kind]} '${canonical}'`,
    start: identifier.start,
  };
}
