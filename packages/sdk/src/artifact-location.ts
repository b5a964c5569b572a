import { UnsupportedArtifactUriError } from './errors.js';

/** Where the artifact proxy serves files: `/api/2.0/mlflow-artifacts/artifacts/<path>`. */
export const ARTIFACT_PROXY_PREFIX = '/api/2.0/mlflow-artifacts/artifacts';

/**
 * A run's artifact root as the server's artifact proxy serves it, built from the run's
 * `artifact_uri`. `urlOf('plots/loss.png')` is the URL to PUT or GET that file.
 *
 * @example
 * const root = ArtifactLocation.parse('mlflow-artifacts:/1/abc/artifacts', 'http://127.0.0.1:5000');
 * root.urlOf('model/MLmodel'); // http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/MLmodel
 */
export class ArtifactLocation {
  private constructor(
    /** `<server>/api/2.0/mlflow-artifacts/artifacts`, no trailing slash. */
    readonly endpoint: string,
    /** Segments (decoded) of the run's root below the endpoint, e.g. `['1', '<run>', 'artifacts']`. */
    readonly rootSegments: readonly string[],
  ) {}

  /**
   * Reads `mlflow-artifacts:/<path>` (served by the tracking server itself),
   * `mlflow-artifacts://host:port/<path>` (served by that host, with the tracking URI's scheme) or
   * an `http(s)://…/api/2.0/mlflow-artifacts/artifacts/<path>` URL, as MLflow's clients do. Any
   * other scheme throws {@link UnsupportedArtifactUriError}.
   */
  static parse(artifactUri: string, trackingUri: string): ArtifactLocation {
    const proxied = /^mlflow-artifacts:(?:\/\/([^/]*))?(\/.*)?$/i.exec(artifactUri);
    if (proxied) {
      const tracking = new URL(trackingUri);
      const host = proxied[1];
      const server =
        host === undefined || host === '' ? trackingUri.replace(/\/+$/, '') : `${tracking.protocol}//${host}`;
      return new ArtifactLocation(`${server}${ARTIFACT_PROXY_PREFIX}`, segmentsOf(proxied[2] ?? ''));
    }
    if (/^https?:\/\//i.test(artifactUri)) {
      const at = artifactUri.indexOf(`${ARTIFACT_PROXY_PREFIX}/`);
      const atEnd = artifactUri.endsWith(ARTIFACT_PROXY_PREFIX);
      if (at >= 0 || atEnd) {
        const cut = at >= 0 ? at : artifactUri.length - ARTIFACT_PROXY_PREFIX.length;
        const rest = artifactUri.slice(cut + ARTIFACT_PROXY_PREFIX.length);
        return new ArtifactLocation(artifactUri.slice(0, cut) + ARTIFACT_PROXY_PREFIX, segmentsOf(rest));
      }
    }
    throw new UnsupportedArtifactUriError(artifactUri);
  }

  /** The URL of a file or folder below the run's root; every segment is percent-encoded. */
  urlOf(relativePath: string): string {
    const segments = [...this.rootSegments, ...splitArtifactPath(relativePath)];
    return `${this.endpoint}/${segments.map(encodeURIComponent).join('/')}`;
  }
}

/**
 * Splits an artifact path (`/`-separated, relative to a run's root) into segments, dropping
 * empty and `.` segments. `..` is refused: URLs would resolve it on the client before the server
 * could reject it.
 *
 * @example
 * splitArtifactPath('plots//./loss.png'); // ['plots', 'loss.png']
 */
export function splitArtifactPath(path: string): string[] {
  const segments = path.split(/[/\\]/).filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) {
    throw new RangeError(`Invalid artifact path '${path}': '..' segments are not allowed`);
  }
  return segments;
}

/**
 * Joins artifact path parts with `/`, normalised; `''` for the run's root.
 * @example joinArtifactPath('model/', undefined, './MLmodel'); // 'model/MLmodel'
 */
export function joinArtifactPath(...parts: readonly (string | undefined)[]): string {
  return parts.flatMap((p) => (p === undefined ? [] : splitArtifactPath(p))).join('/');
}

function segmentsOf(path: string): string[] {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}
