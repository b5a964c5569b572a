import type { CliIo } from './io.js';

/**
 * An epoch-milliseconds timestamp as UTC ISO 8601 to the second, e.g. `2025-11-22T16:04:05Z`;
 * `-` when absent.
 */
export function formatTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A duration for humans: `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`; `-` when either end is
 * missing (a run still running has no end time).
 */
export function formatDuration(startMs: number | undefined, endMs: number | undefined): string {
  if (startMs === undefined || endMs === undefined) return '-';
  const ms = Math.max(0, endMs - startMs);
  if (ms < 1_000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m${pad(seconds % 60)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1_440) return `${Math.floor(minutes / 60)}h${pad(minutes % 60)}m`;
  const hours = Math.floor(minutes / 60);
  return `${Math.floor(hours / 24)}d${pad(hours % 24)}h`;
}

/** A byte count with a binary unit: `512 B`, `1.5 KiB`, `3.2 MiB`, `1.1 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A metric value for a table: integers as they are, other numbers to 6 significant digits
 * (`0.966667`), protobuf-JSON specials (`NaN`, `Infinity`) unchanged. `--json` keeps full precision.
 */
export function formatNumber(value: number | string): string {
  if (typeof value === 'string' || Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(6)));
}

/** Writes `value` as indented JSON plus a newline to stdout: the `--json` output of every command. */
export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
