/** Where a command reads and writes. `bin.ts` passes the process's streams; tests may pass their own. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Read for confirmations; `isTTY` decides whether a destructive command may ask at all. */
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** The running process's standard streams. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}
