// Plain-fetch helpers for MLflow's REST API in end-to-end tests.

/** One answer: status, raw body, and the body parsed when it is JSON. */
export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  text: string;
  json: T;
}

/** `POST <url>/api/2.0/mlflow/<path>` with a JSON body. */
export async function post<T = Record<string, unknown>>(
  url: string,
  path: string,
  body: object,
): Promise<ApiAnswer<T>> {
  const response = await fetch(`${url}/api/2.0/mlflow/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return answer<T>(response);
}

/** `GET <url>/api/2.0/mlflow/<path>?<query>`. */
export async function get<T = Record<string, unknown>>(
  url: string,
  path: string,
  query: Record<string, string>,
): Promise<ApiAnswer<T>> {
  const response = await fetch(`${url}/api/2.0/mlflow/${path}?${new URLSearchParams(query)}`);
  return answer<T>(response);
}

async function answer<T>(response: Response): Promise<ApiAnswer<T>> {
  const text = await response.text();
  let json = {} as T;
  try {
    json = JSON.parse(text) as T;
  } catch {
    // Not JSON (e.g. /health's `OK`): keep the text.
  }
  return { status: response.status, text, json };
}

/** POST that must answer 200; returns the parsed body. */
export async function ok<T = Record<string, unknown>>(url: string, path: string, body: object): Promise<T> {
  const result = await post<T>(url, path, body);
  if (result.status !== 200) throw new Error(`${path} answered ${result.status}: ${result.text}`);
  return result.json;
}

/** Creates an experiment and a run in it; returns their ids. */
export async function createRun(
  url: string,
  experimentName: string,
): Promise<{ experimentId: string; runId: string }> {
  const { experiment_id } = await ok<{ experiment_id: string }>(url, 'experiments/create', {
    name: experimentName,
  });
  const { run } = await ok<{ run: { info: { run_id: string } } }>(url, 'runs/create', {
    experiment_id,
    start_time: Date.now(),
  });
  return { experimentId: experiment_id, runId: run.info.run_id };
}
