/**
 * A small CSV reader for artifact previews: RFC 4180 fields (quoted fields with `""` escapes,
 * separators and line breaks inside quotes), `\n`, `\r\n` and `\r` line ends, any one-character
 * delimiter. It stops after `maxRows` rows, so a preview of a huge file costs only what it shows.
 */

/** What {@link parseCsv} reads. */
export interface CsvOptions {
  /** Field separator, one character. @default ',' */
  delimiter?: string;
  /** Rows to return at most (the header row counts as one). @default Infinity */
  maxRows?: number;
}

/** What {@link parseCsv} returns. */
export interface CsvTable {
  /** Rows in file order; rows keep their own length (ragged rows are not padded). */
  rows: string[][];
  /** True when the text has rows after the last one returned. */
  truncated: boolean;
}

const QUOTE = '"';

/**
 * Splits CSV text into rows of fields. A trailing line break does not make an empty last row, and
 * a byte-order mark at the start is dropped. An unterminated quoted field runs to the end of the text
 * (a preview shows what it can instead of failing).
 *
 * @example
 * parseCsv('name,note\r\nada,"says ""hi"", twice"\n').rows;
 * // [['name', 'note'], ['ada', 'says "hi", twice']]
 * parseCsv('a\n1\n2\n3', { maxRows: 2 }); // { rows: [['a'], ['1']], truncated: true }
 */
export function parseCsv(text: string, options: CsvOptions = {}): CsvTable {
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1 || delimiter === QUOTE || delimiter === '\n' || delimiter === '\r') {
    throw new Error(`delimiter must be one character other than a quote or line break, got '${delimiter}'`);
  }
  const maxRows = options.maxRows ?? Number.POSITIVE_INFINITY;
  const rows: string[][] = [];
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let row: string[] = [];
  let field = '';
  // Something was read since the last line break: the text's last row, unless it ends with one.
  let pending = false;
  let i = start;
  while (i < text.length) {
    if (rows.length >= maxRows) return { rows, truncated: true };
    const ch = text[i];
    pending = true;
    if (ch === QUOTE && field === '') {
      const end = readQuoted(text, i + 1);
      field = end.value;
      i = end.next;
      continue;
    }
    if (ch === delimiter) {
      row.push(field);
      field = '';
      i++;
      continue;
    }
    if (ch === '\n' || ch === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      pending = false;
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    field += ch;
    i++;
  }
  if (pending) {
    if (rows.length >= maxRows) return { rows, truncated: true };
    row.push(field);
    rows.push(row);
  }
  return { rows, truncated: false };
}

/**
 * Reads a quoted field whose opening quote is just before `from`: returns its value and the index
 * after the closing quote. Characters between the closing quote and the next separator are kept,
 * as spreadsheet programs do with `"a"b`.
 */
function readQuoted(text: string, from: number): { value: string; next: number } {
  let value = '';
  let i = from;
  while (i < text.length) {
    const close = text.indexOf(QUOTE, i);
    if (close === -1) return { value: value + text.slice(i), next: text.length };
    value += text.slice(i, close);
    if (text[close + 1] === QUOTE) {
      value += QUOTE;
      i = close + 2;
      continue;
    }
    return { value, next: close + 1 };
  }
  return { value, next: i };
}
