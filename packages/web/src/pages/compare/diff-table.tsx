import { seriesColor } from '../../components/charts/series-colors';
import { Link } from '../../router/link';
import type { DiffRow } from './compare-data';
import type { CompareRun } from './compare-run';

/** Props of {@link DiffTable}. */
export interface DiffTableProps {
  /** The table's accessible name, e.g. `Parameters`. */
  caption: string;
  /** First column's heading, e.g. `Parameter`. */
  keyHeading: string;
  rows: readonly DiffRow[];
  runs: readonly CompareRun[];
  /** Show only rows whose values differ. */
  onlyDifferences: boolean;
  /** How a value is shown. @default the text as it is */
  format?: (value: string) => string;
}

/**
 * Keys down, runs across: one row per key with each run's value. Rows whose values differ are
 * highlighted (and say so to screen readers); a missing value shows `—` and counts as different.
 */
export function DiffTable({
  caption,
  keyHeading,
  rows,
  runs,
  onlyDifferences,
  format = (v) => v,
}: DiffTableProps) {
  const shown = onlyDifferences ? rows.filter((row) => row.differs) : rows;
  const differing = rows.filter((row) => row.differs).length;
  return (
    <div className="table-card compare-table-card">
      <table className="data-table compare-table" aria-label={caption}>
        <thead>
          <tr>
            <th scope="col">{keyHeading}</th>
            {runs.map((entry) => (
              <th scope="col" key={entry.run.info.run_id}>
                <span className="run-heading">
                  <span className="legend-swatch" style={{ background: seriesColor(entry.colorIndex) }} />
                  <Link href={`/runs/${encodeURIComponent(entry.run.info.run_id)}`}>{entry.name}</Link>
                </span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((row) => (
            <tr key={row.key} className={row.differs ? 'differs' : undefined} data-differs={row.differs}>
              <th scope="row" className="mono">
                {row.key}
                {row.differs && <span className="visually-hidden"> (values differ)</span>}
              </th>
              {row.values.map((value, index) => (
                <td key={runs[index]?.run.info.run_id ?? index} className="mono">
                  {value === undefined ? <span className="muted">—</span> : format(value)}
                </td>
              ))}
            </tr>
          ))}
          {shown.length === 0 && (
            <tr>
              <td colSpan={runs.length + 1} className="muted">
                {rows.length === 0 ? 'None logged by these runs.' : 'Every value is the same in all runs.'}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <p className="compare-table-footer muted small">
        {differing} of {rows.length} differ{differing === 1 ? 's' : ''}
      </p>
    </div>
  );
}
