import type { TransferProgress } from '@keel/sdk';
import { formatBytes } from './format.js';

/** Options of {@link progressBar}. */
export interface ProgressBarOptions {
  /** Bytes the whole transfer moves, when known beforehand (uploads); otherwise files drive the bar. */
  totalBytes?: number;
}

/** A progress display for one upload or download. */
export interface ProgressBar {
  /** Pass to the SDK as `onProgress`. */
  readonly onProgress: (progress: TransferProgress) => void;
  /** Clears the bar and prints `summary` on its own line (always, terminal or not). */
  finish(summary: string): void;
  /** Clears the bar without a summary (the transfer failed; the error line follows). */
  abort(): void;
}

/** Redraws at most this often, so a transfer of many small files does not spend its time drawing. */
const REDRAW_MS = 100;
const BAR_WIDTH = 24;

/**
 * A one-line progress bar on `stream` (stderr, so stdout stays clean for scripts): percentage,
 * bytes, files and the current file, redrawn in place. When the stream is not a terminal it
 * draws nothing but still prints the final summary line, so logs get one line per transfer.
 *
 * @example
 * const bar = progressBar(process.stderr, 'Uploading');
 * await client.uploadArtifacts(runId, dir, undefined, { onProgress: bar.onProgress });
 * bar.finish('Uploaded 3 files (1.2 MiB) in 0.4s');
 */
export function progressBar(
  stream: NodeJS.WritableStream,
  verb: string,
  options: ProgressBarOptions = {},
): ProgressBar {
  const tty = (stream as { isTTY?: boolean }).isTTY === true;
  // A pseudo-terminal without a size reports 0 columns.
  const columns = (): number => Math.max(40, (stream as { columns?: number }).columns || 80);
  // The SDK reports bytes per file: keep the latest count of each to add them up.
  const files = new Map<string, { bytes: number; size?: number | undefined }>();
  let lastDraw = 0;
  let drawn = false;

  const clear = (): void => {
    if (drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };

  return {
    onProgress(progress) {
      if (!tty) return;
      files.set(progress.path, { bytes: progress.bytes, size: progress.totalBytes });
      const now = Date.now();
      const complete = progress.filesDone === progress.filesTotal;
      if (!complete && now - lastDraw < REDRAW_MS) return;
      lastDraw = now;
      const line = render(verb, totals(progress, files, options.totalBytes), columns());
      stream.write(`\r\x1b[2K${line}`);
      drawn = true;
    },
    finish(summary) {
      clear();
      stream.write(`${summary}\n`);
    },
    abort: clear,
  };
}

/** The whole transfer so far, added up over files. */
interface Totals {
  path: string;
  bytes: number;
  totalBytes: number | undefined;
  fraction: number;
  filesDone: number;
  filesTotal: number;
}

function totals(
  latest: TransferProgress,
  files: ReadonlyMap<string, { bytes: number; size?: number | undefined }>,
  expectedBytes: number | undefined,
): Totals {
  let bytes = 0;
  let partialFiles = 0;
  for (const file of files.values()) {
    bytes += file.bytes;
    if (file.size !== undefined && file.size > 0) partialFiles += Math.min(1, file.bytes / file.size);
  }
  const { filesDone, filesTotal } = latest;
  const fraction =
    expectedBytes !== undefined && expectedBytes > 0
      ? bytes / expectedBytes
      : filesTotal > 0
        ? Math.max(filesDone, partialFiles) / filesTotal
        : 0;
  return {
    path: latest.path,
    bytes,
    totalBytes: expectedBytes,
    fraction: Math.min(1, Math.max(0, fraction)),
    filesDone,
    filesTotal,
  };
}

/** `Uploading [#########---------------]  37%  1.2 MiB/3.3 MiB  2/5 files  model/weights.json` */
function render(verb: string, progress: Totals, columns: number): string {
  const { bytes, totalBytes, filesDone, filesTotal, fraction } = progress;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const size =
    totalBytes === undefined ? formatBytes(bytes) : `${formatBytes(bytes)}/${formatBytes(totalBytes)}`;
  const line = `${verb} ${bar} ${percent}  ${size}  ${filesDone}/${filesTotal} files  ${progress.path}`;
  // Never wrap: a wrapped line cannot be redrawn with a carriage return.
  return line.length < columns ? line : `${line.slice(0, Math.max(0, columns - 2))}…`;
}
