import type { Run } from '@keel/core';
import { formatDuration } from '../../lib/format';
import { useNow } from '../../lib/use-now';
import { runDurationMs } from './run-summary';

/**
 * A run's duration ({@link runDurationMs}): end − start once it has ended; while it runs, the time
 * since its start, counting up every second (muted, as it is not final); `—` when unknown.
 */
export function RunDuration({ run }: { run: Run }) {
  const { end_time: end, status } = run.info;
  if (status === 'RUNNING' && !(end !== undefined && end > 0)) return <TickingRunDuration run={run} />;
  return <>{formatDuration(runDurationMs(run, Date.now()))}</>;
}

/** A running run's duration, re-rendered on every tick of the shared clock (only this element). */
function TickingRunDuration({ run }: { run: Run }) {
  const now = useNow();
  return <span className="muted">{formatDuration(runDurationMs(run, now))}</span>;
}
