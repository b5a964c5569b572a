/**
 * Tokenizer shared by filters and order_by clauses.
 *
 * Identifiers are assembled here rather than in the parser because whether a dot separates entity
 * from key depends on adjacency (`metrics."a b"` vs `metrics . x`), which tokens no longer show.
 * A double-quoted text is a string unless a dot follows it; the parser decides whether a string in
 * identifier position names a bare attribute (`"run name" = 'x'`).
 */
import { InvalidSearchError, type SearchText } from './invalid-search-error.js';

/** The operators written with symbols; the word operators (LIKE, IN…) arrive as `word` tokens. */
export type SymbolOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** One part of an identifier, as written. */
export interface NamePart {
  /** Unquoted text (quotes removed, escapes resolved). */
  readonly text: string;
  readonly quoted: boolean;
  /** Offset of the part (of its opening quote when quoted). */
  readonly start: number;
}

/** A lexical token; `start` / `end` are offsets into the source text (end exclusive). */
export type Token = { readonly start: number; readonly end: number } & (
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'identifier'; readonly entity: NamePart | undefined; readonly key: NamePart }
  | { readonly kind: 'string'; readonly value: string; readonly quote: '"' | "'" }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'operator'; readonly op: SymbolOperator }
  | { readonly kind: '(' | ')' | ',' | 'eof' }
);

const WORD = /[\p{L}_][\p{L}\p{N}_]*/uy;
const KEY = /[\p{L}\p{N}_]+(?:\.[\p{L}\p{N}_]+)*/uy;
const NUMBER = /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
/** A number directly followed by these (`1abc`, `1.2.3`, `1e`) is a typo, not two tokens. */
const NUMBER_TAIL = /[\p{L}\p{N}_.]+/uy;
const WHITESPACE = /\s/;
/** Characters a backslash escapes inside quotes; other backslashes stay literal (LIKE's `\%`). */
const ESCAPABLE = new Set(['\\', "'", '"', '`']);

/**
 * Splits `source.text` into tokens ending with one `eof` token.
 *
 * @throws InvalidSearchError on an unexpected character, an unterminated quote or a malformed number.
 */
export function tokenize(source: SearchText): Token[] {
  const { text } = source;
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < text.length) {
    const c = text.charAt(pos);
    if (WHITESPACE.test(c)) {
      pos++;
      continue;
    }
    const token = readToken(source, pos, c);
    tokens.push(token);
    pos = token.end;
  }
  tokens.push({ kind: 'eof', start: text.length, end: text.length });
  return tokens;
}

function readToken(source: SearchText, start: number, c: string): Token {
  const { text } = source;
  const next = text.charAt(start + 1);
  switch (c) {
    case '(':
    case ')':
    case ',':
      return { kind: c, start, end: start + 1 };
    case '=':
      return { kind: 'operator', op: '=', start, end: start + 1 };
    case '!':
      if (next === '=') return { kind: 'operator', op: '!=', start, end: start + 2 };
      break;
    case '<':
    case '>':
      return next === '='
        ? { kind: 'operator', op: c === '<' ? '<=' : '>=', start, end: start + 2 }
        : { kind: 'operator', op: c, start, end: start + 1 };
    case "'": {
      const quoted = readQuoted(source, start);
      return { kind: 'string', value: quoted.text, quote: "'", start, end: quoted.end };
    }
    case '"':
    case '`': {
      const quoted = readQuoted(source, start);
      const part: NamePart = { text: quoted.text, quoted: true, start };
      if (text.charAt(quoted.end) === '.') return readKey(source, part, quoted.end + 1);
      return c === '"'
        ? { kind: 'string', value: quoted.text, quote: '"', start, end: quoted.end }
        : { kind: 'identifier', entity: undefined, key: part, start, end: quoted.end };
    }
  }
  const number = matchAt(NUMBER, text, start);
  if (number !== undefined) {
    const end = start + number.length;
    const value = Number(number);
    const tail = matchAt(NUMBER_TAIL, text, end);
    if (tail !== undefined) {
      throw new InvalidSearchError(source, `malformed number '${number}${tail}'`, start);
    }
    if (!Number.isFinite(value))
      throw new InvalidSearchError(source, `number '${number}' is out of range`, start);
    return { kind: 'number', value, start, end };
  }
  const word = matchAt(WORD, text, start);
  if (word !== undefined) {
    const end = start + word.length;
    if (text.charAt(end) === '.') return readKey(source, { text: word, quoted: false, start }, end + 1);
    return { kind: 'word', text: word, start, end };
  }
  const char = String.fromCodePoint(text.codePointAt(start) ?? 0);
  throw new InvalidSearchError(source, `unexpected character '${char}'`, start);
}

