import { formatDuration } from '../lib/format';
import { useNow } from '../lib/use-now';

/**
 * How long something that is still running has run: the time since `startMs`, redrawn every
 * second (only this element re-renders, not the table or page around it).
 */
export function LiveDuration({ startMs, className }: { startMs: number; className?: string }) {
  const now = useNow();
  return (
    <span className={className} data-live-duration="">
      {formatDuration(Math.max(0, now - startMs))}
    </span>
  );
}
