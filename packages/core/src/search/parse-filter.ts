/**
 * Recursive-descent parser for search filters:
 *
 *   filter     := or EOF
 *   or         := and ( OR and )*
 *   and        := primary ( AND primary )*
 *   primary    := '(' or ')' | comparison
 *   comparison := identifier op value | identifier (IN | NOT IN) '(' string ( ',' string )* ')'
 *
 * Keywords are case-insensitive. Checks against the schema run as each comparison is read, so the
 * first problem from the left is the one reported.
 */
import type { ComparisonOp, FilterExpr } from './ast.js';
import { type ResolvedIdentifier, readIdentifier, resolveIdentifier } from './identifier.js';
import { InvalidSearchError, type SearchText } from './invalid-search-error.js';
import { isKeyword, type Token, TokenCursor } from './lexer.js';
import type { SearchSchema } from './search-schema.js';

/** Longest filter accepted, in UTF-16 code units; longer ones are rejected before tokenizing. */
export const MAX_FILTER_LENGTH = 10_000;

/** Deepest parenthesis nesting accepted, so hostile input cannot exhaust the stack. */
export const MAX_FILTER_DEPTH = 100;

const OPERATORS_HINT = 'a comparison operator: =, !=, <, <=, >, >=, LIKE, ILIKE, IN or NOT IN';

/**
 * Parses and validates a filter against `schema`; empty or whitespace-only text means no filter.
 *
 * @returns the filter tree, or `undefined` when there is nothing to filter on.
 * @throws InvalidSearchError (code INVALID_PARAMETER_VALUE) naming the problem and its 0-based position.
 *
 * @example
 * parseFilter("metrics.acc > 0.9 AND (params.opt = 'adam' OR tags.`user-name` LIKE 'a%')", RUN_SEARCH_SCHEMA);
 * // { kind: 'and', items: [
 * //   { kind: 'comparison', entity: 'metric', key: 'acc', op: '>', value: 0.9, position: 0 },
 * //   { kind: 'or', items: [ …params.opt…, …tags.user-name… ] } ] }
 */
export function parseFilter(text: string | undefined, schema: SearchSchema): FilterExpr | undefined {
  if (text === undefined) return undefined;
  const source: SearchText = { text, label: 'filter' };
  if (text.length > MAX_FILTER_LENGTH) {
    throw new InvalidSearchError(
      source,
      `filter is ${text.length} characters long, more than the maximum of ${MAX_FILTER_LENGTH}`,
      MAX_FILTER_LENGTH,
    );
  }
  if (text.trim() === '') return undefined;
  return new FilterParser(new TokenCursor(source), schema).parse();
}

class FilterParser {
  readonly #cursor: TokenCursor;
  readonly #schema: SearchSchema;
  #depth = 0;

  constructor(cursor: TokenCursor, schema: SearchSchema) {
    this.#cursor = cursor;
    this.#schema = schema;
  }

  parse(): FilterExpr {
    const expr = this.#parseOr();
    const token = this.#cursor.peek();
    if (token.kind === ')') {
      throw new InvalidSearchError(this.#cursor.source, "unbalanced parentheses: unmatched ')'", token.start);
    }
    if (token.kind !== 'eof') throw this.#cursor.unexpected(token, 'AND, OR or the end of the filter');
    return expr;
  }

  #parseOr(): FilterExpr {
    return this.#parseGroup('or', 'OR', () => this.#parseAnd());
  }

