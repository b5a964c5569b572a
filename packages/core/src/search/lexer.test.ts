import { describe, expect, it } from 'vitest';
import { InvalidSearchError } from './invalid-search-error.js';
import { tokenize } from './lexer.js';

const lex = (text: string) => tokenize({ text, label: 'filter' });

describe('tokenize', () => {
  it('produces tokens with spans and a final eof', () => {
    expect(lex('metrics.`a b` >= -1.5 AND x IN (\'a\', "b")')).toEqual([
      {
        kind: 'identifier',
        entity: { text: 'metrics', quoted: false, start: 0 },
        key: { text: 'a b', quoted: true, start: 8 },
        start: 0,
        end: 13,
      },
      { kind: 'operator', op: '>=', start: 14, end: 16 },
      { kind: 'number', value: -1.5, start: 17, end: 21 },
      { kind: 'word', text: 'AND', start: 22, end: 25 },
      { kind: 'word', text: 'x', start: 26, end: 27 },
      { kind: 'word', text: 'IN', start: 28, end: 30 },
      { kind: '(', start: 31, end: 32 },
      { kind: 'string', value: 'a', quote: "'", start: 32, end: 35 },
      { kind: ',', start: 35, end: 36 },
      { kind: 'string', value: 'b', quote: '"', start: 37, end: 40 },
      { kind: ')', start: 40, end: 41 },
      { kind: 'eof', start: 41, end: 41 },
    ]);
  });

  it('reads every symbol operator with maximal munch', () => {
    expect(
      lex('= != < <= > >= <>').map((token) => (token.kind === 'operator' ? token.op : token.kind)),
    ).toEqual(['=', '!=', '<', '<=', '>', '>=', '<', '>', 'eof']);
  });

  it('reads a double-quoted text as a string unless a dot follows it', () => {
    expect(lex('"a b"')[0]).toMatchObject({ kind: 'string', value: 'a b', quote: '"' });
    expect(lex('"tags"."a b"')[0]).toMatchObject({
      kind: 'identifier',
      entity: { text: 'tags', quoted: true },
      key: { text: 'a b', quoted: true },
    });
  });

  it('reads a backticked name as an identifier without entity unless a dot follows it', () => {
    expect(lex('`run name`')[0]).toMatchObject({
      kind: 'identifier',
      entity: undefined,
      key: { text: 'run name' },
    });
  });

  it('keeps everything after the first dot in the key', () => {
    expect(lex('tags.mlflow.source.name')[0]).toMatchObject({
      entity: { text: 'tags' },
      key: { text: 'mlflow.source.name', quoted: false, start: 5 },
      end: 23,
    });
  });

  it('only treats backslash before a quote or backslash as an escape', () => {
    expect(lex("'a\\'b\\\\c\\%d\\n'")[0]).toMatchObject({ kind: 'string', value: "a'b\\c\\%d\\n" });
  });

  it('counts positions in UTF-16 code units, as JavaScript strings do', () => {
    const tokens = lex("tags.emoji = '😀' AND x");
    expect(tokens[2]).toMatchObject({ kind: 'string', value: '😀', start: 13, end: 17 });
    expect(tokens[3]).toMatchObject({ kind: 'word', text: 'AND', start: 18 });
  });

  it.each([
    ['@', 0, /unexpected character '@'/],
    ['x 😀', 2, /unexpected character '😀'/],
    ["'abc", 0, /unterminated quoted string/],
    ['`abc', 0, /unterminated backtick-quoted name/],
    ['1abc', 0, /malformed number '1abc'/],
    ['tags.', 5, /expected a key after 'tags\.'/],
  ])('rejects %j at %i', (text, position, problem) => {
    let caught: unknown;
    try {
      lex(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidSearchError);
    expect((caught as InvalidSearchError).code).toBe('INVALID_PARAMETER_VALUE');
    expect((caught as InvalidSearchError).position).toBe(position);
    expect((caught as InvalidSearchError).message).toMatch(problem);
  });
});
