import { validateArtifactPath } from './artifact-path.js';

/** The scheme of artifact URIs served by Keel's own artifact proxy (MLflow's `mlflow-artifacts:`). */
export const PROXIED_ARTIFACT_SCHEME = 'mlflow-artifacts:';

/**
 * The artifact-store path a `mlflow-artifacts:` URI points at, or `undefined` for any other URI
 * (an experiment created with an external artifact location: Keel does not serve those).
 * Both `mlflow-artifacts:/1/abc/artifacts` and the form with an authority,
 * `mlflow-artifacts://host:5000/1/abc/artifacts`, map to `1/abc/artifacts`. The path is
 * validated like a request path, so a hand-made URI cannot point outside the store.
 *
 * @example
 * proxiedArtifactPath('mlflow-artifacts:/0/5f1c/artifacts') // '0/5f1c/artifacts'
 * proxiedArtifactPath('s3://other-bucket/x')                  // undefined
 */
export function proxiedArtifactPath(uri: string): string | undefined {
  if (!uri.toLowerCase().startsWith(PROXIED_ARTIFACT_SCHEME)) return undefined;
  let rest = uri.slice(PROXIED_ARTIFACT_SCHEME.length);
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    rest = slash === -1 ? '' : rest.slice(slash);
  }
  return validateArtifactPath(rest.replace(/^\/+/, ''), { field: 'artifact_uri', allowRoot: true });
}
