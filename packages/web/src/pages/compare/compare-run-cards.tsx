import { seriesColor } from '../../components/charts/series-colors';
import { formatDuration, formatTimestamp } from '../../lib/format';
import { Link } from '../../router/link';
import { StatusBadge } from '../experiments/runs-table/run-columns';
import type { CompareRun } from './compare-run';

/** Props of {@link CompareRunCards}. */
export interface CompareRunCardsProps {
  runs: readonly CompareRun[];
  /** Takes a run out of the comparison (absent: no remove buttons). */
  onRemove?: (runId: string) => void;
}

/** The header row of the compare page: one card per run in its colour, with status and times. */
export function CompareRunCards({ runs, onRemove }: CompareRunCardsProps) {
  return (
    <ul className="compare-run-cards" aria-label="Compared runs">
      {runs.map(({ run, name, colorIndex }) => {
        const { info } = run;
        const duration = info.end_time === undefined ? undefined : info.end_time - info.start_time;
        return (
          <li
            key={info.run_id}
            className="compare-run-card"
            style={{ borderTopColor: seriesColor(colorIndex) }}
          >
            <div className="compare-run-card-title">
              <Link href={`/runs/${encodeURIComponent(info.run_id)}`} className="run-link">
                {name}
              </Link>
              {onRemove && runs.length > 1 && (
                <button
                  type="button"
                  className="icon-button compare-remove"
                  aria-label={`Remove ${name} from the comparison`}
                  title="Remove from the comparison"
                  onClick={() => onRemove(info.run_id)}
                >
                  ×
                </button>
              )}
            </div>
            <StatusBadge status={info.status} />
            <dl className="compare-run-facts">
              <dt>Started</dt>
              <dd>{formatTimestamp(info.start_time)}</dd>
              <dt>Duration</dt>
              <dd>{formatDuration(duration)}</dd>
              <dt>Experiment</dt>
              <dd>
                <Link href={`/experiments/${encodeURIComponent(info.experiment_id)}`}>
                  {info.experiment_id}
                </Link>
              </dd>
              {info.user_id && (
                <>
                  <dt>User</dt>
                  <dd>{info.user_id}</dd>
                </>
              )}
            </dl>
          </li>
        );
      })}
    </ul>
  );
}
