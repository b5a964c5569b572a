import { createHmac } from 'node:crypto';

/** MLflow's delivery headers. */
export const WEBHOOK_HEADERS = {
  signature: 'X-MLflow-Signature',
  deliveryId: 'X-MLflow-Delivery-Id',
  timestamp: 'X-MLflow-Timestamp',
} as const;

/** Version prefix of {@link WEBHOOK_HEADERS.signature}. */
export const SIGNATURE_VERSION = 'v1';

/** Longest response body kept for the test endpoint's `response_body`. */
const MAX_RESPONSE_BODY_CHARS = 16 * 1024;

/**
 * MLflow's signature: `v1,<base64 HMAC-SHA256(secret, "<delivery_id>.<timestamp>.<body>")>`,
 * the timestamp being the `X-MLflow-Timestamp` header (Unix seconds).
 *
 * @example
 * signPayload('s3cret', 'd-1', '1718000000', '{"entity":"model_version",…}') // 'v1,3q2+7w=='
 */
export function signPayload(secret: string, deliveryId: string, timestamp: string, body: string): string {
  const mac = createHmac('sha256', secret)
    .update(`${deliveryId}.${timestamp}.${body}`, 'utf8')
    .digest('base64');
  return `${SIGNATURE_VERSION},${mac}`;
}

/** One request to send to a webhook. */
export interface WebhookRequest {
  readonly url: string;
  readonly deliveryId: string;
  readonly body: string;
  /** Signs the request when set and non-empty. */
  readonly secret?: string | null;
  /** Abort after this long. */
  readonly timeoutMs: number;
  /** Aborts the request early (server stopping). */
  readonly signal?: AbortSignal;
  /** Unix milliseconds used for `X-MLflow-Timestamp`. */
  readonly now: number;
}

/** What came of one request: a status when the receiver answered, an error otherwise. */
export interface WebhookResponse {
  readonly statusCode?: number;
  readonly body?: string;
  /** Why there was no response (refused, timeout…), or why the status counts as a failure. */
  readonly error?: string;
  readonly durationMs: number;
  /** True when the request was cut short by `signal` (not the receiver's fault). */
  readonly aborted: boolean;
}

/**
 * POSTs a delivery with MLflow's headers. Never throws: network errors and timeouts come back as
 * `error`. Redirects are not followed (a 3xx is a failed attempt), so a receiver cannot bounce a
 * signed payload elsewhere.
 */
export async function sendWebhookRequest(request: WebhookRequest): Promise<WebhookResponse> {
  const timestamp = String(Math.floor(request.now / 1000));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'keel-webhooks',
    [WEBHOOK_HEADERS.deliveryId]: request.deliveryId,
    [WEBHOOK_HEADERS.timestamp]: timestamp,
  };
  if (request.secret) {
    headers[WEBHOOK_HEADERS.signature] = signPayload(
      request.secret,
      request.deliveryId,
      timestamp,
      request.body,
    );
  }
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  const started = performance.now();
  const duration = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers,
      body: request.body,
      redirect: 'manual',
      signal,
    });
    const text = await response.text();
    const ok = response.status >= 200 && response.status < 300;
    return {
      statusCode: response.status,
      body: text.slice(0, MAX_RESPONSE_BODY_CHARS),
      ...(ok ? {} : { error: `HTTP ${response.status}` }),
      durationMs: duration(),
      aborted: false,
    };
  } catch (error) {
    const aborted = request.signal?.aborted === true;
    const reason = timeout.aborted ? `timed out after ${request.timeoutMs} ms` : describe(error);
    return { error: aborted ? 'aborted: server stopping' : reason, durationMs: duration(), aborted };
  }
}

/** `fetch failed` hides the useful part in `cause` (ECONNREFUSED, ENOTFOUND…). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (cause && typeof cause.code === 'string') return `${error.message}: ${cause.code}`;
  if (cause && typeof cause.message === 'string') return `${error.message}: ${cause.message}`;
  return error.message;
}
