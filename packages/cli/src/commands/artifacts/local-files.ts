import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../../cli-error.js';
import { formatBytes } from '../../format.js';

/** How many regular files a local path holds and their total size. */
export interface LocalFiles {
  isDirectory: boolean;
  files: number;
  bytes: number;
}

/**
 * Counts the files under `path` (itself when it is a file), following the directory tree; used
 * for transfer summaries, which then do not depend on how the SDK reports progress.
 *
 * @throws {CliError} `No such file or directory: '<path>'` when it does not exist.
 */
export async function measureLocal(path: string): Promise<LocalFiles> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new CliError(`No such file or directory: '${path}'`, { cause: error });
    throw error;
  });
  if (!info.isDirectory()) return { isDirectory: false, files: 1, bytes: info.size };
  const total: LocalFiles = { isDirectory: true, files: 0, bytes: 0 };
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (!entry.isDirectory() && !entry.isFile()) continue;
    const inner = await measureLocal(join(path, entry.name));
    total.files += inner.files;
    total.bytes += inner.bytes;
  }
  return total;
}

/** `3 files (1.2 MiB)` / `1 file (512 B)`. */
export function describeFiles({ files, bytes }: LocalFiles): string {
  return `${files} file${files === 1 ? '' : 's'} (${formatBytes(bytes)})`;
}

/** Seconds since `startedMs` to one decimal: `0.4s`. */
export function secondsSince(startedMs: number): string {
  return `${((performance.now() - startedMs) / 1000).toFixed(1)}s`;
}