  #parseAnd(): FilterExpr {
    return this.#parseGroup('and', 'AND', () => this.#parsePrimary());
  }

  /** Parses `operand (keyword operand)*`, flattening operands that are groups of the same kind. */
  #parseGroup(kind: 'and' | 'or', keyword: 'AND' | 'OR', operand: () => FilterExpr): FilterExpr {
    const items: FilterExpr[] = [];
    const add = (expr: FilterExpr): void => {
      if (expr.kind === kind) items.push(...expr.items);
      else items.push(expr);
    };
    add(operand());
    while (isKeyword(this.#cursor.peek(), keyword)) {
      const connector = this.#cursor.next();
      const following = this.#cursor.peek();
      if (following.kind === 'eof' || following.kind === ')') {
        throw new InvalidSearchError(
          this.#cursor.source,
          `dangling '${this.#cursor.raw(connector)}'`,
          connector.start,
          'expected a comparison after it',
        );
      }
      add(operand());
    }
    const [first] = items;
    return items.length === 1 && first !== undefined ? first : { kind, items };
  }

  #parsePrimary(): FilterExpr {
    const token = this.#cursor.peek();
    if (token.kind !== '(') return this.#parseComparison();

    this.#cursor.next();
    if (this.#depth >= MAX_FILTER_DEPTH) {
      throw new InvalidSearchError(
        this.#cursor.source,
        `parentheses nested deeper than ${MAX_FILTER_DEPTH} levels`,
        token.start,
      );
    }
    this.#depth++;
    const expr = this.#parseOr();
    this.#depth--;
    const close = this.#cursor.next();
    if (close.kind === 'eof') {
      throw new InvalidSearchError(
        this.#cursor.source,
        "unbalanced parentheses: '(' is never closed",
        token.start,
      );
    }
    if (close.kind !== ')') throw this.#cursor.unexpected(close, "AND, OR or ')'");
    return expr;
  }

  #parseComparison(): FilterExpr {
    const cursor = this.#cursor;
    const first = cursor.peek();
    if (isKeyword(first, 'AND') || isKeyword(first, 'OR')) {
      throw new InvalidSearchError(
        cursor.source,
        `dangling '${cursor.raw(first)}'`,
        first.start,
        'expected a comparison before it',
      );
    }
    const identifier = resolveIdentifier(this.#schema, readIdentifier(cursor), cursor);
    const { field } = identifier;
    if (field.operators.length === 0) {
      throw new InvalidSearchError(
        cursor.source,
        `${identifier.subject} cannot be filtered on`,
        identifier.start,
      );
    }

    const opToken = cursor.peek();
    const op = this.#readOperator();
    if (!field.operators.includes(op)) {
      throw new InvalidSearchError(
        cursor.source,
        `operator '${op}' is not allowed for ${identifier.subject}`,
        opToken.start,
        `allowed: ${field.operators.join(', ')}`,
      );
    }
    const value = op === 'IN' || op === 'NOT IN' ? this.#readList() : this.#readScalar(identifier);
    return {
      kind: 'comparison',
      entity: identifier.entity,
      key: identifier.key,
      op,
      value,
      position: identifier.start,
    };
  }

  #readOperator(): ComparisonOp {
    const cursor = this.#cursor;
    const token = cursor.next();
    if (token.kind === 'operator') return token.op;
    if (token.kind === 'word') {
      const word = token.text.toUpperCase();
      switch (word) {
        case 'LIKE':
        case 'ILIKE':
        case 'IN':
          return word;
        case 'NOT': {
          const next = cursor.next();
          if (isKeyword(next, 'IN')) return 'NOT IN';
          throw cursor.unexpected(next, 'IN after NOT; NOT IN is the only negated operator');
        }
      }
    }
    throw cursor.unexpected(token, OPERATORS_HINT);
  }

  #readScalar(identifier: ResolvedIdentifier): string | number {
    const cursor = this.#cursor;
    const token = cursor.next();
    const { type } = identifier.field;
    switch (token.kind) {
      case 'string':
        if (type === 'string') return token.value;
        throw new InvalidSearchError(
          cursor.source,
          `${identifier.subject} is numeric and cannot be compared with a string`,
          token.start,
          'write numbers without quotes',
        );
      case 'number':
        if (type === 'number') return token.value;
        throw new InvalidSearchError(
          cursor.source,
          `${identifier.subject} is a string and cannot be compared with a number`,
          token.start,
          `quote the value: '${cursor.raw(token)}'`,
        );
      case 'word':
      case 'identifier':
        throw new InvalidSearchError(
          cursor.source,
          `unquoted value '${cursor.raw(token)}'`,
          token.start,
          type === 'string' ? "quote strings: 'value'" : 'expected a number',
        );
      default:
        throw cursor.unexpected(token, type === 'string' ? 'a quoted string' : 'a number');
    }
  }

  #readList(): string[] {
    const cursor = this.#cursor;
    const open = cursor.next();
    if (open.kind !== '(') throw cursor.unexpected(open, "a parenthesised list such as ('a', 'b')");
    if (cursor.peek().kind === ')') {
      throw new InvalidSearchError(cursor.source, 'empty IN list', open.start, 'give at least one value');
    }
    const values: string[] = [];
    for (;;) {
      const item: Token = cursor.next();
      if (item.kind !== 'string') throw cursor.unexpected(item, 'a quoted string in the IN list');
      values.push(item.value);
      const separator = cursor.next();
      if (separator.kind === ')') return values;
      if (separator.kind === 'eof') {
        throw new InvalidSearchError(
          cursor.source,
          "unbalanced parentheses: '(' is never closed",
          open.start,
        );
      }
      if (separator.kind !== ',') throw cursor.unexpected(separator, "',' or ')'");
    }
  }
}
