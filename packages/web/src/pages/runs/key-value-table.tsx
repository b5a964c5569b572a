import type { ReactNode } from 'react';
import { ColumnHeadings } from '../../components/column-headings';

/** One row of a {@link KeyValueTable}. */
export interface KeyValueRow {
  key: string;
  value: ReactNode;
  /** Extra cells after the value (a metric's step and time). */
  extra?: readonly ReactNode[];
}

/** Props of {@link KeyValueTable}. */
export interface KeyValueTableProps {
  /** Read by screen readers (the table's caption). */
  caption: string;
  /** Column headings: the key's, the value's, then one per `extra` cell. */
  headings: readonly string[];
  rows: readonly KeyValueRow[];
  /** Renders a row's key cell (a link for metrics); plain text by default. */
  renderKey?: (key: string) => ReactNode;
}

/** The run page's table of keys and values (params, metrics, tags): values wrap, keys stay readable. */
export function KeyValueTable({ caption, headings, rows, renderKey }: KeyValueTableProps) {
  return (
    <div className="table-card">
      <table className="data-table kv-table">
        <caption className="visually-hidden">{caption}</caption>
        <ColumnHeadings headings={headings} />
        <tbody>
          {rows.map((row) => (
            <tr key={row.key}>
              <th scope="row" className="run-key">
                {renderKey ? renderKey(row.key) : row.key}
              </th>
              <td className="mono run-value">{row.value}</td>
              {row.extra?.map((cell, index) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: extra cells are positional columns
                <td key={index} className="mono run-nowrap">
                  {cell}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
