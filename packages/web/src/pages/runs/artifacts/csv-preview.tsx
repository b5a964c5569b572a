import { useMemo } from 'react';
import { parseCsv } from '../../../lib/csv';

/** Data rows a CSV preview shows at most (the header row comes on top). */
export const CSV_PREVIEW_ROWS = 1000;

/** Props of {@link CsvPreview}. */
export interface CsvPreviewProps {
  /** The start of the file (or all of it). */
  text: string;
  /** The text is only the start of the file: its last line may be cut and is dropped. */
  bytesTruncated: boolean;
  /** @default ',' */
  delimiter?: string;
}

/** A CSV (or TSV) file as a table: its first row as the header, then up to 1,000 rows. */
export function CsvPreview({ text, bytesTruncated, delimiter = ',' }: CsvPreviewProps) {
  const table = useMemo(() => {
    const parsed = parseCsv(text, { delimiter, maxRows: CSV_PREVIEW_ROWS + 1 });
    // Reading stopped inside the file: the last row may be cut in two, so it is not shown.
    const rows = bytesTruncated && !parsed.truncated ? parsed.rows.slice(0, -1) : parsed.rows;
    return { rows, more: parsed.truncated || bytesTruncated };
  }, [text, delimiter, bytesTruncated]);
  const [header = [], ...body] = table.rows;
  if (header.length === 0) return <p className="muted">This file is empty.</p>;
  const width = Math.max(header.length, ...body.map((row) => row.length));
  const columns = Array.from({ length: width }, (_, i) => header[i] ?? `column ${i + 1}`);
  return (
    <>
      <p className="muted small preview-note" aria-live="polite">
        {table.more
          ? `Showing the first ${body.length.toLocaleString()} rows. Download the file for all of them.`
          : `${body.length.toLocaleString()} row${body.length === 1 ? '' : 's'} · ${width} column${width === 1 ? '' : 's'}`}
      </p>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard */}
      <section className="csv-scroll" tabIndex={0} aria-label="CSV table">
        <table className="csv-table">
          <thead>
            <tr>
              <th scope="col" className="csv-row-number">
                <span className="visually-hidden">Row</span>
              </th>
              {columns.map((name, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: columns are positional; names may repeat
                <th key={i} scope="col" title={name}>
                  {name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {body.map((row, r) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional and never reorder
              <tr key={r}>
                <td className="csv-row-number">{r + 1}</td>
                {columns.map((_, c) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: cells are positional
                  <td key={c} title={row[c]}>
                    {row[c] ?? ''}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
