// Assertions and parsing shared by the CLI end-to-end tests.
import { expect } from 'vitest';

/** An error report is exactly one `error: …` line on stderr, exit code 1, no stack trace. */
export function expectOneErrorLine(result: { code: number | null; stderr: string; stdout: string }): void {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^error: /);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/** The rows of a printed table (header first), cells split on the two-space column gap. */
export function tableRows(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/ {2,}/));
}
