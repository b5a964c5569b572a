import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv';

describe('parseCsv', () => {
  it('splits plain rows and fields', () => {
    expect(parseCsv('a,b,c\n1,2,3\n')).toEqual({
      rows: [
        ['a', 'b', 'c'],
        ['1', '2', '3'],
      ],
      truncated: false,
    });
  });

  it('keeps the last row without a trailing line break', () => {
    expect(parseCsv('a,b\n1,2').rows).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('reads quoted fields with delimiters, escaped quotes and line breaks inside', () => {
    const text = 'name,note\r\n"Lovelace, Ada","says ""hi""\nthen leaves"\r\nbob,""\n';
    expect(parseCsv(text).rows).toEqual([
      ['name', 'note'],
      ['Lovelace, Ada', 'says "hi"\nthen leaves'],
      ['bob', ''],
    ]);
  });

  it('accepts \\r\\n, \\r and \\n line ends in one file', () => {
    expect(parseCsv('a\r\nb\rc\nd').rows).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it('keeps empty fields, empty lines and ragged rows as they are', () => {
    expect(parseCsv('a,,c\n\n1\n,\n').rows).toEqual([['a', '', 'c'], [''], ['1'], ['', '']]);
  });

  it('drops a byte-order mark and returns no rows for empty text', () => {
    expect(parseCsv('\uFEFFx,y\n1,2\n').rows[0]).toEqual(['x', 'y']);
    expect(parseCsv('')).toEqual({ rows: [], truncated: false });
    expect(parseCsv('\uFEFF')).toEqual({ rows: [], truncated: false });
  });

  it('stops after maxRows and says whether more rows follow', () => {
    expect(parseCsv('h\n1\n2\n3\n', { maxRows: 2 })).toEqual({ rows: [['h'], ['1']], truncated: true });
    expect(parseCsv('h\n1\n', { maxRows: 2 })).toEqual({ rows: [['h'], ['1']], truncated: false });
    expect(parseCsv('h\n1', { maxRows: 2 }).truncated).toBe(false);
    expect(parseCsv('h\n1\n2', { maxRows: 2 }).truncated).toBe(true);
  });

  it('reads 1,000 rows of a much longer file', () => {
    const text = `id,value\n${Array.from({ length: 5000 }, (_, i) => `${i},"v ${i}"`).join('\n')}\n`;
    const table = parseCsv(text, { maxRows: 1000 });
    expect(table.rows).toHaveLength(1000);
    expect(table.rows[999]).toEqual(['998', 'v 998']);
    expect(table.truncated).toBe(true);
  });

  it('reads tab-separated text with another delimiter', () => {
    expect(parseCsv('a\tb\n"x\ty"\tz\n', { delimiter: '\t' }).rows).toEqual([
      ['a', 'b'],
      ['x\ty', 'z'],
    ]);
  });

  it('runs an unterminated quoted field to the end of the text', () => {
    expect(parseCsv('a,"b\nc').rows).toEqual([['a', 'b\nc']]);
    expect(parseCsv('a,"b\n').rows).toEqual([['a', 'b\n']]);
  });

  it('keeps text after a closing quote, and quotes inside unquoted fields', () => {
    expect(parseCsv('"a"b,c"d\n').rows).toEqual([['ab', 'c"d']]);
  });

  it('refuses a delimiter that is not one plain character', () => {
    expect(() => parseCsv('a', { delimiter: ';;' })).toThrow(/delimiter/);
    expect(() => parseCsv('a', { delimiter: '"' })).toThrow(/delimiter/);
  });
});
