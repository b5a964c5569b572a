/**
 * A byte count in binary units with at most one decimal.
 *
 * @example
 * formatBytes(512); // '512 B'
 * formatBytes(1536); // '1.5 KiB'
 * formatBytes(10 * 1024 ** 3); // '10 GiB'
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text =
    unit === 0 || value >= 100 ? String(Math.round(value)) : String(Number.parseFloat(value.toFixed(1)));
  return `${text} ${units[unit]}`;
}
