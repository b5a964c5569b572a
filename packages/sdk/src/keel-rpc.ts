import type { KeelRestClient, QueryValue } from './rest-client.js';

/**
 * One JSON RPC of Keel's own API (`/api/2.0/keel/…`, beside MLflow's prefix, so the client's
 * absolute-URL door is used): GET with `message` as the query string (`undefined` values left
 * out), POST with it as a JSON body. Answers are parsed as JSON (an empty body is `{}`); error
 * answers become the SDK's typed errors.
 *
 * @example
 * const { execution } = await keelRpc<{ execution: Execution }>(rest, '/api/2.0/keel/executions', 'GET', 'get', { execution_id: id });
 */
export async function keelRpc<T>(
  rest: KeelRestClient,
  prefix: string,
  method: 'GET' | 'POST',
  path: string,
  message: Readonly<Record<string, unknown>>,
): Promise<T> {
  const url = keelUrl(
    rest,
    prefix,
    path,
    method === 'GET' ? (message as Readonly<Record<string, QueryValue>>) : {},
  );
  const body = method === 'GET' ? undefined : JSON.stringify(message);
  const { response, done } = await rest.request({
    method,
    url,
    ...(body === undefined ? {} : { body: () => body, headers: { 'content-type': 'application/json' } }),
  });
  try {
    const text = await response.text();
    return (text.trim() === '' ? {} : JSON.parse(text)) as T;
  } finally {
    done();
  }
}

/**
 * The absolute URL of a Keel API path with a query string; `undefined` values are left out and
 * arrays become repeated keys.
 * @example keelUrl(rest, '/api/2.0/keel/executions', 'e1/nodes/fit/logs', { attempt: 2 })
 */
export function keelUrl(
  rest: KeelRestClient,
  prefix: string,
  path: string,
  query: Readonly<Record<string, QueryValue>> = {},
): string {
  const url = new URL(`${rest.options.trackingUri.replace(/\/+$/, '')}${prefix}/${path}`);
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item));
  }
  return url.href;
}
