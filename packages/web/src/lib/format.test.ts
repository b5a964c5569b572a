import { describe, expect, it } from 'vitest';
import { formatDuration, formatMetric, formatTimestamp } from './format';

describe('format', () => {
  it('formats durations with at most two units', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(8_300)).toBe('8.3s');
    expect(formatDuration(12_300)).toBe('12s');
    expect(formatDuration(184_000)).toBe('3m 4s');
    expect(formatDuration(7_530_000)).toBe('2h 5m');
    expect(formatDuration(3 * 86_400_000 + 3_600_000)).toBe('3d 1h');
    expect(formatDuration(undefined)).toBe('—');
  });

  it('formats metric values compactly, keeping non-finite wire values', () => {
    expect(formatMetric(0.912345)).toBe('0.9123');
    expect(formatMetric(42)).toBe('42');
    expect(formatMetric(1.5e-7)).toBe('1.500e-7');
    expect(formatMetric(2.5e9)).toBe('2500000000');
    expect(formatMetric(2.5e9 + 0.5)).toBe('2.500e+9');
    expect(formatMetric('NaN')).toBe('NaN');
  });

  it('shows local timestamps as YYYY-MM-DD HH:MM:SS, and a dash when missing', () => {
    expect(formatTimestamp(new Date(2024, 4, 1, 9, 5, 7).getTime())).toBe('2024-05-01 09:05:07');
    expect(formatTimestamp(undefined)).toBe('—');
    expect(formatTimestamp(0)).toBe('—');
  });
});
