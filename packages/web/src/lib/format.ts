/** Display formatting shared by pages: timestamps, durations, metric values. */

/**
 * An epoch-milliseconds timestamp as local `YYYY-MM-DD HH:MM:SS`: compact, fixed width, and
 * ordered like the time it shows. `—` when absent.
 *
 * @example
 * formatTimestamp(1714557600000); // '2024-05-01 12:00:00' (in UTC)
 */
export function formatTimestamp(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return '—';
  const date = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`
  );
}

/**
 * A duration, compact and with at most two units.
 *
 * @example
 * formatDuration(850); // '850ms'
 * formatDuration(8_300); // '8.3s'
 * formatDuration(184_000); // '3m 4s'
 * formatDuration(7_530_000); // '2h 5m'
 */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.floor(seconds % 60)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/**
 * A metric value (a number, or `NaN`/`Infinity` as MLflow's wire writes them) with up to 4
 * significant decimals; very large and very small magnitudes in exponent notation.
 *
 * @example
 * formatMetric(0.912345); // '0.9123'
 * formatMetric(42); // '42'
 * formatMetric(1.5e-7); // '1.500e-7'
 * formatMetric('NaN'); // 'NaN'
 */
export function formatMetric(value: number | string | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-3)) return value.toExponential(3);
  return String(Number.parseFloat(value.toFixed(4)));
}
