import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Config } from '../config.js';
import type { ArtifactStore } from './artifact-store.js';
import { LocalArtifactStore } from './local/local-artifact-store.js';
import { S3ArtifactStore } from './s3/s3-artifact-store.js';

/** The artifact destinations Keel understands, for error messages and docs. */
export const ARTIFACT_STORE_SCHEMES = ['file://', 's3://'] as const;

/**
 * Opens the artifact store a destination names — the one place the backend is chosen:
 * `file:///abs/folder` or a plain absolute folder → {@link LocalArtifactStore};
 * `s3://bucket/prefix` → {@link S3ArtifactStore} with the given S3 settings. Anything else is
 * refused with an error listing the schemes Keel knows.
 *
 * @example
 * const store = openArtifactStore('s3://ml-artifacts/keel', config.s3);
 */
export function openArtifactStore(destination: string, s3?: Partial<S3Config>): ArtifactStore {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(destination)?.[1]?.toLowerCase();
  if (scheme === undefined || (scheme.length === 1 && isAbsolute(destination))) {
    // A plain folder (config.ts makes relative ones absolute; `C:\…` has a one-letter "scheme").
    return new LocalArtifactStore(destination);
  }
  if (scheme === 'file') {
    let folder: string;
    try {
      folder = fileURLToPath(destination);
    } catch (error) {
      throw new Error(`Invalid artifacts destination '${destination}': ${(error as Error).message}`);
    }
    return new LocalArtifactStore(folder);
  }
  if (scheme === 's3') {
    const match = /^s3:\/\/([^/?#]+)\/*([^?#]*)$/i.exec(destination);
    if (!match) {
      throw new Error(
        `Invalid artifacts destination '${destination}': expected s3://bucket or s3://bucket/prefix`,
      );
    }
    return new S3ArtifactStore({ ...s3, bucket: match[1] as string, prefix: match[2] ?? '' });
  }
  throw new Error(
    `Unsupported artifacts destination '${destination}': expected ${ARTIFACT_STORE_SCHEMES.join(' or ')} URI, or a folder`,
  );
}
