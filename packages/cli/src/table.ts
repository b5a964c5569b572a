/**
 * Lays out rows as a plain-text table: a header line, then one line per row, columns left-aligned
 * and separated by two spaces, no trailing spaces. Cells are single-line (newlines and tabs become
 * spaces) so each row stays one line for `grep` and `awk`.
 *
 * @example
 * formatTable(['ID', 'NAME'], [['1', 'iris'], ['12', 'wine']]);
 * // 'ID  NAME\n1   iris\n12  wine\n'
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [headers, ...rows].map((row) => headers.map((_, column) => clean(row[column] ?? '')));
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => width(row[column] ?? ''))));
  const lines = cells.map((row) =>
    row
      .map((cell, column) => cell + ' '.repeat((widths[column] ?? 0) - width(cell)))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Lays out `[label, value]` pairs as an aligned two-column block, for `get` commands.
 *
 * @example
 * formatFields([['Run', 'abc'], ['Status', 'FINISHED']]); // 'Run     abc\nStatus  FINISHED\n'
 */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const labelWidth = Math.max(0, ...fields.map(([label]) => width(label)));
  return fields
    .map(([label, value]) => `${label}${' '.repeat(labelWidth - width(label))}  ${clean(value)}`.trimEnd())
    .map((line) => `${line}\n`)
    .join('');
}

function clean(cell: string): string {
  return cell.replace(/[\t\r\n]+/g, ' ');
}

/** Display width in code points, which is right for the text Keel prints (no wide CJK handling). */
function width(text: string): number {
  return [...text].length;
}