/** Reads the key after `entity.`; everything after the first dot belongs to the key. */
function readKey(source: SearchText, entity: NamePart, pos: number): Token {
  const { text } = source;
  const c = text.charAt(pos);
  if (c === '"' || c === '`') {
    const quoted = readQuoted(source, pos);
    const key: NamePart = { text: quoted.text, quoted: true, start: pos };
    return { kind: 'identifier', entity, key, start: entity.start, end: quoted.end };
  }
  const bare = matchAt(KEY, text, pos);
  if (bare === undefined) {
    throw new InvalidSearchError(
      source,
      `expected a key after '${text.slice(entity.start, pos)}'`,
      pos,
      'quote keys with special characters: metrics."my key" or metrics.`my key`',
    );
  }
  const key: NamePart = { text: bare, quoted: false, start: pos };
  return { kind: 'identifier', entity, key, start: entity.start, end: pos + bare.length };
}

/** Reads a quoted text opening at `start`; the closing quote may be doubled or backslash-escaped inside. */
function readQuoted(source: SearchText, start: number): { text: string; end: number } {
  const { text } = source;
  const quote = text.charAt(start);
  const chars: string[] = [];
  let pos = start + 1;
  while (pos < text.length) {
    const c = text.charAt(pos);
    if (c === '\\' && ESCAPABLE.has(text.charAt(pos + 1))) {
      chars.push(text.charAt(pos + 1));
      pos += 2;
    } else if (c === quote && text.charAt(pos + 1) === quote) {
      chars.push(quote);
      pos += 2;
    } else if (c === quote) {
      return { text: chars.join(''), end: pos + 1 };
    } else {
      chars.push(c);
      pos++;
    }
  }
  const what = quote === '`' ? 'backtick-quoted name' : 'quoted string';
  throw new InvalidSearchError(source, `unterminated ${what} starting`, start, `close it with ${quote}`);
}

function matchAt(pattern: RegExp, text: string, pos: number): string | undefined {
  pattern.lastIndex = pos;
  const match = pattern.exec(text);
  return match === null || match[0] === '' ? undefined : match[0];
}

/** Walks a token list; reading past the end keeps returning the `eof` token. */
export class TokenCursor {
  readonly source: SearchText;
  readonly #tokens: readonly Token[];
  readonly #eof: Token;
  #index = 0;

  constructor(source: SearchText) {
    this.source = source;
    this.#tokens = tokenize(source);
    this.#eof = this.#tokens[this.#tokens.length - 1]!;
  }

  /** The next token, not consumed. */
  peek(): Token {
    return this.#tokens[this.#index] ?? this.#eof;
  }

  /** Consumes and returns the next token. */
  next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.#index++;
    return token;
  }

  /** The token as written in the source. */
  raw(token: Token): string {
    return this.source.text.slice(token.start, token.end);
  }

  /** Error for a token that does not fit; `expected` says what would have. */
  unexpected(token: Token, expected: string): InvalidSearchError {
    const problem =
      token.kind === 'eof'
        ? `unexpected end of ${this.source.label}`
        : `unexpected token '${this.raw(token)}'`;
    return new InvalidSearchError(this.source, problem, token.start, `expected ${expected}`);
  }
}

/** True when `token` is the bare word `keyword`, compared case-insensitively. */
export function isKeyword(token: Token, keyword: string): boolean {
  return token.kind === 'word' && token.text.toUpperCase() === keyword;
}
