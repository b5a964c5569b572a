/**
 * Parses CSV text (RFC 4180: quoted fields with `""` escapes, delimiters and line breaks inside
 * quotes, `\n`, `\r\n` or `\r` line ends, a leading BOM) from a stream of chunks, yielding one
 * array of fields per record with the line it started on. Blank lines are skipped. Memory stays
 * bounded by the longest record, so files of any size can be read.
 *
 * @example
 * for await (const { fields, line } of csvRows(createReadStream('data.csv', 'utf8'))) console.log(line, fields);
 */
export async function* csvRows(
  chunks: AsyncIterable<string | Buffer>,
  delimiter = ',',
): AsyncGenerator<{ fields: string[]; line: number }> {
  let field = '';
  let fields: string[] = [];
  let inQuotes = false;
  let afterQuote = false;
  let pendingCr = false;
  let first = true;
  let line = 1;
  let recordLine = 1;
  for await (const raw of chunks) {
    let chunk = typeof raw === 'string' ? raw : raw.toString('utf8');
    if (first && chunk.length > 0) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    for (let i = 0; i < chunk.length; i += 1) {
      const c = chunk[i] as string;
      if (pendingCr) {
        pendingCr = false;
        if (c === '\n') continue;
      }
      if (inQuotes) {
        if (c === '"') {
          inQuotes = false;
          afterQuote = true;
        } else {
          if (c === '\n') line += 1;
          field += c;
        }
        continue;
      }
      if (afterQuote && c === '"') {
        // `""` inside a quoted field is one quote.
        field += '"';
        inQuotes = true;
        afterQuote = false;
        continue;
      }
      afterQuote = false;
      if (c === delimiter) {
        fields.push(field);
        field = '';
      } else if (c === '\n' || c === '\r') {
        fields.push(field);
        field = '';
        if (c === '\r') pendingCr = true;
        if (!(fields.length === 1 && fields[0] === '')) yield { fields, line: recordLine };
        fields = [];
        line += 1;
        recordLine = line;
      } else if (c === '"' && field === '') {
        inQuotes = true;
      } else {
        field += c;
      }
    }
  }
  if (inQuotes) throw new SyntaxError(`CSV record starting on line ${recordLine} has an unterminated quote`);
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    yield { fields, line: recordLine };
  }
}
