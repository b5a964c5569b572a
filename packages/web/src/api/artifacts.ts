/**
 * A run's artifacts through the run-scoped routes (docs/artifacts.md): `artifacts/list` for one
 * folder, `/get-artifact` for a file. Those routes find the files from the run id alone, so the page
 * needs neither the experiment id nor the store layout.
 */
import type { FileInfo } from '@keel/core';
import { apiReadBytes, mlflowGet, type ReadBytes } from './client';

/** `artifacts/list`: the entries of one folder of a run's artifacts (`''` is the root). */
export async function listArtifacts(runId: string, path: string, signal?: AbortSignal): Promise<FileInfo[]> {
  const answer = await mlflowGet<{ files?: FileInfo[] }>(
    'artifacts/list',
    { run_id: runId, ...(path === '' ? {} : { path }) },
    signal,
  );
  return answer.files ?? [];
}

/**
 * The URL of one artifact file (`/get-artifact`): for `<img src>` and download links. The server
 * answers it as an attachment with `nosniff`, so opening it never renders HTML on Keel's origin.
 *
 * @example
 * artifactUrl('5f1c…', 'plots/loss.png'); // '/get-artifact?run_id=5f1c…&path=plots%2Floss.png'
 */
export function artifactUrl(runId: string, path: string): string {
  return `/get-artifact?${new URLSearchParams({ run_id: runId, path })}`;
}

/** Reads at most `maxBytes` of an artifact file (the rest of the download is cancelled). */
export function readArtifact(
  runId: string,
  path: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<ReadBytes> {
  return apiReadBytes('/get-artifact', { run_id: runId, path }, maxBytes, signal);
}
