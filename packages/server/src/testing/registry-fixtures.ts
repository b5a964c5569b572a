import type { JsonBody, TestApp } from './test-app.js';

/**
 * Creates a run and uploads `files` (path → content) below its artifact root through the
 * artifact proxy; returns the run as `runs/create` answered it.
 */
export async function runWithArtifacts(t: TestApp, files: Record<string, string>): Promise<JsonBody> {
  const run = (await t.post('runs/create', {})).body.run;
  const root = String(run.info.artifact_uri).replace('mlflow-artifacts:/', '');
  for (const [path, content] of Object.entries(files)) {
    const res = await t.app.inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`,
      payload: content,
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (res.statusCode !== 200) throw new Error(`upload of ${path} failed: ${res.statusCode} ${res.payload}`);
  }
  return run;
}
