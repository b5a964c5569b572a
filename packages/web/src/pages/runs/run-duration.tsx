import type { Run } from '@keel/core';
import { LiveDuration } from '../../components/live-duration';
import { formatDuration } from '../../lib/format';
import { runDurationMs } from './run-summary';

/**
 * A run's duration: end − start once it has ended; while it runs, the time since its start,
 * counting up every second (muted, as it is not final); `—` when unknown.
 */
export function RunDuration({ run }: { run: Run }) {
  const { start_time: start, end_time: end, status } = run.info;
  if (!(end !== undefined && end > 0) && status === 'RUNNING' && start) {
    return <LiveDuration startMs={start} className="muted" />;
  }
  return <>{formatDuration(runDurationMs(run, Date.now()))}</>;
}
